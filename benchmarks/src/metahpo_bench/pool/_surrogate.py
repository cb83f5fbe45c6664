"""Pools drawn from a continuous problem: seeded random configs scored at its maximum budget.

As in HPO-B, each task has its own pool: ``pool_size`` configs drawn uniformly in the unit
cube (log-uniform for log parameters, conditions respected) with the seed
``(pool_seed, crc32(task))`` — so a task's pool does not change when tasks are added —
and evaluated once at the maximum budget. The meta-train design the runner gives transfer
methods is a scrambled Sobol sequence evaluated on the continuous problem itself
(:attr:`SurrogatePool.design_problem`), so the pools are drawn independently of it and
share no config with it (with probability one; the tests check the default sizes).
"""

from __future__ import annotations

import os
import zlib
from typing import Any

import numpy as np

from metahpo._validation import check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.testing.synthetic import Problem
from metahpo_bench.pool._problem import Pool, PoolProblem, make_pool

__all__ = ["LCBenchPool", "RBv2XGBoostPool", "SurrogatePool"]


class SurrogatePool(PoolProblem):
    """Per-task pools of ``pool_size`` seeded random configs of ``base`` at its maximum budget.

    Args:
        base: the continuous problem the pools are drawn from and scored on.
        pool_size: configs per task.
        pool_seed: seeds every task's draw together with the task's name.

    Example:
        >>> from metahpo.testing.synthetic import ShiftedBranin
        >>> problem = SurrogatePool(ShiftedBranin(n_tasks=3), pool_size=50)
        >>> problem.name, len(problem.pool("0").configs)
        ('shifted_branin-pool', 50)
        >>> config = problem.space.sample(0, 1)[0]
        >>> problem.evaluate("0", config) == problem.evaluate("0", problem.snap("0", config))
        True
    """

    def __init__(self, base: Problem, pool_size: int = 500, pool_seed: int = 0) -> None:
        super().__init__()
        if not isinstance(base, Problem) or isinstance(base, PoolProblem):
            raise InvalidParameterError(
                f"The 'base' parameter of SurrogatePool must be a continuous Problem. Got {describe(base)} instead."
            )
        self.base = base
        self.pool_size = check_int(pool_size, "pool_size", "SurrogatePool", minimum=1)
        self.pool_seed = check_int(pool_seed, "pool_seed", "SurrogatePool", minimum=0)
        self.name = f"{base.name}-pool"
        self.space = base.space
        self.tasks = tuple(base.tasks)
        self.pool_description = (
            f"{self.pool_size} uniform random configs per task (seed ({self.pool_seed}, crc32(task))), "
            f"scored by {base.name} at its maximum budget; the meta-train design of transfer "
            f"methods is scored on {base.name} itself, independently of the pools"
        )

    @property
    def design_problem(self) -> Problem:
        return self.base

    def descriptor(self, task: str) -> np.ndarray | None:
        return self.base.descriptor(task)

    def pool_configs(self, task: str) -> list[dict[str, Any]]:
        """The configs of ``task``'s pool, before they are scored."""
        self._check_task(task)
        rng = np.random.default_rng([self.pool_seed, zlib.crc32(task.encode("utf-8"))])
        return self.space.sample(rng, self.pool_size)

    def _build_pool(self, task: str) -> Pool:
        configs = self.pool_configs(task)
        budget = self.base.max_budget
        batch = getattr(self.base, "evaluate_batch", None)
        if batch is None:
            losses = [self.base.evaluate(task, config, budget) for config in configs]
        else:
            losses = list(np.asarray(batch(task, configs, budget), dtype=float))
        return make_pool(self.space, configs, losses)


class LCBenchPool(SurrogatePool):
    """``lcbench-pool``: per-task pools of 500 random LCBench configs at 52 epochs (YAHPO surrogate)."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        n_threads: int = 1,
        pool_size: int = 500,
        pool_seed: int = 0,
    ) -> None:
        from metahpo_bench.yahpo import LCBench

        super().__init__(LCBench(data_dir, n_threads), pool_size, pool_seed)


class RBv2XGBoostPool(SurrogatePool):
    """``rbv2_xgboost-pool``: per-task pools of 500 random XGBoost configs at trainsize 1 (YAHPO surrogate)."""

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        n_threads: int = 1,
        pool_size: int = 500,
        pool_seed: int = 0,
    ) -> None:
        from metahpo_bench.yahpo import RBv2XGBoost

        super().__init__(RBv2XGBoost(data_dir, n_threads), pool_size, pool_seed)
