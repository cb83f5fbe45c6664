"""Proximal gradient for ``min_x f(x) + g(x)``: ISTA and FISTA, fixed, backtracking or BB steps.

``f`` is smooth (differentiated with :func:`torch.func.grad_and_value`), ``g`` a
penalty with a proximal operator (:mod:`metahpo.metalearn._prox_operators`), possibly
non-convex (MCP). Each iteration is ``x⁺ = prox_{t g}(y - t ∇f(y))`` with ``y = x``
(ISTA) or Nesterov's extrapolation (FISTA, Beck & Teboulle, 2009, "A fast iterative
shrinkage-thresholding algorithm", section 4). The step ``t`` is

- ``"fixed"``: as given (``1/L`` for an ``L``-smooth ``f``);
- ``"backtracking"``: halved until Beck & Teboulle's sufficient-decrease condition
  ``f(x⁺) <= f(y) + ∇f(y)ᵀ(x⁺ - y) + ‖x⁺ - y‖²/(2t)`` holds (their eq. 1.5 / Lemma 2.3),
  never increased;
- ``"barzilai_borwein"`` (ISTA only): the safeguarded BB step with the non-monotone
  acceptance test of :mod:`metahpo.metalearn._step_rules` (SpaRSA).

Stationarity is measured by the gradient mapping ``G_t(y) = (y - x⁺)/t``, which is zero
exactly at the fixed points of the iteration, convex or not.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.func import grad_and_value

from metahpo._validation import check_finite_number, check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.metalearn._prox_operators import Penalty, max_prox_step
from metahpo.metalearn._step_rules import barzilai_borwein_step, nonmonotone_accept

__all__ = ["ProximalGradientResult", "gradient_mapping_norm", "proximal_gradient"]

Objective = Callable[[Tensor], Tensor]
_METHODS = ("ista", "fista")
_STEP_RULES = ("fixed", "backtracking", "barzilai_borwein")


@dataclass(frozen=True)
class ProximalGradientResult:
    """The outcome of :func:`proximal_gradient`.

    Attributes:
        x: The final iterate.
        objective: ``f(x) + g(x)``.
        gradient_mapping: ``‖G_t(x)‖`` at the final iterate with the final step.
        step: The final step ``t``.
        n_iterations: Iterations run.
        n_evaluations: Evaluations of ``f`` and its gradient.
        converged: Whether the gradient mapping fell to ``tol``; ``False`` after
            ``max_iter`` iterations, a non-finite objective or a step below ``1e-12``.
        history: ``f + g`` after each iteration, the start included.
    """

    x: Tensor
    objective: float
    gradient_mapping: float
    step: float
    n_iterations: int
    n_evaluations: int
    converged: bool
    history: Tensor


def gradient_mapping_norm(objective: Objective, penalty: Penalty, x: Tensor, step: float) -> float:
    """``‖(x - prox_{t g}(x - t ∇f(x))) / t‖``, zero exactly at stationary points of ``f + g``.

    Example:
        >>> import torch
        >>> from metahpo.metalearn import L1Penalty, gradient_mapping_norm
        >>> f = lambda x: 0.5 * ((x - 3.0) ** 2).sum()
        >>> gradient_mapping_norm(f, L1Penalty(1.0), torch.tensor([2.0]), step=1.0)
        0.0
    """
    owner = "gradient_mapping_norm"
    if not isinstance(x, Tensor) or not x.is_floating_point():
        raise InvalidParameterError(
            f"The 'x' parameter of {owner} must be a floating-point tensor. Got {describe(x)} instead."
        )
    if check_finite_number(step, "step", owner) <= 0:  # a norm divided by the step
        raise InvalidParameterError(f"The 'step' parameter of {owner} must be > 0. Got {step!r} instead.")
    _check_penalty_fits(penalty, x, owner, "x")
    grad, _ = grad_and_value(objective)(x.detach())
    moved = x - penalty.prox(x - step * grad, step)
    return float(torch.linalg.vector_norm(moved) / step)


def _check_penalty_fits(penalty: object, x: Tensor, owner: str, parameter: str) -> None:
    check_fits = getattr(penalty, "check_fits", None)  # group lasso: its groups index x
    if callable(check_fits):
        check_fits(x, owner, parameter)


def _check(
    objective: object,
    penalty: object,
    x0: object,
    method: object,
    step_rule: object,
    step: object,
    tol: object,
) -> tuple[Tensor, float, float]:
    owner = "proximal_gradient"
    if not callable(objective):
        raise InvalidParameterError(
            f"The 'objective' parameter of {owner} must be a callable returning a scalar tensor. "
            f"Got {describe(objective)} instead."
        )
    if not (callable(getattr(penalty, "prox", None)) and callable(getattr(penalty, "value", None))):
        raise InvalidParameterError(
            f"The 'penalty' parameter of {owner} must have 'value' and 'prox' methods "
            f"(e.g. L1Penalty). Got {describe(penalty)} instead."
        )
    if (
        not isinstance(x0, Tensor)
        or not x0.is_floating_point()
        or not bool(torch.isfinite(x0).all())
    ):
        raise InvalidParameterError(
            f"The 'x0' parameter of {owner} must be a floating-point tensor of finite values. "
            f"Got {describe(x0)} instead."
        )
    if method not in _METHODS:
        raise InvalidParameterError(
            f"The 'method' parameter of {owner} must be one of {_METHODS}. Got {method!r} instead."
        )
    if step_rule not in _STEP_RULES:
        raise InvalidParameterError(
            f"The 'step_rule' parameter of {owner} must be one of {_STEP_RULES}. Got {step_rule!r} instead."
        )
    if method == "fista" and step_rule == "barzilai_borwein":
        raise InvalidParameterError(
            f"The 'step_rule' parameter of {owner} must be 'fixed' or 'backtracking' with "
            "method='fista': FISTA's rate needs non-increasing steps. Got 'barzilai_borwein' instead."
        )
    step_value = check_finite_number(step, "step", owner)
    tol_value = check_finite_number(tol, "tol", owner)
    if step_value <= 0:
        raise InvalidParameterError(
            f"The 'step' parameter of {owner} must be > 0. Got {step!r} instead."
        )
    if tol_value < 0:
        raise InvalidParameterError(
            f"The 'tol' parameter of {owner} must be >= 0. Got {tol!r} instead."
        )
    _check_penalty_fits(penalty, x0, owner, "x0")
    return x0.detach().clone(), step_value, tol_value


def proximal_gradient(
    objective: Objective,
    penalty: Penalty,
    x0: Tensor,
    *,
    method: str = "fista",
    step_rule: str = "backtracking",
    step: float = 1.0,
    max_iter: int = 1000,
    tol: float = 1e-8,
    memory: int = 5,
) -> ProximalGradientResult:
    """Minimise ``objective(x) + penalty.value(x)`` by proximal gradient steps.

    Args:
        objective: The smooth part ``f``: a tensor ``x`` (the shape of ``x0``) to a scalar.
        penalty: The non-smooth part ``g``: ``L1Penalty``, ``GroupLassoPenalty``,
            ``BoxIndicator``, ``MCPPenalty``, ``ZeroPenalty`` or any object with
            ``value(x)`` and ``prox(v, step)``.
        x0: The start.
        method: ``"ista"`` or ``"fista"``.
        step_rule: ``"fixed"``, ``"backtracking"`` or ``"barzilai_borwein"`` (ISTA only).
        step: The (first) step size.
        max_iter: Iterations at most.
        tol: Stop when the gradient mapping's norm is at most ``tol``.
        memory: Objective values the non-monotone test looks back over (BB only).

    Returns:
        A :class:`ProximalGradientResult`.

    Example:
        >>> import torch
        >>> from metahpo.metalearn import L1Penalty, proximal_gradient
        >>> f = lambda x: 0.5 * ((x - torch.tensor([3.0, 0.5])) ** 2).sum()
        >>> result = proximal_gradient(f, L1Penalty(1.0), torch.zeros(2, dtype=torch.float64))
        >>> [round(v, 6) for v in result.x.tolist()], result.converged
        ([2.0, 0.0], True)
    """
    x, step, tol = _check(objective, penalty, x0, method, step_rule, step, tol)
    max_iter = check_int(max_iter, "max_iter", "proximal_gradient", minimum=1)
    memory = check_int(memory, "memory", "proximal_gradient", minimum=1)
    largest = max_prox_step(penalty)
    step = min(step, largest)
    value_and_grad = grad_and_value(objective)

    def evaluate(point: Tensor) -> tuple[Tensor, Tensor]:
        grad, value = value_and_grad(point)
        return value.detach(), grad.detach()

    fx, gx = evaluate(x)
    evaluations = 1
    history = [float(fx + penalty.value(x))]
    y, fy, gy = x, fx, gx
    momentum = 1.0
    converged = False
    iterations = 0
    for _ in range(max_iter):
        iterations += 1
        while True:
            trial = penalty.prox(y - step * gy, step)
            f_trial, g_trial = evaluate(trial)
            evaluations += 1
            moved = trial - y
            if step_rule == "fixed":
                break
            if step_rule == "backtracking":
                bound = fy + (gy * moved).sum() + (moved * moved).sum() / (2.0 * step)
                accepted = bool(torch.isfinite(f_trial)) and bool(
                    f_trial <= bound + 1e-12 * fy.abs()
                )
            else:
                recent = torch.tensor(history[-memory:], dtype=fy.dtype)
                accepted = bool(
                    nonmonotone_accept(
                        # The rules batch over leading dimensions: one iterate is one vector.
                        f_trial + penalty.value(trial), recent, moved.reshape(-1), torch.tensor(step)
                    )
                )
            if accepted or step < 1e-12:
                break
            step *= 0.5
        mapping = float(torch.linalg.vector_norm(moved)) / step
        total = float(f_trial + penalty.value(trial))
        if not math.isfinite(total) or step < 1e-12:
            history.append(total)
            x = trial
            break
        if method == "fista":
            next_momentum = (1.0 + math.sqrt(1.0 + 4.0 * momentum**2)) / 2.0
            y = trial + ((momentum - 1.0) / next_momentum) * (trial - x)
            momentum = next_momentum
            x = trial
            fy, gy = evaluate(y)
            evaluations += 1
        else:
            if step_rule == "barzilai_borwein":
                step = float(
                    barzilai_borwein_step(
                        moved.reshape(-1), (g_trial - gy).reshape(-1), torch.tensor(step),
                        max_step=min(largest, 1e10),
                    )
                )
            x, y, fy, gy = trial, trial, f_trial, g_trial
        history.append(total)
        if mapping <= tol:
            converged = True
            break
    final_mapping = gradient_mapping_norm(objective, penalty, x, step)
    return ProximalGradientResult(
        x=x,
        objective=float(objective(x).detach() + penalty.value(x)),
        gradient_mapping=final_mapping,
        step=step,
        n_iterations=iterations,
        n_evaluations=evaluations,
        converged=converged,
        history=torch.tensor(history, dtype=torch.float64),
    )
