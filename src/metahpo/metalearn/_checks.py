"""Validation of the arguments shared by the meta-learning functions."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from torch import Tensor

from metahpo._validation import check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.metalearn._types import Params, Task


def describe_tensor(value: Any) -> str:
    """A tensor's shape and dtype for error messages (its values say little); else ``describe``."""
    if isinstance(value, Tensor):
        return f"a {value.dtype} tensor of shape {tuple(value.shape)}"
    return describe(value)


def check_params(params: Any, owner: str) -> Params:
    """``params`` as a plain dict of tensors, or raise naming the parameter."""
    if not isinstance(params, Mapping) or not params:
        raise InvalidParameterError(
            f"The 'params' parameter of {owner} must be a non-empty dict of tensors "
            f"(e.g. dict(model.named_parameters())). Got {describe(params)} instead."
        )
    for name, value in params.items():
        if not isinstance(value, Tensor):
            raise InvalidParameterError(
                f"The 'params' parameter of {owner} must map names to tensors. "
                f"Got {type(value).__name__} for {name!r} instead."
            )
    return dict(params)


def check_param_names(model: Any, params: Params, owner: str) -> None:
    """Refuse names the model has not: ``functional_call`` would run the model's own weights
    for its names and ignore the others, so nothing would be adapted."""
    known = {name for name, _ in model.named_parameters()} | {name for name, _ in model.named_buffers()}
    unknown = sorted(set(params) - known)
    if unknown:
        raise InvalidParameterError(
            f"The 'params' parameter of {owner} must name parameters of the model "
            f"({sorted(known)[:5]}...). Got {unknown[:5]}, which it does not have."
        )


def check_steps(steps: Any, owner: str, name: str = "steps") -> int:
    """A non-negative number of gradient steps."""
    return check_int(steps, name, owner, minimum=0)


def check_inner_lr(inner_lr: Any, params: Params, owner: str) -> float | dict[str, Tensor]:
    """A finite float, or one tensor per parameter broadcastable to its shape (Meta-SGD)."""
    if isinstance(inner_lr, Mapping):
        missing = sorted(set(params) - set(inner_lr))
        if missing:
            raise InvalidParameterError(
                f"The 'inner_lr' parameter of {owner} must hold a learning rate for every "
                f"parameter. Missing {missing[:5]}."
            )
        for name, value in inner_lr.items():
            if name not in params:
                continue
            if not isinstance(value, Tensor) or (
                value.dim() != 0 and value.shape != params[name].shape
            ):
                raise InvalidParameterError(
                    f"The 'inner_lr' parameter of {owner} must map each parameter to a scalar "
                    f"tensor or a tensor of its shape {tuple(params[name].shape)}. "
                    f"Got {describe(value)} for {name!r} instead."
                )
        return {name: inner_lr[name] for name in params}
    if (
        isinstance(inner_lr, bool)
        or not isinstance(inner_lr, (int, float))
        or not math.isfinite(inner_lr)
    ):
        raise InvalidParameterError(
            f"The 'inner_lr' parameter of {owner} must be a finite float or a dict of "
            f"per-parameter tensors. Got {describe(inner_lr)} instead."
        )
    return float(inner_lr)


def check_first_order(first_order: Any, owner: str) -> bool:
    """``True`` or ``False``: a string such as ``"no"`` would be read as ``True``."""
    if not isinstance(first_order, bool):
        raise InvalidParameterError(
            f"The 'first_order' parameter of {owner} must be True or False. Got {describe(first_order)} instead."
        )
    return first_order


def check_differentiable(params: Params, owner: str) -> None:
    """Floating-point parameters: the inner loop differentiates in them."""
    for name, value in params.items():
        if not (value.is_floating_point() or value.is_complex()):
            raise InvalidParameterError(
                f"The 'params' parameter of {owner} must hold floating-point tensors, which can be "
                f"differentiated. Got {describe_tensor(value)} for {name!r} instead."
            )


def check_batch(batch: Any, params: Params, owner: str, parameter: str, label: str) -> None:
    """Tensors with at least one row, the first (the inputs) of the parameters' dtype.

    An empty set has a NaN mean loss whose gradient is zero in a loop and a division by zero
    under ``vmap``; inputs of another dtype fail deep inside the model's first layer. Only
    the inputs are held to the dtype: torch promotes targets of another float dtype.
    """
    if not isinstance(batch, (tuple, list)):
        return  # the loss decides what a batch is; Task has checked its own
    for tensor in batch:
        if isinstance(tensor, Tensor) and tensor.dim() > 0 and tensor.shape[0] == 0:
            raise InvalidParameterError(
                f"The {parameter!r} parameter of {owner} must hold at least one row in {label}. "
                f"Got {describe_tensor(tensor)} instead."
            )
    inputs = batch[0] if batch else None
    dtypes = {value.dtype for value in params.values() if value.is_floating_point()}
    if isinstance(inputs, Tensor) and inputs.is_floating_point() and len(dtypes) == 1 and inputs.dtype not in dtypes:
        raise InvalidParameterError(
            f"The {parameter!r} parameter of {owner} must hold inputs of the parameters' dtype "
            f"{next(iter(dtypes))} in {label}. Got {describe_tensor(inputs)} instead; convert the one "
            "or the other (e.g. model.double() and float64 inputs)."
        )


def check_tasks(tasks: Any, owner: str, params: Params | None = None) -> list[Task]:
    """A non-empty sequence of :class:`Task`; with ``params``, each set is checked by :func:`check_batch`."""
    if isinstance(tasks, Task):
        tasks = [tasks]
    if not isinstance(tasks, Sequence) or not tasks or not all(isinstance(t, Task) for t in tasks):
        raise InvalidParameterError(
            f"The 'tasks' parameter of {owner} must be a non-empty sequence of Task. "
            f"Got {describe(tasks)} instead."
        )
    if params is not None:
        for index, task in enumerate(tasks):
            check_batch(task.support, params, owner, "tasks", f"task {index}'s support set")
            check_batch(task.query, params, owner, "tasks", f"task {index}'s query set")
    return list(tasks)


def check_vectorize(vectorize: Any, owner: str) -> bool | None:
    """``True``, ``False`` or ``None`` (automatic)."""
    if vectorize is not None and not isinstance(vectorize, bool):
        raise InvalidParameterError(
            f"The 'vectorize' parameter of {owner} must be True, False or None. "
            f"Got {describe(vectorize)} instead."
        )
    return vectorize
