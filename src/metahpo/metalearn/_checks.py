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


def check_tasks(tasks: Any, owner: str) -> list[Task]:
    """A non-empty sequence of :class:`Task`."""
    if isinstance(tasks, Task):
        tasks = [tasks]
    if not isinstance(tasks, Sequence) or not tasks or not all(isinstance(t, Task) for t in tasks):
        raise InvalidParameterError(
            f"The 'tasks' parameter of {owner} must be a non-empty sequence of Task. "
            f"Got {describe(tasks)} instead."
        )
    return list(tasks)


def check_vectorize(vectorize: Any, owner: str) -> bool | None:
    """``True``, ``False`` or ``None`` (automatic)."""
    if vectorize is not None and not isinstance(vectorize, bool):
        raise InvalidParameterError(
            f"The 'vectorize' parameter of {owner} must be True, False or None. "
            f"Got {describe(vectorize)} instead."
        )
    return vectorize
