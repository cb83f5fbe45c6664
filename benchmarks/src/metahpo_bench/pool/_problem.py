"""A pool problem: each task offers a fixed set of evaluated configs, and a suggestion is
snapped to the nearest of them.

This is how HPO-B and most published transfer benchmarks are posed: an optimizer may ask
for any config of the space, but only the pool's configs have a loss, so the suggestion
is replaced by its nearest pool config (:mod:`metahpo_bench.pool._snap`) and the loss of
that config is returned. The optimizer is told that loss for the config it suggested;
asking for a config that snaps to one already evaluated costs a trial and returns the same
loss again. The regret bounds of a task are its pool's best and worst loss.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.space import Config, Space
from metahpo.testing.synthetic import Problem
from metahpo_bench.pool._snap import categorical_codes, nearest_index, numeric_unit

__all__ = ["Pool", "PoolProblem", "make_pool"]


@dataclass(frozen=True)
class Pool:
    """The evaluated configs of one task.

    Attributes:
        configs: the pool's configs; ``configs[i]`` has the loss ``losses[i]``.
        losses: ``(n,)`` finite losses.
        codes: ``(n, k)`` codes of the unordered categoricals (``-1`` where inactive).
        numeric: ``(n, m)`` unit coordinates of the other parameters.
    """

    configs: tuple[Config, ...]
    losses: np.ndarray
    codes: np.ndarray
    numeric: np.ndarray

    @property
    def best(self) -> float:
        return float(self.losses.min())

    @property
    def worst(self) -> float:
        return float(self.losses.max())


def make_pool(space: Space, configs: Sequence[Mapping[str, Any]], losses: Any) -> Pool:
    """A :class:`Pool` of ``configs`` (validated against ``space``) with their ``losses``.

    Example:
        >>> import metahpo as mh
        >>> space = mh.Space({"x": mh.Float(0.0, 1.0)})
        >>> make_pool(space, [{"x": 0.1}, {"x": 0.8}], [0.3, 0.2]).best
        0.2
    """
    clean = tuple(space.validate(c, name=f"configs[{i}]") for i, c in enumerate(configs))
    values = np.asarray(losses, dtype=float)
    if not clean or values.shape != (len(clean),) or not np.all(np.isfinite(values)):
        raise InvalidParameterError(
            f"The 'losses' of a pool must be one finite loss per config ({len(clean)} configs, "
            f"at least one). Got {describe(losses)} instead."
        )
    return Pool(clean, values, categorical_codes(space, clean), numeric_unit(space, clean))


class PoolProblem(Problem):
    """A problem whose tasks offer fixed pools of evaluated configs (see the module docstring).

    Pool problems have no budgets: every pool config was evaluated at the maximum budget
    of the problem it comes from. Subclasses set ``name``, ``space`` and ``tasks`` and
    implement :meth:`_build_pool` and :attr:`design_problem`; pools are built on first
    use and kept per task on the instance.
    """

    min_budget = None
    max_budget = None
    #: How the pools are made, for the reports.
    pool_description: str = ""

    def __init__(self) -> None:
        self._pools: dict[str, Pool] = {}

    def pool(self, task: str) -> Pool:
        """The pool of ``task``."""
        self._check_task(task)
        if task not in self._pools:
            self._pools[task] = self._build_pool(task)
        return self._pools[task]

    def nearest(self, task: str, config: Mapping[str, Any]) -> int:
        """The index in ``task``'s pool of the config that ``config`` snaps to."""
        pool = self.pool(task)
        clean = [self.space.validate(config)]
        return nearest_index(
            pool.codes,
            pool.numeric,
            categorical_codes(self.space, clean)[0],
            numeric_unit(self.space, clean)[0],
        )

    def snap(self, task: str, config: Mapping[str, Any]) -> Config:
        """The pool config of ``task`` that ``config`` snaps to."""
        return dict(self.pool(task).configs[self.nearest(task, config)])

    def bounds(self, task: str) -> tuple[float, float]:
        """``(best, worst)`` loss of ``task``'s pool: the zero and the one of its regret."""
        pool = self.pool(task)
        return pool.best, pool.worst

    @property
    @abstractmethod
    def design_problem(self) -> Problem:
        """The problem the meta-train design of transfer methods is evaluated on."""

    @abstractmethod
    def _build_pool(self, task: str) -> Pool:
        """The pool of ``task`` (a known task)."""

    def _evaluate(self, task: str, config: dict[str, Any], budget: float | None) -> float:
        del budget  # always None: pools have no budgets
        return float(self.pool(task).losses[self.nearest(task, config)])
