"""The budget an optimizer may spend on one run, and the clock that records each evaluation."""

from __future__ import annotations

import math
import time
from collections.abc import Hashable, Mapping
from typing import Any

from metahpo.exceptions import MetahpoError
from metahpo.testing.synthetic import Problem
from metahpo_bench.pool import PoolProblem
from metahpo_bench.runner._records import Record

__all__ = ["BudgetExhausted", "Evaluator", "budget_steps"]


class BudgetExhausted(Exception):
    """Raised by :class:`Evaluator` when the run's total budget is spent."""


class Evaluator:
    """Evaluates configs for one run, counts the budget and times each evaluation.

    The run may spend ``n_full_evals`` full-budget-equivalent evaluations:
    ``n_full_evals * max_budget`` in budget units (``n_full_evals`` evaluations for a
    problem without fidelity). An evaluation that starts before the budget is spent
    is completed and recorded even if it overshoots; asking for one afterwards raises
    :class:`BudgetExhausted`. ``wall_time`` of a record is the time since the previous
    evaluation ended (the optimizer's own work) plus the evaluation. Each record also
    counts the distinct configs evaluated so far (:meth:`identity`).

    Two accountings: *restart* (the default) charges every evaluation its full budget;
    with ``continuation=True``, an evaluation that names the evaluation it continues
    (``parent_budget``: a promotion resuming its parent's checkpoint) is charged
    ``budget - parent_budget``, and its record keeps ``parent_budget``. Evaluations that
    name no parent cost their full budget under both.
    """

    def __init__(
        self,
        problem: Problem,
        task: str,
        optimizer: str,
        seed: int,
        n_full_evals: int,
        continuation: bool = False,
    ) -> None:
        self.problem = problem
        self.task = task
        self.optimizer = optimizer
        self.seed = seed
        self.continuation = continuation
        self.full_budget = 1.0 if problem.max_budget is None else float(problem.max_budget)
        self.total_budget = n_full_evals * self.full_budget
        self.cum_budget = 0.0
        self.records: list[Record] = []
        self._seen: set[Hashable] = set()
        self._clock = time.perf_counter()

    @property
    def exhausted(self) -> bool:
        """Whether the budget is spent (with a relative tolerance for float sums)."""
        return self.cum_budget >= self.total_budget * (1.0 - 1e-9)

    @property
    def remaining(self) -> float:
        return max(self.total_budget - self.cum_budget, 0.0)

    def restart_clock(self) -> None:
        """Start timing the next evaluation now (after a peer's process has started)."""
        self._clock = time.perf_counter()

    def snap(self, budget: float | None) -> float | None:
        """``budget`` as the problem takes it: ``None`` without fidelity, rounded for integer budgets."""
        if self.problem.max_budget is None or budget is None:
            return None if self.problem.max_budget is None else float(self.problem.max_budget)
        if self.problem.integer_budget:
            low = math.ceil(self.problem.min_budget or 1)
            return float(min(max(round(budget), low), self.problem.max_budget))
        return float(budget)

    def cost(self, budget: float | None, parent_budget: float | None = None) -> float:
        """What an evaluation at ``budget`` is charged (``budget`` as :meth:`snap` gives it)."""
        if budget is None or self.problem.max_budget is None:
            return self.full_budget
        parent = self.charged_parent(parent_budget)
        return float(budget) if parent is None else max(float(budget) - parent, 0.0)

    def charged_parent(self, parent_budget: float | None) -> float | None:
        """The parent budget a continuation is not charged: ``None`` under restart accounting."""
        if not self.continuation or parent_budget is None or self.problem.max_budget is None:
            return None
        return self.snap(parent_budget)

    def __call__(
        self,
        config: Mapping[str, Any],
        budget: float | None = None,
        parent_budget: float | None = None,
    ) -> float:
        """The loss of ``config`` at ``budget``; recorded, and counted against the budget.

        ``parent_budget`` is the budget of the evaluation this one continues, if any.
        """
        if self.exhausted:
            raise BudgetExhausted
        budget = self.snap(budget)
        loss = self.problem.evaluate(self.task, config, budget)
        return self.account(budget, loss, parent_budget=parent_budget, config=config)

    def identity(self, config: Mapping[str, Any]) -> Hashable:
        """What makes two evaluated configs the same: the pool config a suggestion snaps
        to on a pool problem, else the space's config identity (:meth:`Space.config_key`)."""
        if isinstance(self.problem, PoolProblem):
            return self.problem.nearest(self.task, config)
        return self.problem.space.config_key(self.problem.space.validate(config))

    def account(
        self,
        budget: float | None,
        loss: float,
        cost: float | None = None,
        wall_time: float | None = None,
        sim_time: float | None = None,
        parent_budget: float | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> float:
        """Record an evaluation made elsewhere (e.g. a pruned run's last report).

        ``wall_time`` replaces the time since the previous record (for evaluations that
        are recorded later than they ran, as with simulated parallel workers);
        ``sim_time`` is the simulated clock at which the evaluation completed;
        ``parent_budget`` is the budget of the evaluation this one continues. With the
        evaluated ``config`` the record counts the distinct configs so far; without it
        that count is left out.
        """
        if not math.isfinite(loss):
            raise MetahpoError(
                f"{self.problem.name} returned the non-finite loss {loss!r} on task {self.task!r} "
                f"at budget {budget!r}; a benchmark problem must return finite losses."
            )
        self.cum_budget += self.cost(budget, parent_budget) if cost is None else cost
        if config is not None:
            self._seen.add(self.identity(config))
        now = time.perf_counter()
        self.records.append(
            Record(
                problem=self.problem.name,
                task=self.task,
                optimizer=self.optimizer,
                seed=self.seed,
                trial=len(self.records),
                budget=None if budget is None else float(budget),
                loss=float(loss),
                cum_budget=self.cum_budget,
                wall_time=now - self._clock if wall_time is None else wall_time,
                sim_time=sim_time,
                parent_budget=self.charged_parent(parent_budget),
                distinct_configs=None if config is None else len(self._seen),
            )
        )
        self._clock = time.perf_counter()
        return loss


def budget_steps(problem: Problem, eta: float = 3.0) -> list[float]:
    """The geometric budget ladder ``max_budget / eta**k`` down to ``min_budget`` (ascending).

    Integer-budget problems get integer steps. Used as Hyperband's rungs by the peers
    that need explicit steps (Optuna's pruner).
    """
    if problem.max_budget is None:
        return []
    low = float(problem.min_budget if problem.min_budget is not None else problem.max_budget)
    steps = [float(problem.max_budget)]
    while steps[-1] / eta >= low * (1.0 - 1e-9):
        steps.append(steps[-1] / eta)
    if problem.integer_budget:
        steps = [float(max(round(s), math.ceil(low))) for s in steps]
    return sorted(set(steps))
