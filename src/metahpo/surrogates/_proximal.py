"""Proximal gradient descent on a box, batched over starts.

Minimises ``F(z) = f(z) + (λ/2)‖z - c‖² + ι_B(z)`` for each start independently,
where ``f`` is smooth (an acquisition loss), ``c`` a centre with weight ``λ ≥ 0``
(a soft trust region) and ``B = [lower, upper]`` a box (the unit cube, or a hard
trust region inside it). Each iteration takes a gradient step on ``f`` and applies
the proximal operator of the rest, which is separable and exact:

    prox_t(v) = clip((v + tλc) / (1 + tλ), lower, upper).

Step sizes are Barzilai–Borwein (BB1, ``sᵀs / sᵀy``, safeguarded: the step shared with
:func:`metahpo.metalearn.barzilai_borwein_step`) with backtracking on the
sufficient-decrease condition of Beck & Teboulle (2009, "A fast iterative
shrinkage-thresholding algorithm", Lemma 2.3):

    f(z⁺) ≤ f(z) + ∇f(z)ᵀ(z⁺ - z) + ‖z⁺ - z‖² / (2t),

under which ``F(z⁺) ≤ F(z)``: accepted iterates never increase the objective. A
rejected trial point halves that start's step and keeps its iterate. One batched
evaluation of ``f`` and its gradient per iteration serves all starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from metahpo._validation import check_finite_number, check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.metalearn import barzilai_borwein_step

__all__ = ["ProximalGradient", "ProximalResult", "proximal_box"]

Objective = Callable[[torch.Tensor], torch.Tensor]


def proximal_box(
    v: torch.Tensor,
    step: torch.Tensor | float,
    lower: torch.Tensor | float = 0.0,
    upper: torch.Tensor | float = 1.0,
    center: torch.Tensor | None = None,
    penalty: torch.Tensor | float = 0.0,
) -> torch.Tensor:
    """The proximal operator of ``(λ/2)‖z - c‖² + ι_[lower, upper](z)`` with step ``t``.

    With ``penalty == 0`` (or no centre) it is the projection onto the box.
    ``step`` and ``penalty`` broadcast against ``v``; a per-start ``(batch, 1)`` works.
    """
    if center is not None:
        weight = torch.as_tensor(step, dtype=v.dtype) * torch.as_tensor(penalty, dtype=v.dtype)
        v = (v + weight * center) / (1.0 + weight)
    return torch.maximum(
        torch.minimum(v, torch.as_tensor(upper, dtype=v.dtype)),
        torch.as_tensor(lower, dtype=v.dtype),
    )


@dataclass(frozen=True)
class ProximalResult:
    """The outcome of one batched run.

    Attributes:
        x: ``(batch, d)`` final iterates (inside the boxes).
        value: ``(batch,)`` smooth objective ``f`` at ``x`` (without the penalty).
        n_evaluations: rows of ``f`` evaluated, starts included.
        n_iterations: iterations run.
        history: ``(iterations + 1, batch)`` composite objective ``F`` of the iterates,
            for diagnostics and tests.
    """

    x: torch.Tensor
    value: torch.Tensor
    n_evaluations: int
    n_iterations: int
    history: torch.Tensor


class ProximalGradient:
    """Batched proximal gradient descent with Barzilai–Borwein steps and backtracking.

    Generic over any differentiable ``f: (batch, d) -> (batch,)`` whose rows are
    independent (an acquisition over a surrogate). If ``f`` has a
    ``value_and_grad(x)`` method returning ``(values, gradients)`` it is used instead
    of autograd.

    Args:
        max_iter: iterations (each one batched evaluation).
        initial_step: the first step size ``t``.
        tol: a start stops when a trial step moves it less than ``tol`` (max-norm):
            it is a fixed point of the proximal gradient map up to ``tol``.
        min_step, max_step: bounds on BB steps.

    Example:
        >>> import torch
        >>> f = lambda z: ((z - 2.0) ** 2).sum(-1)  # minimum outside the unit box
        >>> result = ProximalGradient().minimize(f, torch.zeros(3, 2, dtype=torch.float64))
        >>> result.x.tolist()
        [[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]]
    """

    def __init__(
        self,
        max_iter: int = 50,
        initial_step: float = 0.1,
        tol: float = 1e-6,
        min_step: float = 1e-8,
        max_step: float = 1e3,
    ) -> None:
        self.max_iter = check_int(max_iter, "max_iter", "ProximalGradient", minimum=0)
        self.initial_step = check_finite_number(initial_step, "initial_step", "ProximalGradient")
        self.tol = check_finite_number(tol, "tol", "ProximalGradient")
        self.min_step = check_finite_number(min_step, "min_step", "ProximalGradient")
        self.max_step = check_finite_number(max_step, "max_step", "ProximalGradient")
        if not 0 < self.min_step <= self.max_step:
            raise InvalidParameterError(
                "The 'min_step' and 'max_step' parameters of ProximalGradient must satisfy "
                f"0 < min_step <= max_step. Got min_step={min_step!r}, max_step={max_step!r} instead."
            )
        if not self.initial_step > 0:
            raise InvalidParameterError(
                f"The 'initial_step' parameter of ProximalGradient must be > 0. Got {initial_step!r} instead."
            )

    def minimize(
        self,
        f: Objective,
        x0: torch.Tensor,
        lower: torch.Tensor | float = 0.0,
        upper: torch.Tensor | float = 1.0,
        center: torch.Tensor | None = None,
        penalty: torch.Tensor | float = 0.0,
    ) -> ProximalResult:
        """Run from the ``(batch, d)`` starts ``x0``; boxes and penalties may differ per start."""
        dtype = x0.dtype
        batch = x0.shape[0]
        lower_t = torch.as_tensor(lower, dtype=dtype)
        upper_t = torch.as_tensor(upper, dtype=dtype)
        penalty_t = torch.as_tensor(penalty, dtype=dtype)
        if penalty_t.dim() == 1:
            penalty_t = penalty_t[:, None]
        if bool((lower_t > upper_t).any()) or bool(lower_t.isnan().any() | upper_t.isnan().any()):
            raise InvalidParameterError(
                "The 'lower' and 'upper' parameters of ProximalGradient.minimize must be numbers with "
                f"lower <= upper everywhere. Got lower={describe(lower)}, upper={describe(upper)} instead."
            )

        def composite(x: torch.Tensor, fx: torch.Tensor) -> torch.Tensor:
            if center is None:
                return fx
            return fx + 0.5 * (penalty_t * (x - center) ** 2).sum(-1)

        x = proximal_box(x0.detach(), 0.0, lower_t, upper_t).clone()
        fx, grad = _value_and_grad(f, x)
        if fx.shape != (batch,):  # checked once: rows are independent, one value each
            raise InvalidParameterError(
                f"The 'f' parameter of ProximalGradient.minimize must map ({batch}, d) rows to "
                f"{batch} values, one per row. Got values of shape {tuple(fx.shape)} instead."
            )
        evaluations = batch
        step = torch.full((batch, 1), self.initial_step, dtype=dtype)
        active = torch.ones(batch, dtype=torch.bool)
        history = [composite(x, fx)]
        iterations = 0
        for _ in range(self.max_iter):
            if not bool(active.any()):
                break
            iterations += 1
            trial = proximal_box(x - step * grad, step, lower_t, upper_t, center, penalty_t)
            f_trial, g_trial = _value_and_grad(f, trial)
            evaluations += batch
            moved = trial - x
            bound = fx + (grad * moved).sum(-1) + (moved * moved).sum(-1) / (2.0 * step[:, 0])
            accept = active & torch.isfinite(f_trial) & (f_trial <= bound + 1e-12 * fx.abs())
            # The shared safeguarded Barzilai–Borwein step for accepted pairs; halving otherwise.
            bb = barzilai_borwein_step(
                moved, g_trial - grad, step[:, 0], min_step=self.min_step, max_step=self.max_step
            )
            halved = (0.5 * step[:, 0]).clamp(self.min_step, self.max_step)
            new_step = torch.where(accept, bb, halved)
            converged = moved.abs().amax(-1) < self.tol
            keep = accept[:, None]
            x = torch.where(keep, trial, x)
            fx = torch.where(accept, f_trial, fx)
            grad = torch.where(keep, g_trial, grad)
            step = torch.where(active[:, None], new_step[:, None], step)
            active = active & ~converged & (step[:, 0] > self.min_step)
            history.append(composite(x, fx))
        return ProximalResult(x, fx, evaluations, iterations, torch.stack(history))


def _value_and_grad(f: Objective, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # Objectives may supply their gradient in closed form (the GP acquisitions do);
    # otherwise autograd computes it.
    closed_form = getattr(f, "value_and_grad", None)
    if closed_form is not None:
        result = closed_form(x.detach())
        if result is not None:
            value, grad = result
            return value.detach(), grad.detach()
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        value = f(x)
        (grad,) = torch.autograd.grad(value.sum(), x)
    return value.detach(), grad.detach()
