"""Frank–Wolfe (conditional gradient) with its duality gap as the stopping certificate.

Minimises a smooth convex ``f`` over a compact convex set ``C`` reached only through
a linear-minimisation oracle (:mod:`metahpo.metalearn._lmo`). Each iteration calls the
oracle at ``∇f(x)`` and moves towards its answer ``s``. The Frank–Wolfe gap

    gap(x) = <∇f(x), x - s> >= f(x) - min_C f

is free and certifies suboptimality (Jaggi, 2013, "Revisiting Frank–Wolfe", section 2).
Step rules:

- ``"open_loop"``: ``γ_k = 2/(k+2)``, for which ``f(x_k) - f* <= 2 L D²/(k+2)`` (Jaggi's
  Theorem 1) and the smallest gap so far falls as ``O(1/k)`` (his Theorem 2);
- ``"line_search"``: the backtracking line search of Pedregosa, Negiar, Askari & Jaggi
  (2020, "Linearly convergent Frank–Wolfe with backtracking line-search", Algorithm 1),
  which estimates the local Lipschitz constant ``L`` and needs no constant from the user.

``away_steps=True`` (line search only) adds the away steps of Lacoste-Julien & Jaggi
(2015, "On the global linear convergence of Frank–Wolfe optimization variants",
Algorithm 1): the iterate is kept as a convex combination of oracle answers, and the
method may move away from the worst of them, which gives linear convergence on
polytopes for strongly convex ``f``.
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

__all__ = ["FrankWolfeResult", "frank_wolfe"]

Objective = Callable[[Tensor], Tensor]
Oracle = Callable[[Tensor], Tensor]
_STEP_RULES = ("open_loop", "line_search")


@dataclass(frozen=True)
class FrankWolfeResult:
    """The outcome of :func:`frank_wolfe`.

    Attributes:
        x: The final iterate (in the set).
        objective: ``f(x)``.
        gap: The Frank–Wolfe gap at ``x``, an upper bound on ``f(x) - min f``.
        n_iterations: Iterations run.
        converged: Whether the gap fell to ``tol``.
        gaps: The gap at each iterate, the start included.
        objectives: ``f`` at each iterate, the start included.
    """

    x: Tensor
    objective: float
    gap: float
    n_iterations: int
    converged: bool
    gaps: Tensor
    objectives: Tensor


def _key(vertex: Tensor) -> tuple[float, ...]:
    return tuple(vertex.flatten().tolist())


def frank_wolfe(
    objective: Objective,
    lmo: Oracle,
    x0: Tensor,
    *,
    step_rule: str = "open_loop",
    away_steps: bool = False,
    max_iter: int = 1000,
    tol: float = 1e-8,
) -> FrankWolfeResult:
    """Minimise ``objective`` over the set of ``lmo`` by Frank–Wolfe steps.

    Args:
        objective: A smooth convex ``f``: a tensor (the shape of ``x0``) to a scalar.
        lmo: A linear-minimisation oracle: ``SimplexLMO``, ``L1BallLMO``, ``BoxLMO``,
            ``NuclearNormBallLMO`` or any callable mapping a gradient to
            ``argmin_{s in C} <g, s>``.
        x0: A point of the set (a vertex, e.g. ``lmo(torch.zeros(d))``, is a safe start).
        step_rule: ``"open_loop"`` (``2/(k+2)``) or ``"line_search"``.
        away_steps: Add away steps (needs ``step_rule="line_search"``).
        max_iter: Iterations at most.
        tol: Stop when the Frank–Wolfe gap is at most ``tol``.

    Returns:
        A :class:`FrankWolfeResult`.

    Example:
        >>> import torch
        >>> from metahpo.metalearn import SimplexLMO, frank_wolfe
        >>> f = lambda x: ((x - torch.tensor([0.2, 0.5, 0.3])) ** 2).sum()
        >>> x0 = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
        >>> result = frank_wolfe(f, SimplexLMO(), x0, step_rule="line_search", away_steps=True, tol=1e-10)
        >>> [round(v, 6) for v in result.x.tolist()]
        [0.2, 0.5, 0.3]
    """
    owner = "frank_wolfe"
    if not callable(objective):
        raise InvalidParameterError(
            f"The 'objective' parameter of {owner} must be a callable returning a scalar tensor. "
            f"Got {describe(objective)} instead."
        )
    if not callable(lmo):
        raise InvalidParameterError(
            f"The 'lmo' parameter of {owner} must be a linear-minimisation oracle (e.g. SimplexLMO()). "
            f"Got {describe(lmo)} instead."
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
    contains = getattr(lmo, "contains", None)
    if contains is not None and not contains(x0):
        raise InvalidParameterError(
            f"The 'x0' parameter of {owner} must lie in the oracle's set {lmo!r}. Got {describe(x0)} instead."
        )
    if step_rule not in _STEP_RULES:
        raise InvalidParameterError(
            f"The 'step_rule' parameter of {owner} must be one of {_STEP_RULES}. Got {step_rule!r} instead."
        )
    if not isinstance(away_steps, bool):
        raise InvalidParameterError(
            f"The 'away_steps' parameter of {owner} must be a bool. Got {away_steps!r} instead."
        )
    if away_steps and step_rule != "line_search":
        raise InvalidParameterError(
            f"The 'away_steps' parameter of {owner} needs step_rule='line_search'. Got step_rule={step_rule!r} instead."
        )
    max_iter = check_int(max_iter, "max_iter", owner, minimum=0)
    tol = check_finite_number(tol, "tol", owner)
    if tol < 0:  # the gap is >= 0: a negative tol would never stop the run
        raise InvalidParameterError(f"The 'tol' parameter of {owner} must be >= 0. Got {tol!r} instead.")

    value_and_grad = grad_and_value(objective)
    x = x0.detach().clone()
    grad, value = value_and_grad(x)
    atoms: dict[tuple[float, ...], tuple[Tensor, float]] = {_key(x): (x.clone(), 1.0)}
    lipschitz = math.nan
    gaps: list[float] = []
    objectives: list[float] = [float(value)]
    converged = False
    iterations = 0
    for k in range(max_iter + 1):
        vertex = lmo(grad).to(x.dtype)
        direction = vertex - x
        gap = float(-(grad * direction).sum())
        gaps.append(gap)
        if gap <= tol:
            converged = True
            break
        if k == max_iter:
            break
        iterations += 1
        max_gamma, away_key = 1.0, None
        if away_steps:
            away_key = max(atoms, key=lambda key: float((grad * atoms[key][0]).sum()))
            away_direction = x - atoms[away_key][0]
            if float(-(grad * away_direction).sum()) > gap:
                away_weight = atoms[away_key][1]
                direction, max_gamma = away_direction, away_weight / max(1.0 - away_weight, 1e-300)
            else:
                away_key = None
        if step_rule == "open_loop":
            gamma = 2.0 / (k + 2.0)
        else:
            if math.isnan(lipschitz):
                lipschitz = _initial_lipschitz(value_and_grad, x, grad, direction)
            gamma, lipschitz = _backtrack(
                objective, x, value, grad, direction, max_gamma, lipschitz
            )
        x = x + gamma * direction
        if away_steps:
            _update_atoms(atoms, vertex, away_key, gamma, max_gamma)
        grad, value = value_and_grad(x)
        objectives.append(float(value))
    return FrankWolfeResult(
        x=x,
        objective=float(value),
        gap=gaps[-1],
        n_iterations=iterations,
        converged=converged,
        gaps=torch.tensor(gaps, dtype=torch.float64),
        objectives=torch.tensor(objectives, dtype=torch.float64),
    )


def _initial_lipschitz(
    value_and_grad: Callable, x: Tensor, grad: Tensor, direction: Tensor
) -> float:
    # Pedregosa et al. (2020), section 3: a finite difference of the gradient along the direction.
    epsilon = 1e-3
    shifted_grad, _ = value_and_grad(x + epsilon * direction)
    estimate = float(
        torch.linalg.vector_norm(shifted_grad - grad)
        / (epsilon * torch.linalg.vector_norm(direction))
    )
    return estimate if estimate > 0 else 1.0


def _backtrack(
    objective: Objective,
    x: Tensor,
    value: Tensor,
    grad: Tensor,
    direction: Tensor,
    max_gamma: float,
    lipschitz: float,
) -> tuple[float, float]:
    # Pedregosa et al. (2020), Algorithm 2: try a slightly smaller L first, double it until
    # the quadratic upper bound holds at the step that minimises it.
    slope = float(-(grad * direction).sum())
    squared = float((direction * direction).sum())
    if not (squared > 0 and math.isfinite(slope) and math.isfinite(float(value))):
        # No direction to move along (the vertex is the iterate), or a non-finite objective
        # (then the oracle returns the iterate's own vertex): no step, as open-loop takes
        # none that helps either.
        return 0.0, lipschitz
    trial_lipschitz = 0.9 * lipschitz
    # Near the solution the predicted decrease falls below the rounding error of
    # f(x⁺) - f(x). A step that passes the test only within that error is taken, but it
    # says nothing about L: the estimate is kept, so it neither shrinks nor ratchets up.
    rounding = 16.0 * torch.finfo(x.dtype).eps * max(1.0, abs(float(value)))
    while True:
        gamma = min(slope / (trial_lipschitz * squared), max_gamma)
        new_value = float(objective(x + gamma * direction))
        bound = float(value) - gamma * slope + 0.5 * gamma**2 * trial_lipschitz * squared
        if new_value <= bound:
            return gamma, trial_lipschitz
        if new_value <= bound + rounding:
            return gamma, max(lipschitz, trial_lipschitz)
        if trial_lipschitz > 1e300:
            return 0.0, lipschitz
        trial_lipschitz *= 2.0


def _update_atoms(
    atoms: dict[tuple[float, ...], tuple[Tensor, float]],
    vertex: Tensor,
    away_key: tuple[float, ...] | None,
    gamma: float,
    max_gamma: float,
) -> None:
    # Lacoste-Julien & Jaggi (2015), Algorithm 1, lines 13-18: the convex weights follow the step.
    if away_key is None:
        for key, (atom, weight) in list(atoms.items()):
            atoms[key] = (atom, (1.0 - gamma) * weight)
        key = _key(vertex)
        atom, weight = atoms.get(key, (vertex.clone(), 0.0))
        atoms[key] = (atom, weight + gamma)
        if gamma >= 1.0:
            atoms.clear()
            atoms[key] = (atom, 1.0)
    else:
        for key, (atom, weight) in list(atoms.items()):
            atoms[key] = (atom, (1.0 + gamma) * weight)
        atom, weight = atoms[away_key]
        atoms[away_key] = (atom, weight - gamma)
        if gamma >= max_gamma:
            del atoms[away_key]
    for key in [key for key, (_, weight) in atoms.items() if weight <= 0.0]:
        del atoms[key]
