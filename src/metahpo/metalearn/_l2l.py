"""Running and meta-training the learned optimizer (Andrychowicz et al., 2016).

The optimizer's parameters ``φ`` are trained to minimise the meta-loss
``L(φ) = E_f [Σ_t f(θ_t)]`` (the paper's eq. 3 with all weights ``w_t = 1``) by truncated
backpropagation through time: the trajectory of ``horizon`` steps is cut into unrolls of
``unroll`` steps, each unroll's summed losses are backpropagated to ``φ`` and Adam
takes one step. The optimizee's gradients ``∇_t = ∇f(θ_t)`` enter the LSTM as inputs
only: like the paper (``∂∇_t/∂φ = 0``, Section 2) they are detached, so no second
derivatives of ``f`` are taken, while ``f(θ_t)`` itself stays differentiable in ``φ``
through the updates that produced ``θ_t``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.func import functional_call, vjp

from metahpo._validation import check_finite_number, check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.metalearn._checks import check_params
from metahpo.metalearn._l2l_lstm import LearnedOptimizer, LSTMState
from metahpo.metalearn._l2l_problems import OptimizeeBatch
from metahpo.metalearn._types import Params

__all__ = [
    "LearnedOptimizerRun",
    "LearnedOptimizerTraining",
    "learned_optimizer_run",
    "train_learned_optimizer",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LearnedOptimizerRun:
    """The result of :func:`learned_optimizer_run`.

    Attributes:
        x: The last point.
        losses: The loss at ``x0`` and after each step, shape ``(steps + 1, *loss_shape)``.
    """

    x: Tensor
    losses: Tensor


@dataclass(frozen=True)
class LearnedOptimizerTraining:
    """The result of :func:`train_learned_optimizer`.

    Attributes:
        params: The trained parameters of the optimizer (detached tensors).
        meta_losses: For each meta-iteration, the mean optimizee loss over its trajectory
            and its problems, shape ``(meta_iterations,)``.
    """

    params: Params
    meta_losses: Tensor


def _value_and_detached_grad(
    loss_fn: Callable[[Tensor], Tensor], x: Tensor
) -> tuple[Tensor, Tensor]:
    # One evaluation gives both the loss (still attached to φ through x) and its gradient
    # in x; the gradient is detached, as the paper drops ∂∇_t/∂φ.
    value, pullback = vjp(loss_fn, x)[:2]
    (grad,) = pullback(torch.ones_like(value))
    return value, grad.detach()


def _unroll(
    optimizer: LearnedOptimizer,
    params: Params,
    loss_fn: Callable[[Tensor], Tensor],
    x: Tensor,
    grad: Tensor,
    state: LSTMState,
    steps: int,
) -> tuple[Tensor, Tensor, LSTMState, list[Tensor]]:
    losses = []
    for _ in range(steps):
        update, state = functional_call(optimizer, params, (grad, state))
        x = x + update
        value, grad = _value_and_detached_grad(loss_fn, x)
        losses.append(value)
    return x, grad, state, losses


def _check_optimizer(optimizer: Any, params: Any, owner: str) -> Params:
    if not isinstance(optimizer, LearnedOptimizer):
        raise InvalidParameterError(
            f"The 'optimizer' parameter of {owner} must be a LearnedOptimizer. "
            f"Got {describe(optimizer)} instead."
        )
    params = check_params(params, owner)
    expected = {name for name, _ in optimizer.named_parameters()}
    if set(params) != expected:
        raise InvalidParameterError(
            f"The 'params' parameter of {owner} must hold exactly the optimizer's parameters "
            f"{sorted(expected)}. Got {sorted(params)} instead."
        )
    return params


def learned_optimizer_run(
    optimizer: LearnedOptimizer,
    params: Params,
    loss_fn: Callable[[Tensor], Tensor],
    x0: Tensor,
    steps: int,
) -> LearnedOptimizerRun:
    """Minimise ``loss_fn`` from ``x0`` with the learned optimizer for ``steps`` steps.

    ``θ_{t+1} = θ_t + g_t`` with ``g_t`` the LSTM's output on ``∇f(θ_t)``. Nothing is
    differentiated with respect to ``params``.

    Args:
        optimizer: The LSTM, called through :func:`torch.func.functional_call`.
        params: Its parameters, e.g. ``train_learned_optimizer(...).params``.
        loss_fn: ``loss_fn(x) -> Tensor``: a scalar, or one loss per problem when ``x``
            holds a batch of independent problems (the gradient is that of the sum).
        x0: The starting point, a floating-point tensor of any shape.
        steps: How many updates.

    Returns:
        A :class:`LearnedOptimizerRun` with the last point and the loss curve.

    Example:
        >>> import torch
        >>> optimizer = LearnedOptimizer()
        >>> params = {k: v.detach() for k, v in optimizer.named_parameters()}
        >>> run = learned_optimizer_run(optimizer, params, lambda x: x.pow(2).sum(), torch.ones(5), 10)
        >>> run.losses.shape
        torch.Size([11])
    """
    owner = "learned_optimizer_run"
    params = {
        name: value.detach() for name, value in _check_optimizer(optimizer, params, owner).items()
    }
    if not callable(loss_fn):
        raise InvalidParameterError(
            f"The 'loss_fn' parameter of {owner} must be callable. Got {describe(loss_fn)} instead."
        )
    if not isinstance(x0, Tensor) or not x0.is_floating_point():
        raise InvalidParameterError(
            f"The 'x0' parameter of {owner} must be a floating-point tensor. Got {describe(x0)} instead."
        )
    steps = check_int(steps, "steps", owner, minimum=0)
    with torch.no_grad():
        x = x0.detach()
        value, grad = _value_and_detached_grad(loss_fn, x)
        state = optimizer.initial_state(
            x.numel(), dtype=params["head.weight"].dtype, device=x.device
        )
        x, _, _, losses = _unroll(optimizer, params, loss_fn, x, grad, state, steps)
    return LearnedOptimizerRun(x=x, losses=torch.stack([value.detach(), *losses]))


def train_learned_optimizer(
    optimizer: LearnedOptimizer,
    params: Params,
    sample_problems: Callable[[torch.Generator], OptimizeeBatch],
    *,
    meta_iterations: int,
    horizon: int = 100,
    unroll: int = 20,
    lr: float = 1e-3,
    seed: int = 0,
) -> LearnedOptimizerTraining:
    """Meta-train the learned optimizer by truncated backpropagation through time with Adam.

    Each meta-iteration draws a batch of problems, runs the optimizer on them for
    ``horizon`` steps, and after every ``unroll`` steps backpropagates the sum of the
    batch-mean losses of those steps to ``params`` and takes an Adam step; the points
    and the LSTM states are then detached and the trajectory goes on.

    Args:
        optimizer: The LSTM, called through :func:`torch.func.functional_call`.
        params: The starting parameters (copied; the tensors given are not changed).
        sample_problems: ``sample_problems(generator) -> OptimizeeBatch``: a fresh batch
            of problems, drawn from ``generator``.
        meta_iterations: How many trajectories (batches of problems) to train on.
        horizon: Steps of each trajectory (100 in the paper).
        unroll: Steps between two meta-updates (20 in the paper).
        lr: Adam's learning rate for ``params``.
        seed: Seeds the generator handed to ``sample_problems``.

    Returns:
        A :class:`LearnedOptimizerTraining` with the trained parameters and the curve of
        meta-losses.

    Example:
        >>> import torch
        >>> from metahpo.metalearn import LearnedOptimizer, random_quadratics
        >>> optimizer = LearnedOptimizer()
        >>> params = {k: v.detach() for k, v in optimizer.named_parameters()}
        >>> result = train_learned_optimizer(
        ...     optimizer, params, lambda g: random_quadratics(8, generator=g),
        ...     meta_iterations=2, horizon=10, unroll=5)
        >>> result.meta_losses.shape
        torch.Size([2])
    """
    owner = "train_learned_optimizer"
    params = _check_optimizer(optimizer, params, owner)
    if not callable(sample_problems):
        raise InvalidParameterError(
            f"The 'sample_problems' parameter of {owner} must be callable. "
            f"Got {describe(sample_problems)} instead."
        )
    meta_iterations = check_int(meta_iterations, "meta_iterations", owner, minimum=1)
    horizon = check_int(horizon, "horizon", owner, minimum=1)
    unroll = check_int(unroll, "unroll", owner, minimum=1)
    rate = check_finite_number(lr, "lr", owner)
    if rate <= 0:
        raise InvalidParameterError(
            f"The 'lr' parameter of {owner} must be a positive number. Got {lr!r} instead."
        )
    seed = check_int(seed, "seed", owner, minimum=0)

    leaves = {name: value.detach().clone().requires_grad_(True) for name, value in params.items()}
    meta_optimizer = torch.optim.Adam(leaves.values(), lr=rate)
    generator = torch.Generator().manual_seed(seed)
    meta_losses = []
    for iteration in range(meta_iterations):
        batch = sample_problems(generator)
        if not isinstance(batch, OptimizeeBatch):
            raise InvalidParameterError(
                f"The 'sample_problems' parameter of {owner} must return an OptimizeeBatch. "
                f"Got {describe(batch)} instead."
            )
        x = batch.x0.detach()
        _, grad = _value_and_detached_grad(batch.loss_fn, x)
        state = optimizer.initial_state(
            x.numel(), dtype=leaves["head.weight"].dtype, device=x.device
        )
        total, count = 0.0, 0
        for start in range(0, horizon, unroll):
            steps = min(unroll, horizon - start)
            x, grad, state, losses = _unroll(
                optimizer, leaves, batch.loss_fn, x, grad, state, steps
            )
            meta_loss = torch.stack([value.mean() for value in losses]).sum()
            if not math.isfinite(float(meta_loss.detach())):
                raise FloatingPointError(
                    f"The meta-loss of {owner} became {float(meta_loss.detach())} at meta-iteration "
                    f"{iteration}: the optimizer diverged. Lower 'lr' or the LearnedOptimizer's "
                    "output_scale."
                )
            meta_optimizer.zero_grad()
            meta_loss.backward()
            meta_optimizer.step()
            x = x.detach()
            state = LSTMState(state.hidden.detach(), state.cell.detach())
            total += float(meta_loss.detach())
            count += steps
        meta_losses.append(total / count)
        if (iteration + 1) % 100 == 0:
            logger.info("meta-iteration %d: mean loss %.4g", iteration + 1, meta_losses[-1])
    return LearnedOptimizerTraining(
        params={name: value.detach() for name, value in leaves.items()},
        meta_losses=torch.tensor(meta_losses),
    )
