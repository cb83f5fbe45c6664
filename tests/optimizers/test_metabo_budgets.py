"""MetaBO under a scheduler: which observations reach a surrogate that knows one budget."""

from __future__ import annotations

import numpy as np
import pytest

import metahpo as mh
from metahpo.benchmarks.synthetic import MultiFidelityBranin, ShiftedBranin
from metahpo.optimizers._metabo import _at_top_budget

FAMILY = ShiftedBranin(n_tasks=6, seed=0)
DESIGN = FAMILY.space.sobol(32, seed=0)


def test_the_largest_budget_with_enough_observations_is_kept_as_full_budget():
    x = np.arange(10.0).reshape(-1, 1)
    budgets = np.array([1, 1, 1, 1, 1, 3, 3, 3, 9, 9], dtype=float)
    losses = np.arange(10.0)
    (x_kept, b_kept, y_kept), chosen = _at_top_budget(x, budgets, losses, 9.0, minimum=3)
    assert chosen == 3.0 and y_kept.tolist() == [5.0, 6.0, 7.0] and b_kept.tolist() == [9.0] * 3
    assert x_kept.ravel().tolist() == [5.0, 6.0, 7.0]
    # No budget with enough: the one with the most observations.
    (_, _, y_few), chosen = _at_top_budget(x, budgets, losses, 9.0, minimum=6)
    assert chosen == 1.0 and len(y_few) == 5
    # One budget only: everything, unchanged.
    same = np.full(10, 9.0)
    (_, b_all, y_all), chosen = _at_top_budget(x, same, losses, 9.0, minimum=3)
    assert chosen is None and len(y_all) == 10 and b_all is same


@pytest.mark.parametrize("budget_model, recorded", [("auto", True), ("top", True), ("joint", False)])
def test_under_hyperband_the_explanation_names_the_budget_fitted_on(budget_model, recorded):
    problem = MultiFidelityBranin(min_budget=1, max_budget=9)
    kb = mh.KnowledgeBase()
    for task in FAMILY.tasks[1:5]:  # full-budget knowledge: "auto" fits one budget
        kb.add_task(FAMILY.space, DESIGN, [FAMILY.evaluate(task, c) for c in DESIGN], name=task)
    optimizer = mh.MetaBO(kb, meta_steps=10, continual_steps=0, budget_model=budget_model)
    study = mh.create_study(space=problem.space, seed=0, optimizer=optimizer,
                            scheduler=mh.Hyperband(min_budget=1, max_budget=9, eta=3))
    study.optimize(lambda t: problem.evaluate(problem.tasks[0], t.config, t.budget), n_trials=16,
                   show_progress=False)
    whys = [t.user_attrs["why"] for t in study.trials if t.user_attrs.get("why", {}).get("source") == "surrogate"]
    assert whys
    mixed = [w for w in whys if "budget" in w]
    assert bool(mixed) == recorded
    for why in mixed:
        assert why["budget"] in (1.0, 3.0, 9.0) and why["observations"] >= 3


def test_a_bad_budget_model_is_refused_by_name():
    with pytest.raises(mh.InvalidParameterError, match="'budget_model' parameter of MetaBO"):
        mh.MetaBO(budget_model="lowest")
