"""MAML's meta-objective and meta-gradient, batched over tasks with ``torch.func.vmap``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.func import grad_and_value, vmap

from metahpo.exceptions import InvalidParameterError
from metahpo.metalearn._adapt import inner_loop
from metahpo.metalearn._buffers import loop_over_training_buffers, with_buffer_copies
from metahpo.metalearn._checks import (
    check_differentiable,
    check_first_order,
    check_inner_lr,
    check_param_names,
    check_params,
    check_steps,
    check_tasks,
    check_vectorize,
)
from metahpo.metalearn._types import Batch, InnerLR, LossFn, Params, Task, stack_tasks

__all__ = ["MetaGradient", "maml_loss", "meta_gradient", "task_losses"]


@dataclass(frozen=True)
class MetaGradient:
    """The result of :func:`meta_gradient`.

    Attributes:
        loss: The meta-loss (mean query loss after adaptation), a scalar tensor.
        params: Its gradient with respect to each meta-parameter.
        inner_lr: Its gradient with respect to each per-parameter inner learning rate
            (Meta-SGD), or ``None`` when ``inner_lr`` was a float.
    """

    loss: Tensor
    params: Params
    inner_lr: Params | None


def _one_task_loss(
    model: nn.Module,
    params: Params,
    inner_lr: float | dict[str, Tensor],
    support: Batch,
    query: Batch,
    loss_fn: LossFn,
    query_loss_fn: LossFn,
    inner_steps: int,
    first_order: bool,
) -> Tensor:
    adapted = inner_loop(model, params, loss_fn, support, inner_steps, inner_lr, first_order)
    return query_loss_fn(model, adapted, query)


def task_losses(
    model: nn.Module,
    params: Params,
    tasks: Sequence[Task],
    loss_fn: LossFn,
    *,
    inner_steps: int = 1,
    inner_lr: InnerLR = 0.01,
    first_order: bool = False,
    query_loss_fn: LossFn | None = None,
    vectorize: bool | None = None,
) -> Tensor:
    """The query loss of each task after adapting ``params`` on its support set.

    Args:
        model: The module ``loss_fn`` calls through ``functional_call``.
        params: Meta-parameters (the initialisation θ).
        tasks: The meta-batch.
        loss_fn: ``loss_fn(model, params, batch) -> scalar``, used in the inner loop.
        inner_steps: Gradient steps of the inner loop.
        inner_lr: Inner step size: a float or one tensor per parameter (Meta-SGD).
        first_order: Drop the second derivatives (first-order MAML).
        query_loss_fn: Loss on the query set; ``loss_fn`` when ``None``.
        vectorize: ``True`` runs the tasks through :func:`torch.func.vmap` (their shapes
            must match), ``False`` loops over them, ``None`` vectorizes when the shapes
            allow. Both give the same values. Modules that draw random numbers (dropout)
            cannot run under ``vmap``: pass ``vectorize=False`` for them. Modules with
            buffers in training mode (batch norm) are looped over when ``None``, and
            refused when ``True``: ``vmap`` cannot batch their in-place updates.

    A module's buffers are passed to each loss call as fresh copies beside ``params``, so
    batch norm in training mode normalises with each batch's statistics and the module's
    running statistics stay as they were: the module is never changed.

    Returns:
        A tensor of shape ``(len(tasks),)``, differentiable in ``params`` and in a tensor
        ``inner_lr``.
    """
    owner = "task_losses"
    params = check_params(params, owner)
    check_param_names(model, params, owner)
    check_differentiable(params, owner)
    tasks = check_tasks(tasks, owner, params)
    inner_steps = check_steps(inner_steps, owner, "inner_steps")
    lr = check_inner_lr(inner_lr, params, owner)
    vectorize = loop_over_training_buffers(model, check_vectorize(vectorize, owner), owner)
    first_order = check_first_order(first_order, owner)
    query_fn = with_buffer_copies(model, loss_fn if query_loss_fn is None else query_loss_fn)
    loss_fn = with_buffer_copies(model, loss_fn)

    stacked = stack_tasks(tasks) if vectorize is not False else None
    if vectorize is True and stacked is None:
        raise InvalidParameterError(
            "The 'vectorize' parameter of task_losses is True but the tasks cannot be stacked: "
            "their support or query tensors differ in shape, dtype or device. "
            "Pass vectorize=None to loop over them instead."
        )
    if stacked is not None:

        def per_task(support: Batch, query: Batch) -> Tensor:
            return _one_task_loss(
                model, params, lr, support, query, loss_fn, query_fn, inner_steps, first_order
            )

        return vmap(per_task)(stacked.support, stacked.query)
    return torch.stack(
        [
            _one_task_loss(
                model,
                params,
                lr,
                task.support,
                task.query,
                loss_fn,
                query_fn,
                inner_steps,
                first_order,
            )
            for task in tasks
        ]
    )


def maml_loss(
    model: nn.Module,
    params: Params,
    tasks: Sequence[Task],
    loss_fn: LossFn,
    *,
    inner_steps: int = 1,
    inner_lr: InnerLR = 0.01,
    first_order: bool = False,
    query_loss_fn: LossFn | None = None,
    vectorize: bool | None = None,
) -> Tensor:
    """MAML's meta-objective: the mean query loss after adaptation (Finn et al., 2017, eq. 3).

    ``mean_i L_query_i(adapt(θ, support_i))``. Call ``.backward()`` on it with
    ``params`` as leaf tensors (e.g. ``dict(model.named_parameters())``) and step any
    ``torch.optim`` optimizer, or use :func:`meta_gradient` for a pure function. The
    arguments are those of :func:`task_losses`.

    Returns:
        A scalar tensor.

    Example:
        >>> import torch
        >>> from metahpo.metalearn import Task, maml_loss, mse_loss
        >>> model = torch.nn.Linear(1, 1)
        >>> params = dict(model.named_parameters())
        >>> x = torch.linspace(-1, 1, 10).unsqueeze(1)
        >>> tasks = [Task((x[::2], a * x[::2]), (x[1::2], a * x[1::2])) for a in (1.0, 2.0)]
        >>> loss = maml_loss(model, params, tasks, mse_loss, inner_steps=1, inner_lr=0.1)
        >>> loss.backward()
        >>> params["weight"].grad.shape
        torch.Size([1, 1])
    """
    return task_losses(
        model,
        params,
        tasks,
        loss_fn,
        inner_steps=inner_steps,
        inner_lr=inner_lr,
        first_order=first_order,
        query_loss_fn=query_loss_fn,
        vectorize=vectorize,
    ).mean()


def meta_gradient(
    model: nn.Module,
    params: Params,
    tasks: Sequence[Task],
    loss_fn: LossFn,
    *,
    inner_steps: int = 1,
    inner_lr: InnerLR = 0.01,
    first_order: bool = False,
    query_loss_fn: LossFn | None = None,
    vectorize: bool | None = None,
) -> MetaGradient:
    """The meta-loss and its gradient, computed with :func:`torch.func.grad_and_value`.

    Second-order by default (differentiating through the inner loop); first-order
    MAML with ``first_order=True``. When ``inner_lr`` is a dict of tensors (Meta-SGD),
    the gradient with respect to those learning rates is returned too. The arguments
    are those of :func:`task_losses`. The function composes with other ``torch.func``
    transforms; when ``params`` are leaves that require grad, the results stay attached
    to their autograd graph (pass detached tensors for plain values).

    Returns:
        A :class:`MetaGradient`.

    Example:
        >>> import torch
        >>> from metahpo.metalearn import Task, meta_gradient, mse_loss
        >>> model = torch.nn.Linear(1, 1)
        >>> params = {k: v.detach() for k, v in model.named_parameters()}
        >>> x = torch.linspace(-1, 1, 10).unsqueeze(1)
        >>> tasks = [Task((x[::2], a * x[::2]), (x[1::2], a * x[1::2])) for a in (1.0, 2.0)]
        >>> result = meta_gradient(model, params, tasks, mse_loss, inner_lr=0.1)
        >>> sorted(result.params), result.inner_lr is None
        (['bias', 'weight'], True)
    """
    owner = "meta_gradient"
    params = check_params(params, owner)
    # Checked here too, so that errors name the function the user called.
    check_param_names(model, params, owner)
    check_differentiable(params, owner)
    check_tasks(tasks, owner, params)
    check_steps(inner_steps, owner, "inner_steps")
    loop_over_training_buffers(model, check_vectorize(vectorize, owner), owner)
    check_first_order(first_order, owner)
    lr = check_inner_lr(inner_lr, params, owner)

    def objective(meta_params: Params, learning_rates: InnerLR) -> Tensor:
        return maml_loss(
            model,
            meta_params,
            tasks,
            loss_fn,
            inner_steps=inner_steps,
            inner_lr=learning_rates,
            first_order=first_order,
            query_loss_fn=query_loss_fn,
            vectorize=vectorize,
        )

    if isinstance(lr, dict):
        (params_grad, lr_grad), loss = grad_and_value(objective, argnums=(0, 1))(params, lr)
        return MetaGradient(loss=loss, params=params_grad, inner_lr=lr_grad)
    params_grad, loss = grad_and_value(objective)(params, lr)
    return MetaGradient(loss=loss, params=params_grad, inner_lr=None)
