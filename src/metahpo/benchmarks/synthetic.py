"""Synthetic benchmark problems with known optima: single functions and related task families.

Single-task problems (one task, ``"0"``) carry their global minimum as the attribute
``global_minimum``; every problem here also answers :meth:`SyntheticProblem.optimum`
(the known minimum on a task, at the maximum budget) and :meth:`SyntheticProblem.argmin`
(a configuration that reaches it), so the regret of a loss is ``loss - optimum(task)``.

Parameters are named ``x0, x1, ...``; all are :class:`~metahpo.space.Float`.

Example:
    >>> from metahpo.benchmarks.synthetic import Branin
    >>> problem = Branin()
    >>> loss = problem.evaluate("0", problem.argmin("0"))
    >>> abs(loss - problem.global_minimum) < 1e-12
    True
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from metahpo._validation import check_finite_number, check_int, describe
from metahpo.benchmarks._problem import Problem
from metahpo.exceptions import InvalidParameterError
from metahpo.space import Float, Space

__all__ = [
    "Branin",
    "Hartmann6",
    "MultiFidelityBranin",
    "QuadraticCoefficients",
    "QuadraticFamily",
    "Rosenbrock",
    "ShiftedBranin",
    "ShiftedHartmann6",
    "SyntheticProblem",
    "TaskTransform",
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


@dataclass(frozen=True)
class TaskTransform:
    """How one task of a shifted family changes the base function: ``scale * f(x - shift) + offset``."""

    shift: tuple[float, ...]
    scale: float
    offset: float


class _ShiftedFamily(SyntheticProblem):
    """``f_t(x) = scale_t * f(clip(x - shift_t)) + offset_t`` with task parameters drawn per index.

    The input is clipped into the box, so ``f`` is only ever evaluated where it is
    defined; ``max_shift`` is small enough that the shifted minimiser stays inside the
    box, so each task's minimum is ``scale_t * f* + offset_t`` at ``x* + shift_t``.
    """

    _bounds: tuple[tuple[float, float], ...]
    _base_minimizer: tuple[float, ...]
    _base_minimum: float
    _shift_limit: float

    def __init__(
        self,
        n_tasks: int,
        seed: int,
        max_shift: float,
        scale_range: tuple[float, float],
        offset_range: tuple[float, float],
    ) -> None:
        owner = type(self).__name__
        self.n_tasks = check_int(n_tasks, "n_tasks", owner, minimum=1)
        self.seed = check_int(seed, "seed", owner, minimum=0)
        self.max_shift = check_finite_number(max_shift, "max_shift", owner)
        if not 0.0 <= self.max_shift <= self._shift_limit:
            raise InvalidParameterError(
                f"The 'max_shift' parameter of {owner} must be in [0, {self._shift_limit}] so the "
                f"optimum stays in the box. Got {max_shift!r} instead."
            )
        self.scale_range = _check_range(scale_range, "scale_range", owner, positive=True)
        self.offset_range = _check_range(offset_range, "offset_range", owner, positive=False)
        self.space = _box_space(self._bounds)
        self.tasks = tuple(str(i) for i in range(self.n_tasks))
        self._transforms = [self._draw(i) for i in range(self.n_tasks)]
        self._lower = np.array([low for low, _ in self._bounds])
        self._upper = np.array([high for _, high in self._bounds])

    def _draw(self, index: int) -> TaskTransform:
        # One child seed per task index: task i is the same whatever n_tasks is.
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(index,)))
        shift = rng.uniform(-self.max_shift, self.max_shift, size=len(self._bounds))
        log_low, log_high = math.log(self.scale_range[0]), math.log(self.scale_range[1])
        scale = math.exp(rng.uniform(log_low, log_high))
        offset = rng.uniform(*self.offset_range)
        return TaskTransform(tuple(float(s) for s in shift), float(scale), float(offset))

    def transform(self, task: str) -> TaskTransform:
        """The shift, scale and offset of ``task``."""
        self._check_task(task)
        return self._transforms[int(task)]

    def optimum(self, task: str) -> float:
        t = self.transform(task)
        return t.scale * self._base_minimum + t.offset

    def argmin(self, task: str) -> dict[str, float]:
        t = self.transform(task)
        return self._point([m + s for m, s in zip(self._base_minimizer, t.shift, strict=True)])

    def _function(self, task: str, x: np.ndarray, budget: np.ndarray) -> np.ndarray:
        t = self._transforms[int(task)]
        inner = np.clip(x - np.asarray(t.shift), self._lower, self._upper)
        return t.scale * self._base(inner) + t.offset

    @abstractmethod
    def _base(self, x: np.ndarray) -> np.ndarray:
        """The unshifted function."""


class ShiftedHartmann6(_ShiftedFamily):
    """Tasks ``scale * hartmann6(x - shift) + offset``: related, but each with its own optimum.

    Args:
        n_tasks: Number of tasks, named ``"0"`` .. ``str(n_tasks - 1)``.
        seed: Seeds the task parameters; task ``i`` does not depend on ``n_tasks``.
        max_shift: Each coordinate is shifted by a uniform draw in ``[-max_shift, max_shift]``
            (at most 0.15, so the shifted minimiser stays in ``[0, 1]^6``).
        scale_range: The output scale is log-uniform in this range.
        offset_range: The output offset is uniform in this range.

    Example:
        >>> from metahpo.benchmarks.synthetic import ShiftedHartmann6
        >>> family = ShiftedHartmann6(n_tasks=4)
        >>> round(family.evaluate("2", family.argmin("2")) - family.optimum("2"), 9)
        0.0
    """

    name = "shifted_hartmann6"
    _bounds = ((0.0, 1.0),) * 6
    _base_minimizer = _HARTMANN6_MINIMIZER
    _base_minimum = _HARTMANN6_MINIMUM
    _shift_limit = 0.15

    def __init__(
        self,
        n_tasks: int = 20,
        seed: int = 0,
        max_shift: float = 0.1,
        scale_range: tuple[float, float] = (0.5, 2.0),
        offset_range: tuple[float, float] = (-1.0, 1.0),
    ) -> None:
        super().__init__(n_tasks, seed, max_shift, scale_range, offset_range)

    def _base(self, x: np.ndarray) -> np.ndarray:
        return hartmann6(x)


class ShiftedBranin(_ShiftedFamily):
    """Tasks ``scale * branin(x - shift) + offset`` on Branin's box.

    The minimiser ``(pi, 2.275)`` stays inside the box for shifts up to 2 per
    coordinate, so every task keeps the minimum ``scale * 5 / (4 pi) + offset``.

    Args:
        n_tasks: Number of tasks, named ``"0"`` .. ``str(n_tasks - 1)``.
        seed: Seeds the task parameters; task ``i`` does not depend on ``n_tasks``.
        max_shift: Each coordinate is shifted by a uniform draw in ``[-max_shift, max_shift]``.
        scale_range: The output scale is log-uniform in this range.
        offset_range: The output offset is uniform in this range.
    """

    name = "shifted_branin"
    _bounds = _BRANIN_BOUNDS
    _base_minimizer = _BRANIN_MINIMIZERS[1]
    _base_minimum = _BRANIN_MINIMUM
    _shift_limit = 2.0

    def __init__(
        self,
        n_tasks: int = 20,
        seed: int = 0,
        max_shift: float = 1.5,
        scale_range: tuple[float, float] = (0.5, 2.0),
        offset_range: tuple[float, float] = (-1.0, 1.0),
    ) -> None:
        super().__init__(n_tasks, seed, max_shift, scale_range, offset_range)

    def _base(self, x: np.ndarray) -> np.ndarray:
        return branin(x)


@dataclass(frozen=True)
class QuadraticCoefficients:
    """One task of :class:`QuadraticFamily`: ``f(x) = a/2 ||x||^2 + b . x + c``."""

    a: float
    b: tuple[float, ...]
    c: float


class QuadraticFamily(SyntheticProblem):
    """Quadratics ``f(x) = a/2 ||x||^2 + b . x + c`` on ``[-5, 5]^dim``, one ``(a, b, c)`` per task.

    The family of Perrone et al. (2018), "Scalable hyperparameter transfer learning",
    with a vector ``b``. ``a`` is log-uniform in ``[0.5, 5]``, each ``b_j`` uniform in
    ``[-2, 2]`` and ``c`` uniform in ``[-1, 1]``, so the minimiser ``-b / a`` lies in
    ``[-4, 4]^dim`` and the minimum is ``c - ||b||^2 / (2 a)``.

    Args:
        dim: Number of dimensions.
        n_tasks: Number of tasks, named ``"0"`` .. ``str(n_tasks - 1)``.
        seed: Seeds the coefficients; task ``i`` does not depend on ``n_tasks``.
    """

    name = "quadratic"

    def __init__(self, dim: int = 3, n_tasks: int = 20, seed: int = 0) -> None:
        self.dim = check_int(dim, "dim", "QuadraticFamily", minimum=1)
        self.n_tasks = check_int(n_tasks, "n_tasks", "QuadraticFamily", minimum=1)
        self.seed = check_int(seed, "seed", "QuadraticFamily", minimum=0)
        self.space = _box_space([(-5.0, 5.0)] * self.dim)
        self.tasks = tuple(str(i) for i in range(self.n_tasks))
        self._coefficients = [self._draw(i) for i in range(self.n_tasks)]

    def _draw(self, index: int) -> QuadraticCoefficients:
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(index,)))
        a = math.exp(rng.uniform(math.log(0.5), math.log(5.0)))
        b = rng.uniform(-2.0, 2.0, size=self.dim)
        c = rng.uniform(-1.0, 1.0)
        return QuadraticCoefficients(float(a), tuple(float(v) for v in b), float(c))

    def coefficients(self, task: str) -> QuadraticCoefficients:
        """The ``(a, b, c)`` of ``task``."""
        self._check_task(task)
        return self._coefficients[int(task)]

    def optimum(self, task: str) -> float:
        q = self.coefficients(task)
        return q.c - float(np.dot(q.b, q.b)) / (2.0 * q.a)

    def argmin(self, task: str) -> dict[str, float]:
        q = self.coefficients(task)
        return self._point([-v / q.a for v in q.b])

    def _function(self, task: str, x: np.ndarray, budget: np.ndarray) -> np.ndarray:
        q = self._coefficients[int(task)]
        return np.asarray(0.5 * q.a * (x**2).sum(axis=1) + x @ np.asarray(q.b) + q.c)


class MultiFidelityBranin(SyntheticProblem):
    """Branin with a budget: low budgets bias the coefficients (Kandasamy et al., 2017).

    The budget maps linearly to the fidelity ``z = (budget - min_budget) /
    (max_budget - min_budget)``; at ``z = 1`` this is exactly :class:`Branin`. Lower
    fidelities move and change the minimum, the way short training runs mislead.

    Args:
        min_budget: The smallest budget (fidelity ``z = 0``).
        max_budget: The largest budget (``z = 1``, the true Branin).

    Example:
        >>> from metahpo.benchmarks.synthetic import MultiFidelityBranin
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
