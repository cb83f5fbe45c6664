"""The inner loop: a few gradient steps on a task's support set, as a pure function."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.func import grad

from metahpo.metalearn._buffers import with_buffer_copies
from metahpo.metalearn._checks import (
    check_batch,
    check_differentiable,
    check_first_order,
    check_inner_lr,
    check_param_names,
    check_params,
    check_steps,
)
from metahpo.metalearn._types import Batch, InnerLR, LossFn, Params

__all__ = ["adapt", "inner_loop"]


def _step(params: Params, grads: Params, inner_lr: float | dict[str, Tensor]) -> Params:
    if isinstance(inner_lr, dict):
        return {name: value - inner_lr[name] * grads[name] for name, value in params.items()}
    return {name: value - inner_lr * grads[name] for name, value in params.items()}


def _first_order_gradient(support_loss: Callable[[Params], Tensor]) -> Callable[[Params], Params]:
    """The support loss's gradient as constants, taken with ``torch.autograd.grad``.

    The same numbers as ``torch.func.grad`` followed by ``detach``. Outside any
    ``torch.func`` transform it is the cheaper route: ``torch.func.grad``'s first call in a
    process imports ``torch._dynamo`` (about 1 s), which a surrogate adapting on a study's
    first observations would otherwise pay inside its first suggestion.
    """

    def gradient(params: Params) -> Params:
        leaves = {name: value.detach().requires_grad_() for name, value in params.items()}
        with torch.enable_grad():
            loss = support_loss(leaves)
        if loss.dim() != 0:
            raise RuntimeError(f"adapt: loss_fn must return a scalar tensor. Got shape {tuple(loss.shape)}.")
        if not loss.requires_grad:  # the loss does not depend on the parameters
            return {name: torch.zeros_like(leaf) for name, leaf in leaves.items()}
        grads = torch.autograd.grad(loss, list(leaves.values()), allow_unused=True)
        return {
            name: torch.zeros_like(leaf) if g is None else g
            for (name, leaf), g in zip(leaves.items(), grads, strict=True)
        }

    return gradient


def _inside_transform() -> bool:
    """Whether a ``torch.func`` transform (``vmap``, ``grad``, ...) is running."""
    return torch._C._functorch.maybe_current_level() is not None


def adapt(
    model: nn.Module,
    params: Params,
    loss_fn: LossFn,
    support: Batch,
    steps: int = 1,
    inner_lr: InnerLR = 0.01,
    *,
    first_order: bool = False,
) -> Params:
    """Adapt ``params`` to one task with ``steps`` steps of gradient descent.

    ``θ_{j+1} = θ_j − α ⊙ ∇_θ loss_fn(model, θ_j, support)`` (Finn et al., 2017, eq. 1;
    with a tensor ``α`` per parameter it is Meta-SGD, Li et al., 2017). The function is
    pure: ``model`` is only called through :func:`torch.func.functional_call` by
    ``loss_fn``, and nothing is mutated. A module with buffers has fresh copies of them
    passed in ``params`` to each ``loss_fn`` call, so batch norm in training mode normalises
    with each batch's statistics and its running statistics stay as they were. Under an outer :func:`torch.func.grad` or
    ``torch.autograd`` the result stays differentiable in ``params`` (and in a tensor
    ``inner_lr``): the second-order path. With ``first_order=True`` the inner gradients
    are treated as constants, the first-order approximation.

    Args:
        model: The module whose forward ``loss_fn`` calls.
        params: Parameters to start from, name to tensor.
        loss_fn: ``loss_fn(model, params, batch) -> scalar tensor``.
        support: The task's support set, passed to ``loss_fn`` as ``batch``.
        steps: Number of gradient steps, ``>= 0``.
        inner_lr: Step size: a float, or one tensor per parameter (scalar or of the
            parameter's shape) for learnable per-parameter step sizes.
        first_order: Treat the inner gradients as constants (no second derivatives).

    Returns:
        The adapted parameters, a new dict with the same keys.

    Example:
        >>> import torch
        >>> from metahpo.metalearn import adapt, mse_loss
        >>> model = torch.nn.Linear(1, 1)
        >>> params = dict(model.named_parameters())
        >>> x = torch.linspace(-1, 1, 8).unsqueeze(1)
        >>> adapted = adapt(model, params, mse_loss, (x, 3 * x), steps=50, inner_lr=0.3)
        >>> round(adapted["weight"].item(), 3)
        3.0
    """
    owner = "adapt"
    params = check_params(params, owner)
    check_param_names(model, params, owner)
    check_differentiable(params, owner)
    steps = check_steps(steps, owner)
    lr = check_inner_lr(inner_lr, params, owner)
    first_order = check_first_order(first_order, owner)
    check_batch(support, params, owner, "support", "each tensor")
    return inner_loop(model, params, with_buffer_copies(model, loss_fn), support, steps, lr, first_order)


def inner_loop(
    model: nn.Module,
    params: Params,
    loss_fn: LossFn,
    support: Batch,
    steps: int,
    lr: float | dict[str, Tensor],
    first_order: bool,
) -> Params:
    """:func:`adapt` on checked arguments, ``loss_fn`` already given the module's buffers."""

    def support_loss(current: Params) -> Tensor:
        return loss_fn(model, current, support)

    # Inference mode forbids building the graph autograd.grad needs; torch.func.grad copes.
    if first_order and not _inside_transform() and not torch.is_inference_mode_enabled():
        gradient = _first_order_gradient(support_loss)
    else:
        gradient = grad(support_loss)
    for _ in range(steps):
        grads = gradient(params)
        if first_order:
            grads = {name: value.detach() for name, value in grads.items()}
        params = _step(params, grads, lr)
    return params
