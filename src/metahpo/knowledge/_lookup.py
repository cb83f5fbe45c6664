"""A task's loss at any config: exact where it was evaluated, else its nearest neighbour."""

from __future__ import annotations

import functools
import hashlib
import math
from collections.abc import Sequence

import numpy as np

from metahpo.knowledge._task import Task
from metahpo.space import round_unit

__all__ = ["LossLookup"]



class LossLookup:
    """Predicts ``task``'s loss at unit-cube points by the nearest evaluated config.

    Evaluations are grouped by budget level; a query at budget ``b`` reads the level
    nearest to ``b`` on a log scale (the largest level when ``b`` is ``None``). Repeated
    configs at one level (e.g. rows that differed only in a parameter the mapping
    dropped) are averaged. Distances ignore the task's ``missing`` parameters. A query
    at an evaluated config returns its loss exactly.
    """

    def __init__(self, task: Task) -> None:
        from scipy.spatial import cKDTree

        self.task = task
        space = task.space
        self._columns = np.array(
            []
            if space is None
            else [j for j, n in enumerate(space.names) if n not in task.missing],
            dtype=int,
        )
        self._levels: list[float | None] = task.budget_levels()
        self._trees: list[cKDTree] = []
        self._values: list[np.ndarray] = []
        self._points: list[np.ndarray] = []
        for level in self._levels:
            part = task.at_budget(level) if level is not None else task
            unit = (
                part.unit[:, self._columns]
                if len(self._columns)
                else np.zeros((len(part.losses), 1))
            )
            keys, inverse = np.unique(round_unit(unit), axis=0, return_inverse=True)
            inverse = inverse.ravel()
            sums = np.bincount(inverse, weights=part.losses, minlength=len(keys))
            counts = np.bincount(inverse, minlength=len(keys))
            self._points.append(keys)
            self._values.append(sums / counts)
            self._trees.append(cKDTree(keys))

    @property
    def levels(self) -> list[float | None]:
        return list(self._levels)

    def level_index(self, budget: float | None) -> int:
        if budget is None or self._levels[-1] is None:
            return len(self._levels) - 1
        logs = np.log([max(float(b), 1e-300) for b in self._levels])  # type: ignore[arg-type]
        return int(np.argmin(np.abs(logs - math.log(max(float(budget), 1e-300)))))

    @functools.cached_property
    def design(self) -> bytes:
        """What the nearest-config search depends on (the columns, the budget levels and each
        level's distinct configs): lookups of one design find the same neighbours."""
        digest = hashlib.sha256(self._columns.tobytes() + repr(self._levels).encode())
        for points in self._points:
            digest.update(repr(points.shape).encode() + np.ascontiguousarray(points).tobytes())
        return digest.digest()

    def neighbours(
        self, unit: np.ndarray, budgets: Sequence[float | None] | np.ndarray | float | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The budget level and the nearest evaluated config (an index into that level) of
        each row of ``unit``; :meth:`values_at` reads the losses there."""
        points = np.atleast_2d(np.asarray(unit, dtype=float))
        query = points[:, self._columns] if len(self._columns) else np.zeros((len(points), 1))
        if budgets is None or np.isscalar(budgets):
            level_of_row = np.full(len(points), self.level_index(budgets))  # type: ignore[arg-type]
        else:
            given = list(budgets)  # type: ignore[arg-type]
            if any(b is None for b in given):
                level_of_row = np.array([self.level_index(b) for b in given], dtype=int)
            else:
                # A meta-dataset's rows repeat a few budgets: each distinct one's level once.
                distinct, inverse = np.unique(np.asarray(given, dtype=float), return_inverse=True)
                level_of_row = np.array([self.level_index(b) for b in distinct], dtype=int)[inverse.ravel()]
        nearest = np.empty(len(points), dtype=int)
        for level in np.unique(level_of_row):
            rows = np.flatnonzero(level_of_row == level)
            _, found = self._trees[level].query(round_unit(query[rows]), k=1)
            nearest[rows] = np.asarray(found, dtype=int)
        return level_of_row, nearest

    def values_at(self, level_of_row: np.ndarray, nearest: np.ndarray) -> np.ndarray:
        """The losses at :meth:`neighbours`' answer (of this lookup or one of the same design)."""
        out = np.empty(len(nearest))
        for level in np.unique(level_of_row):
            rows = level_of_row == level
            out[rows] = self._values[level][nearest[rows]]
        return out

    def predict(
        self, unit: np.ndarray, budgets: Sequence[float | None] | np.ndarray | float | None = None
    ) -> np.ndarray:
        """Losses at the rows of ``unit`` (``(m, d)`` in the task's space)."""
        return self.values_at(*self.neighbours(unit, budgets))

    def final(self) -> tuple[np.ndarray, np.ndarray]:
        """The distinct configs (unit cube, non-missing columns) and mean losses at the largest budget."""
        return self._points[-1], self._values[-1]
