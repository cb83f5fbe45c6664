"""Optuna + HyperbandPruner on training problems: one fit per ladder segment, same losses."""

from __future__ import annotations

from typing import Any

import pytest

from metahpo_bench import get_problem
from metahpo_bench.runner._optuna import _staged_losses, report_steps


class _Counting:
    """Wraps a problem and notes the largest budget of each ``evaluate_budgets`` call."""

    def __init__(self, problem: Any) -> None:
        self.problem = problem
        self.fits: list[float] = []
        for name in ("name", "min_budget", "max_budget", "integer_budget", "space"):
            setattr(self, name, getattr(problem, name))

    def evaluate(self, task: str, config: Any, budget: float) -> float:
        return float(self.problem.evaluate(task, config, budget))

    def evaluate_budgets(self, task: str, config: Any, budgets: list[float]) -> list[float]:
        self.fits.append(max(budgets))
        return list(self.problem.evaluate_budgets(task, config, budgets))


def test_staged_losses_equal_fresh_fits_and_fit_once_per_segment() -> None:
    problem = _Counting(get_problem("keel-hgb"))
    config = problem.space.sobol(1, seed=0)[0]
    steps = report_steps(problem)  # type: ignore[arg-type]
    loss_at = _staged_losses(problem, "iris", config, steps, eta=3)  # type: ignore[arg-type]
    reached = [b for b in steps if b <= 10]
    losses = [loss_at(b) for b in reached]
    assert problem.fits == [1.0, 3.0, 9.0, 27.0]  # a run that reached 10 rounds
    fresh = [problem.evaluate("iris", config, b) for b in (1.0, 2.0, 7.0, 10.0)]
    assert [losses[reached.index(b)] for b in (1.0, 2.0, 7.0, 10.0)] == pytest.approx(fresh)


def test_problems_without_evaluate_budgets_evaluate_each_step() -> None:
    problem = get_problem("mf_branin", min_budget=1, max_budget=27)
    config = {"x0": 1.0, "x1": 2.0}
    loss_at = _staged_losses(problem, "0", config, [1.0, 2.0], eta=3)
    assert loss_at(2.0) == problem.evaluate("0", config, 2.0)
