"""The lowest rung chosen on past tasks' multi-fidelity evaluations."""

from __future__ import annotations

import numpy as np
import pytest

import metahpo as mh
from metahpo.exceptions import InvalidParameterError
from metahpo.schedulers import min_budget_from_knowledge

SPACE = mh.Space({"x": mh.Float(0.0, 1.0), "y": mh.Float(0.0, 1.0)})
BUDGETS = (1, 3, 9, 27)


def _knowledge(low_budget_noise: float, n_tasks: int = 4) -> mh.KnowledgeBase:
    """Tasks whose budget-b loss is the full loss plus noise shrinking as 1/b."""
    design = SPACE.sobol(64, seed=0)
    kb = mh.KnowledgeBase()
    for k in range(n_tasks):
        rng = np.random.default_rng(k)
        optimum = rng.uniform(size=2)
        full = np.array([np.hypot(c["x"] - optimum[0], c["y"] - optimum[1]) for c in design])
        configs, losses, budgets = [], [], []
        for b in BUDGETS:
            noise = low_budget_noise * rng.standard_normal(len(design)) * (BUDGETS[-1] / b - 1)
            configs += design
            losses += list(full + noise)
            budgets += [b] * len(design)
        kb.add_task(SPACE, configs, losses, budgets=budgets, name=f"task{k}")
    return kb


def test_low_budgets_that_rank_like_the_full_budget_give_the_lowest_rung() -> None:
    choice = min_budget_from_knowledge(_knowledge(0.0), SPACE, max_budget=27, eta=3)
    assert choice.min_budget == 1
    assert isinstance(choice.min_budget, int)
    assert choice.n_tasks == 4
    assert sorted(choice.quantile_regret) == [1, 3, 9, 27]
    # Screening more configs cheaply only helps when the ranking holds.
    assert choice.quantile_regret[1] < choice.quantile_regret[27]


def test_low_budgets_that_rank_at_random_keep_the_full_budget() -> None:
    choice = min_budget_from_knowledge(_knowledge(10.0), SPACE, max_budget=27, eta=3)
    assert choice.min_budget >= 9
    assert choice.quantile_regret[1] > choice.quantile_regret[choice.min_budget]


def test_budgets_of_the_knowledge_are_matched_to_the_ladder_within_a_factor() -> None:
    # lcbench's meta-data at 2, 6, 17 and 52 epochs serves a 52-epoch ladder (1.93, 5.8, 17.3).
    design = SPACE.sobol(32, seed=1)
    kb = mh.KnowledgeBase()
    for k in range(3):
        losses = [abs(c["x"] - 0.1 * k) for c in design]
        kb.add_task(SPACE, design * 4, losses * 4, budgets=[b for b in (2, 6, 17, 52) for _ in design],
                    name=f"t{k}")
    choice = min_budget_from_knowledge(kb, SPACE, max_budget=52.0, eta=3)
    assert choice.min_budget == pytest.approx(52 / 27)
    assert len(choice.quantile_regret) == 4


def test_knowledge_without_lower_budgets_is_refused_by_name() -> None:
    kb = mh.KnowledgeBase()
    design = SPACE.sobol(32, seed=0)
    kb.add_task(SPACE, design, [c["x"] for c in design], name="full only")
    with pytest.raises(InvalidParameterError, match="'knowledge' parameter of min_budget_from_knowledge"):
        min_budget_from_knowledge(kb, SPACE, max_budget=27)
    with pytest.raises(InvalidParameterError, match="'knowledge' parameter"):
        min_budget_from_knowledge("not a knowledge base", SPACE, max_budget=27)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'eta'"):
        min_budget_from_knowledge(_knowledge(0.0, n_tasks=1), SPACE, max_budget=27, eta=1)


def test_the_choice_builds_a_scheduler() -> None:
    choice = min_budget_from_knowledge(_knowledge(0.0, n_tasks=2), SPACE, max_budget=27)
    asha = mh.ASHA(min_budget=choice.min_budget, max_budget=27, eta=3)
    assert asha.rung_budget(0) == choice.min_budget
