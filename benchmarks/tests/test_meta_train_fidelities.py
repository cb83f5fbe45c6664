"""Multi-fidelity meta-train data: the design at lower budgets too, for MetaBO to model."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

import metahpo as mh
from metahpo.exceptions import InvalidParameterError
from metahpo_bench import get_problem
from metahpo_bench.runner._meta_train import MetaTrainData, build_meta_train
from metahpo_bench.runner._metahpo import _knowledge
from metahpo_bench.runner._run import parse_meta_train_budgets


def test_the_design_is_evaluated_and_cached_at_each_lower_budget(tmp_path: Path) -> None:
    problem = get_problem("mf_branin")
    data = build_meta_train(problem, ["0"], size=8, seed=0, cache_dir=tmp_path, budgets=(1.0, 10.0, 100.0))
    assert set(data.fidelities["0"]) == {1.0, 10.0}  # the maximum budget is the main row
    assert data.fidelities["0"][10.0][3] == problem.evaluate("0", data.configs[3], 10.0)
    assert data.losses["0"][3] == problem.evaluate("0", data.configs[3], 100.0)
    assert len(list(tmp_path.rglob("*-b10.json"))) == 1
    again = build_meta_train(problem, ["0"], size=8, seed=0, cache_dir=tmp_path, budgets=(1.0, 10.0))
    assert again == data
    assert MetaTrainData.from_dict(json.loads(json.dumps(data.to_dict()))) == data
    assert data.restricted([]).fidelities == {}
    assert "fidelities" not in build_meta_train(problem, ["0"], size=8, seed=0).to_dict()


def test_meta_train_budgets_parse() -> None:
    assert parse_meta_train_budgets(None, "mf_branin") == ()
    assert parse_meta_train_budgets("1,3.5", "mf_branin") == (1.0, 3.5)
    steps = parse_meta_train_budgets("hyperband", "mf_branin", eta=3)
    assert steps and max(steps) < 100.0 and list(steps) == sorted(steps)
    with pytest.raises(InvalidParameterError, match="'meta-train-budgets' option"):
        parse_meta_train_budgets("1,-2", "mf_branin")


def test_the_knowledge_holds_every_budget_and_the_portfolio_the_full_one() -> None:
    space = mh.Space({"x": mh.Float(0.0, 1.0)})
    configs = [{"x": v} for v in (0.1, 0.5, 0.9)]
    full = {"a": (3.0, 1.0, 2.0), "b": (2.0, 1.5, 3.0)}
    low = {"a": {1.0: (0.0, 9.0, 9.0)}, "b": {1.0: (0.0, 9.0, 9.0)}}
    problem = SimpleNamespace(space=space, max_budget=9.0)

    def knowledge(data: MetaTrainData) -> mh.KnowledgeBase:
        return _knowledge(SimpleNamespace(problem=problem, meta_train=data))

    kb = knowledge(MetaTrainData(tuple(configs), full, low))
    assert [t.budget_levels() for t in kb] == [[1.0, 9.0], [1.0, 9.0]]
    plain = knowledge(MetaTrainData(tuple(configs), full))
    # The low-budget rows (best at x=0.1) do not move the portfolio off the full-budget best.
    assert kb.portfolio(space, size=1) == plain.portfolio(space, size=1) == [{"x": 0.5}]
