"""Families of related synthetic tasks: shifted Branin and Hartmann-6, random quadratics.

Each task of a family is the base function moved, scaled and offset (or a quadratic with
its own coefficients), with its optimum known, so transfer methods can be checked against
the true regret.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from dataclasses import dataclass

import numpy as np

from metahpo._validation import check_finite_number, check_int
from metahpo.exceptions import InvalidParameterError
from metahpo.testing._synthetic import (
    _BRANIN_BOUNDS,
    _BRANIN_MINIMIZERS,
    _BRANIN_MINIMUM,
    _HARTMANN6_MINIMIZER,
    _HARTMANN6_MINIMUM,
    SyntheticProblem,
    _box_space,
    _check_range,
    branin,
    hartmann6,
)

__all__ = [
    "QuadraticCoefficients",
    "QuadraticFamily",
    "ShiftedBranin",
    "ShiftedHartmann6",
    "TaskTransform",
]


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
        >>> from metahpo.testing.synthetic import ShiftedHartmann6
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
