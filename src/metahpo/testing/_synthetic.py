"""Synthetic benchmark problems with known optima: single functions and related task families.

Single-task problems (one task, ``"0"``) carry their global minimum as the attribute
``global_minimum``; every problem here also answers :meth:`SyntheticProblem.optimum`
(the known minimum on a task, at the maximum budget) and :meth:`SyntheticProblem.argmin`
(a configuration that reaches it), so the regret of a loss is ``loss - optimum(task)``.

Parameters are named ``x0, x1, ...``; all are :class:`~metahpo.space.Float`.

Example:
    >>> from metahpo.testing.synthetic import Branin
    >>> problem = Branin()
    >>> loss = problem.evaluate("0", problem.argmin("0"))
    >>> abs(loss - problem.global_minimum) < 1e-12
    True
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from metahpo._validation import check_finite_number, check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.space import Float, Space
from metahpo.testing._problem import Problem

__all__ = [
    "Branin",
    "Hartmann6",
    "MultiFidelityBranin",
    "Rosenbrock",
    "SyntheticProblem",
    "branin",
    "hartmann6",
    "rosenbrock",
]

_BRANIN_BOUNDS = ((-5.0, 10.0), (0.0, 15.0))
# The three minimisers of Branin; the second lies well inside the box, so shifted
# Branin tasks keep it inside for shifts up to 1.5 in each coordinate.
_BRANIN_MINIMIZERS = ((-math.pi, 12.275), (math.pi, 2.275), (3 * math.pi, 2.475))
_BRANIN_MINIMUM = 5.0 / (4.0 * math.pi)  # s * t with s = 10, t = 1 / (8 pi)

_HARTMANN6_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_HARTMANN6_A = np.array(
    [
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ]
)
_HARTMANN6_P = 1e-4 * np.array(
    [
        [1312, 1696, 5569, 124, 8283, 5886],
        [2329, 4135, 8307, 3736, 1004, 9991],
        [2348, 1451, 3522, 2883, 3047, 6650],
        [4047, 8828, 8732, 5743, 1091, 381],
    ],
    dtype=float,
)
# Refined with BFGS then Nelder-Mead from the published (6-digit) minimiser.
_HARTMANN6_MINIMIZER = (
    0.2016895143546786,
    0.15001069292118097,
    0.4768739775473111,
    0.27533243018030845,
    0.3116516151076288,
    0.6573005338278364,
)
_HARTMANN6_MINIMUM = -3.3223680114155147


def branin(x: np.ndarray, fidelity: np.ndarray | float = 1.0) -> np.ndarray:
    """Branin on rows ``(x0, x1)``; ``fidelity < 1`` gives the biased multi-fidelity version.

    The multi-fidelity form is Kandasamy et al. (2017), "Multi-fidelity Bayesian
    optimisation with continuous approximations" (the Dragonfly ``branin_z_x`` function)
    with one fidelity ``z`` for all three coefficients: ``b = b0 - 0.01 (1 - z)``,
    ``c = c0 - 0.1 (1 - z)``, ``t = t0 + 0.005 (1 - z)``.
    """
    z = np.asarray(fidelity, dtype=float)
    b = 5.1 / (4.0 * math.pi**2) - 0.01 * (1.0 - z)
    c = 5.0 / math.pi - 0.1 * (1.0 - z)
    t = 1.0 / (8.0 * math.pi) + 0.005 * (1.0 - z)
    x1, x2 = x[:, 0], x[:, 1]
    return np.asarray((x2 - b * x1**2 + c * x1 - 6.0) ** 2 + 10.0 * (1.0 - t) * np.cos(x1) + 10.0)


def hartmann6(x: np.ndarray) -> np.ndarray:
    """The six-dimensional Hartmann function on rows in ``[0, 1]^6``."""
    squared = (_HARTMANN6_A[None, :, :] * (x[:, None, :] - _HARTMANN6_P[None, :, :]) ** 2).sum(
        axis=2
    )
    return np.asarray(-(np.exp(-squared) @ _HARTMANN6_ALPHA))


def rosenbrock(x: np.ndarray) -> np.ndarray:
    """The Rosenbrock valley ``sum 100 (x[i+1] - x[i]^2)^2 + (1 - x[i])^2`` on rows."""
    return np.asarray(
        (100.0 * (x[:, 1:] - x[:, :-1] ** 2) ** 2 + (1.0 - x[:, :-1]) ** 2).sum(axis=1)
    )


def _box_space(bounds: Sequence[tuple[float, float]]) -> Space:
    return Space({f"x{i}": Float(low, high) for i, (low, high) in enumerate(bounds)})


class SyntheticProblem(Problem):
    """A problem defined by a vectorised function of an ``(n, d)`` array of inputs.

    Subclasses implement :meth:`_function`, :meth:`optimum` and :meth:`argmin`.
    """

    tasks: tuple[str, ...] = ("0",)

    def evaluate_batch(
        self,
        task: str,
        configs: Sequence[Mapping[str, Any]],
        budgets: Sequence[float | None] | float | None = None,
    ) -> np.ndarray:
        """The losses of ``configs`` on ``task``, one budget per config (or one for all)."""
        clean, checked = self._check_batch(task, configs, budgets)
        if not clean:
            return np.empty(0)
        x = np.array([[config[key] for key in self.space] for config in clean], dtype=float)
        fidelity = np.array([np.nan if b is None else b for b in checked], dtype=float)
        return self._function(task, x, fidelity)

    @abstractmethod
    def optimum(self, task: str) -> float:
        """The known global minimum of ``task`` (at the maximum budget)."""

    @abstractmethod
    def argmin(self, task: str) -> dict[str, float]:
        """A configuration at which ``task`` reaches :meth:`optimum`."""

    @abstractmethod
    def _function(self, task: str, x: np.ndarray, budget: np.ndarray) -> np.ndarray:
        """Losses of the rows of ``x`` (columns in space order) at ``budget`` (NaN: no fidelity)."""

    def _evaluate(self, task: str, config: dict[str, Any], budget: float | None) -> float:
        x = np.array([[config[key] for key in self.space]], dtype=float)
        fidelity = np.array([np.nan if budget is None else budget], dtype=float)
        return float(self._function(task, x, fidelity)[0])

    def _point(self, values: Sequence[float]) -> dict[str, float]:
        return {key: float(value) for key, value in zip(self.space, values, strict=True)}


class Branin(SyntheticProblem):
    """Branin on ``[-5, 10] x [0, 15]``; three global minimisers, minimum ``5 / (4 pi)``."""

    name = "branin"
    global_minimum: float = _BRANIN_MINIMUM

    def __init__(self) -> None:
        self.space = _box_space(_BRANIN_BOUNDS)

    def optimum(self, task: str) -> float:
        self._check_task(task)
        return self.global_minimum

    def argmin(self, task: str) -> dict[str, float]:
        self._check_task(task)
        return self._point(_BRANIN_MINIMIZERS[1])

    def _function(self, task: str, x: np.ndarray, budget: np.ndarray) -> np.ndarray:
        return branin(x)


class Hartmann6(SyntheticProblem):
    """Hartmann-6 on ``[0, 1]^6``; minimum ``-3.32236801141551``."""

    name = "hartmann6"
    global_minimum: float = _HARTMANN6_MINIMUM

    def __init__(self) -> None:
        self.space = _box_space([(0.0, 1.0)] * 6)

    def optimum(self, task: str) -> float:
        self._check_task(task)
        return self.global_minimum

    def argmin(self, task: str) -> dict[str, float]:
        self._check_task(task)
        return self._point(_HARTMANN6_MINIMIZER)

    def _function(self, task: str, x: np.ndarray, budget: np.ndarray) -> np.ndarray:
        return hartmann6(x)


class Rosenbrock(SyntheticProblem):
    """Rosenbrock in ``dim`` dimensions on ``[-5, 10]^dim``; minimum 0 at ``(1, ..., 1)``.

    Args:
        dim: Number of dimensions, at least 2.
    """

    name = "rosenbrock"
    global_minimum: float = 0.0

    def __init__(self, dim: int = 5) -> None:
        self.dim = check_int(dim, "dim", "Rosenbrock", minimum=2)
        self.space = _box_space([(-5.0, 10.0)] * self.dim)

    def optimum(self, task: str) -> float:
        self._check_task(task)
        return self.global_minimum

    def argmin(self, task: str) -> dict[str, float]:
        self._check_task(task)
        return self._point([1.0] * self.dim)

    def _function(self, task: str, x: np.ndarray, budget: np.ndarray) -> np.ndarray:
        return rosenbrock(x)


class MultiFidelityBranin(SyntheticProblem):
    """Branin with a budget: low budgets bias the coefficients (Kandasamy et al., 2017).

    The budget maps linearly to the fidelity ``z = (budget - min_budget) /
    (max_budget - min_budget)``; at ``z = 1`` this is exactly :class:`Branin`. Lower
    fidelities move and change the minimum, the way short training runs mislead.

    Args:
        min_budget: The smallest budget (fidelity ``z = 0``).
        max_budget: The largest budget (``z = 1``, the true Branin).

    Example:
        >>> from metahpo.testing.synthetic import MultiFidelityBranin
        >>> problem = MultiFidelityBranin(min_budget=1, max_budget=81)
        >>> low = problem.evaluate("0", problem.argmin("0"), budget=1)
        >>> high = problem.evaluate("0", problem.argmin("0"), budget=81)
        >>> bool(low > high) and abs(high - problem.global_minimum) < 1e-12
        True
    """

    name = "mf_branin"
    global_minimum: float = _BRANIN_MINIMUM

    def __init__(self, min_budget: float = 1.0, max_budget: float = 100.0) -> None:
        low = check_finite_number(min_budget, "min_budget", "MultiFidelityBranin")
        high = check_finite_number(max_budget, "max_budget", "MultiFidelityBranin")
        if not 0.0 <= low < high:
            raise InvalidParameterError(
                "The 'min_budget' and 'max_budget' parameters of MultiFidelityBranin must satisfy "
                f"0 <= min_budget < max_budget. Got min_budget={min_budget!r}, max_budget={max_budget!r} instead."
            )
        self.min_budget = low
        self.max_budget = high
        self._budget_range = (low, high)
        self.space = _box_space(_BRANIN_BOUNDS)

    def fidelity(self, budget: float) -> float:
        """The fidelity ``z`` in ``[0, 1]`` of ``budget``."""
        checked = self._check_budget(budget)
        low, high = self._budget_range
        value = high if checked is None else checked
        return (value - low) / (high - low)

    def optimum(self, task: str) -> float:
        self._check_task(task)
        return self.global_minimum

    def argmin(self, task: str) -> dict[str, float]:
        self._check_task(task)
        return self._point(_BRANIN_MINIMIZERS[1])

    def _function(self, task: str, x: np.ndarray, budget: np.ndarray) -> np.ndarray:
        low, high = self._budget_range
        return branin(x, (budget - low) / (high - low))


def _check_range(value: Any, name: str, owner: str, positive: bool) -> tuple[float, float]:
    valid = (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(
            not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)
            for v in value
        )
        and value[0] <= value[1]
        and (not positive or value[0] > 0)
    )
    if not valid:
        expected = "positive " if positive else ""
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a pair (low, high) of {expected}finite numbers "
            f"with low <= high. Got {describe(value)} instead."
        )
    return float(value[0]), float(value[1])
