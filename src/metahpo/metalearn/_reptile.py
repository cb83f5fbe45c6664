"""Reptile (Nichol, Achiam and Schulman, 2018): move the initialisation toward adapted weights."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.func import vmap

from metahpo._validation import check_finite_number
from metahpo.exceptions import InvalidParameterError
from metahpo.metalearn._adapt import adapt
from metahpo.metalearn._buffers import loop_over_training_buffers
from metahpo.metalearn._checks import (
    check_batch,
    check_inner_lr,
    check_params,
    check_steps,
    check_tasks,
    check_vectorize,
)
from metahpo.metalearn._types import Batch, InnerLR, LossFn, Params, Task, stack_tasks

__all__ = ["reptile_gradient", "reptile_step"]


def reptile_gradient(
    model: nn.Module,
    params: Params,
    tasks: Sequence[Task],
    loss_fn: LossFn,
    *,
    inner_steps: int = 5,
    inner_lr: InnerLR = 0.01,
    vectorize: bool | None = None,
) -> Params:
    """Reptile's update direction ``θ − mean_i φ_i``, where ``φ_i`` adapts θ to task ``i``.

    Each ``φ_i`` is ``inner_steps`` steps of gradient descent on task ``i``'s support set
    (put all of a task's data there: Reptile has no query set; ``task.query`` is unused).
    The direction can be handed to any optimizer as a gradient (e.g. Adam), or applied
    with :func:`reptile_step`. Nothing is differentiated through: the result is detached.

    Args:
        model: The module ``loss_fn`` calls through ``functional_call``.
        params: The initialisation θ.
        tasks: The meta-batch.
        loss_fn: ``loss_fn(model, params, batch) -> scalar``.
        inner_steps: Gradient steps per task, ``>= 1``.
        inner_lr: Inner step size: a float or one tensor per parameter.
        vectorize: ``True`` uses :func:`torch.func.vmap`, ``False`` a loop, ``None``
            vectorizes when the task shapes allow. Both give the same values. Modules
            with buffers in training mode (batch norm) are looped over, as in
            :func:`~metahpo.metalearn.task_losses`.

    Returns:
        One detached tensor per parameter.
    """
    owner = "reptile_gradient"
    params = check_params(params, owner)
    tasks = check_tasks(tasks, owner)
    for index, task in enumerate(tasks):  # the query sets are unused, and may be empty
        check_batch(task.support, params, owner, "tasks", f"task {index}'s support set")
    inner_steps = check_steps(inner_steps, owner, "inner_steps")
    if inner_steps < 1:
        raise InvalidParameterError(
            f"The 'inner_steps' parameter of {owner} must be an int >= 1. Got {inner_steps} instead."
        )
    lr = check_inner_lr(inner_lr, params, owner)
    if isinstance(lr, dict):
        lr = {name: value.detach() for name, value in lr.items()}
    vectorize = loop_over_training_buffers(model, check_vectorize(vectorize, owner), owner)
    start = {name: value.detach() for name, value in params.items()}

    def adapted(support: Batch) -> Params:
        return adapt(model, start, loss_fn, support, inner_steps, lr, first_order=True)

    stacked = stack_tasks(tasks) if vectorize is not False else None
    if vectorize is True and stacked is None:
        raise InvalidParameterError(
            f"The 'vectorize' parameter of {owner} is True but the tasks cannot be stacked: "
            "their support tensors differ in shape, dtype or device. Pass vectorize=None."
        )
    with torch.no_grad():
        if stacked is not None:
            mean_adapted = {
                name: value.mean(dim=0) for name, value in vmap(adapted)(stacked.support).items()
            }
        else:
            per_task = [adapted(task.support) for task in tasks]
            mean_adapted = {
                name: torch.stack([p[name] for p in per_task]).mean(dim=0) for name in start
            }
    return {name: start[name] - mean_adapted[name] for name in start}


def reptile_step(
    model: nn.Module,
    params: Params,
    tasks: Sequence[Task],
    loss_fn: LossFn,
    *,
    inner_steps: int = 5,
    inner_lr: InnerLR = 0.01,
    outer_lr: float = 0.1,
    vectorize: bool | None = None,
) -> Params:
    """One Reptile update ``θ ← θ + ε (mean_i φ_i − θ)`` (Nichol et al., 2018, algorithm 2).

    Args:
        model: The module ``loss_fn`` calls through ``functional_call``.
        params: The initialisation θ.
        tasks: The meta-batch; each task's support set holds all of its data.
        loss_fn: ``loss_fn(model, params, batch) -> scalar``.
        inner_steps: Gradient steps per task, ``>= 1``.
        inner_lr: Inner step size: a float or one tensor per parameter.
        outer_lr: The outer step size ε (``1.0`` moves θ onto the mean adapted weights).
        vectorize: As in :func:`reptile_gradient`.

    Returns:
        The new initialisation, detached.

    Example:
        >>> import torch
        >>> from metahpo.metalearn import Task, mse_loss, reptile_step
        >>> model = torch.nn.Linear(1, 1)
        >>> params = {k: v.detach() for k, v in model.named_parameters()}
        >>> x = torch.linspace(-1, 1, 10).unsqueeze(1)
        >>> tasks = [Task((x, a * x), (x, a * x)) for a in (1.0, 3.0)]
        >>> new = reptile_step(model, params, tasks, mse_loss, inner_steps=5, inner_lr=0.1, outer_lr=0.5)
        >>> sorted(new)
        ['bias', 'weight']
    """
    epsilon = check_finite_number(outer_lr, "outer_lr", "reptile_step")
    direction = reptile_gradient(
        model,
        params,
        tasks,
        loss_fn,
        inner_steps=inner_steps,
        inner_lr=inner_lr,
        vectorize=vectorize,
    )
    return {name: value.detach() - epsilon * direction[name] for name, value in params.items()}
