"""Parameter dicts, batches, tasks and the loss signature every algorithm accepts."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from metahpo.exceptions import InvalidParameterError

__all__ = ["Batch", "InnerLR", "LossFn", "Params", "Task", "stack_tasks"]

#: Named tensors of a model, as returned by ``dict(model.named_parameters())``.
Params = dict[str, Tensor]

#: The data of one support or query set: a tuple of tensors, e.g. ``(x, y)``.
Batch = tuple[Tensor, ...]

#: ``loss_fn(model, params, batch) -> scalar``: the loss of ``model`` called with
#: ``params`` (through :func:`torch.func.functional_call`) on ``batch``. Any scalar works,
#: e.g. a mean-squared error, a cross-entropy or a GP's negative marginal likelihood.
#: For a module with buffers the dict holds copies of them too, which the forward pass may update.
LossFn = Callable[[nn.Module, Params, Batch], Tensor]

#: One inner learning rate for every parameter, or one tensor per parameter (Meta-SGD):
#: a scalar tensor or a tensor of the parameter's shape.
InnerLR = float | dict[str, Tensor]


@dataclass(frozen=True)
class Task:
    """One task of a meta-batch: the support set to adapt on, the query set to score.

    A *stacked* task holds several tasks at once: every tensor has a leading task
    dimension (see :func:`stack_tasks`).

    Attributes:
        support: The data the inner loop adapts on, e.g. ``(x_support, y_support)``.
        query: The data the adapted parameters are scored on.
    """

    support: Batch
    query: Batch

    def __post_init__(self) -> None:
        for name in ("support", "query"):
            batch = getattr(self, name)
            if not isinstance(batch, tuple) or not all(isinstance(t, Tensor) for t in batch):
                raise InvalidParameterError(
                    f"The {name!r} field of Task must be a tuple of tensors. "
                    f"Got {type(batch).__name__} instead."
                )


def _same_shapes(batches: Sequence[Batch]) -> bool:
    first = batches[0]
    return all(
        len(batch) == len(first)
        and all(
            t.shape == u.shape and t.dtype == u.dtype and t.device == u.device
            for t, u in zip(batch, first, strict=True)
        )
        for batch in batches
    )


def stack_tasks(tasks: Sequence[Task]) -> Task | None:
    """Stack tasks along a new leading dimension, or ``None`` when their shapes differ.

    Args:
        tasks: Tasks whose support and query tensors may have equal shapes.

    Returns:
        One :class:`Task` whose tensors have a leading dimension of ``len(tasks)``, or
        ``None`` when the tasks cannot be stacked (different shapes, dtypes or devices).

    Example:
        >>> import torch
        >>> task = Task((torch.zeros(5, 1), torch.zeros(5, 1)), (torch.zeros(7, 1), torch.zeros(7, 1)))
        >>> stack_tasks([task, task]).support[0].shape
        torch.Size([2, 5, 1])
    """
    if not tasks:
        raise InvalidParameterError(
            "The 'tasks' parameter must hold at least one Task. Got 0 tasks."
        )
    supports = [task.support for task in tasks]
    queries = [task.query for task in tasks]
    if not (_same_shapes(supports) and _same_shapes(queries)):
        return None
    return Task(
        support=tuple(torch.stack(parts) for parts in zip(*supports, strict=True)),
        query=tuple(torch.stack(parts) for parts in zip(*queries, strict=True)),
    )
