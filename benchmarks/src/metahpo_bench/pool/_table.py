"""Pools from a recorded meta-dataset: each task's pool is the configs evaluated on it.

A meta-dataset (:func:`metahpo_bench.metadata.load_metadata`) evaluates one design on
every task, so every task has the same pool configs with its own losses, read at one
budget (the largest by default). The meta-train data of transfer methods can only come
from the same table: the runner's design (the first ``--meta-train-size`` points of the
scrambled Sobol sequence with ``--meta-train-seed``) is looked up exactly among the
table's configs on the other tasks, as HPO-B gives the other datasets' evaluations — so
the meta-train configs are pool configs, and a design config the table lacks is refused.
"""

from __future__ import annotations

import importlib.resources
import os
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.testing.synthetic import Problem
from metahpo_bench.pool._problem import Pool, PoolProblem, make_pool

__all__ = ["KeelHGBPool", "TablePool"]


class TablePool(PoolProblem):
    """The tasks of a meta-dataset directory, each offering the table's configs at ``budget``.

    Args:
        directory: a meta-dataset written by :func:`metahpo_bench.metadata.build_metadata`.
        budget: the budget whose losses form the pools (default: the table's largest).
        name: the problem's name (default: the table's problem name + ``"-pool"``).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        budget: float | None = None,
        name: str | None = None,
    ) -> None:
        from metahpo_bench.metadata import load_metadata

        super().__init__()
        data = load_metadata(directory)
        chosen = max(data.budgets) if budget is None else budget
        if chosen not in data.budgets:
            raise InvalidParameterError(
                f"The 'budget' parameter of TablePool must be one of the table's budgets "
                f"{list(data.budgets)}. Got {describe(budget)} instead."
            )
        self.name = name or f"{data.problem}-pool"
        self.space = data.space
        self.tasks = tuple(data.tasks)
        self.budget = float(chosen)
        self.configs = tuple(data.configs)
        self._losses = data.loss_array()[:, :, data.budgets.index(chosen)]
        self._index = {key: i for i, key in enumerate(self.space.config_keys(list(self.configs)))}
        self.pool_description = (
            f"the {len(self.configs)} configs of the {data.problem} meta-dataset per task, "
            f"at budget {self.budget:g}; the meta-train design of transfer methods is looked "
            "up in the same table on the other tasks (its configs are the pool's)"
        )

    @property
    def design_problem(self) -> Problem:
        return _TableLookup(self)

    def table_index(self, config: dict[str, Any]) -> int | None:
        """The row of ``config`` in the table (exact identity), else ``None``."""
        return self._index.get(self.space.config_key(config))

    def loss_at(self, task: str, index: int) -> float:
        return float(self._losses[self.tasks.index(task), index])

    def _build_pool(self, task: str) -> Pool:
        return make_pool(self.space, self.configs, self._losses[self.tasks.index(task)])


class _TableLookup(Problem):
    """The table itself, without snapping: the meta-train design must be table configs."""

    def __init__(self, table: TablePool) -> None:
        self.table = table
        self.name = table.name
        self.space = table.space
        self.tasks = table.tasks

    def _evaluate(self, task: str, config: dict[str, Any], budget: float | None) -> float:
        index = self.table.table_index(config)
        if index is None:
            raise InvalidParameterError(
                f"The meta-train design of {self.name} must be configs of its table "
                f"({len(self.table.configs)} configs); the config {describe(config)} is not one. "
                "Keep --meta-train-seed and --meta-train-size to the table's design "
                "(the keel-hgb table: seed 0, at most 64 configs)."
            )
        return self.table.loss_at(task, index)


def _bundled(name: str) -> str:
    return str(importlib.resources.files("metahpo.knowledge").joinpath("data").joinpath(name))


class KeelHGBPool(TablePool):
    """``keel-hgb-pool``: the bundled keel-hgb meta-data, 64 configs per KEEL dataset at 81 rounds.

    Example:
        >>> from metahpo_bench import get_problem
        >>> problem = get_problem("keel-hgb-pool")
        >>> len(problem.tasks), len(problem.pool("iris").configs)
        (43, 64)
        >>> best, worst = problem.bounds("iris")
        >>> best == min(problem.evaluate("iris", c) for c in problem.pool("iris").configs)
        True
    """

    def __init__(self, directory: str | os.PathLike[str] | None = None) -> None:
        super().__init__(directory or _bundled("keel-hgb"), budget=None, name="keel-hgb-pool")
