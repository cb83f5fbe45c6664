"""Pool problems: snapping to the nearest pool config, repeats, pool regret bounds, distinct configs."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import metahpo as mh
from metahpo.exceptions import InvalidParameterError
from metahpo.testing.synthetic import Problem, ShiftedBranin
from metahpo_bench import get_problem
from metahpo_bench.pool import (
    PoolProblem,
    SurrogatePool,
    TablePool,
    make_pool,
    nearest_index,
)
from metahpo_bench.runner import (
    BenchmarkSpec,
    Evaluator,
    Record,
    TaskBounds,
    build_meta_train,
    make_adapter,
    read_records,
    run_benchmark,
    summarize,
)
from metahpo_bench.runner._configspace import from_configspace
from metahpo_bench.runner._regret import pool_bounds
from metahpo_bench.runner._report import build_curves, summary_rows
from metahpo_bench.yahpo import default_data_dirs

UNIT = TaskBounds(0.0, 1.0)


def _yahpo_available() -> bool:
    return any((path / "lcbench" / "model.onnx").is_file() for path in default_data_dirs())


class _Mixed(PoolProblem):
    """A hand-made pool over a space with a conditional categorical, for snapping rules."""

    name = "mixed-pool"
    pool_description = "hand-made"
    space = mh.Space(
        {
            "kind": mh.Categorical(["a", "b", "c"]),
            "x": mh.Float(0.0, 1.0),
            "depth": mh.Int(1, 5),
        },
        {"depth": mh.Equals("kind", "b")},
    )
    tasks = ("t",)
    configs = (
        {"kind": "a", "x": 0.50},
        {"kind": "b", "x": 0.90, "depth": 5},
        {"kind": "b", "x": 0.10, "depth": 1},
        {"kind": "c", "x": 0.52},
    )

    @property
    def design_problem(self) -> Problem:
        return self

    def _build_pool(self, task: str) -> Any:
        return make_pool(self.space, self.configs, [0.4, 0.3, 0.2, 0.1])


def test_nearest_index_prefers_matching_categoricals_then_distance_then_low_index() -> None:
    codes = np.array([[0, 0], [1, 0], [1, 1], [1, 1]])
    numeric = np.array([[0.50], [0.00], [0.80], [0.80]])
    # The first row is nearest in x but its category differs: the exact match wins.
    assert nearest_index(codes, numeric, np.array([1, 1]), np.array([0.5])) == 2  # tie: lowest
    # No row has categories (0, 1): the rows with one match are the candidates.
    assert nearest_index(codes, numeric, np.array([0, 1]), np.array([0.7])) == 2
    assert nearest_index(codes, numeric, np.array([0, 1]), np.array([0.4])) == 0


def test_snapping_picks_the_nearest_pool_config_in_the_unit_cube() -> None:
    problem = SurrogatePool(ShiftedBranin(n_tasks=3, seed=1), pool_size=40)
    pool = problem.pool("2")
    unit = problem.space.to_unit(list(pool.configs))
    for config in problem.space.sample(np.random.default_rng(5), 25):
        brute = np.argmin(((unit - problem.space.to_unit([config])[0]) ** 2).sum(axis=1))
        assert problem.nearest("2", config) == brute
        assert problem.evaluate("2", config) == pool.losses[brute]
    # A pool config snaps to itself.
    assert all(problem.nearest("2", c) == i for i, c in enumerate(pool.configs))


def test_snapping_matches_categoricals_exactly_and_respects_conditions() -> None:
    problem = _Mixed()
    # x = 0.5 is nearest to the "a" config, but a "b" suggestion snaps among the "b" ones.
    assert problem.nearest("t", {"kind": "b", "x": 0.5, "depth": 4}) == 1
    assert problem.nearest("t", {"kind": "b", "x": 0.5, "depth": 2}) == 2
    assert problem.nearest("t", {"kind": "c", "x": 0.0}) == 3
    assert problem.snap("t", {"kind": "a", "x": 1.0}) == {"kind": "a", "x": 0.5}
    with pytest.raises(InvalidParameterError, match="depth"):
        problem.nearest("t", {"kind": "a", "x": 0.5, "depth": 2})  # inactive key


def test_repeats_cost_a_trial_return_the_same_loss_and_are_not_distinct() -> None:
    problem = _Mixed()
    evaluator = Evaluator(problem, "t", "x", 0, n_full_evals=4)
    first = evaluator({"kind": "b", "x": 0.85, "depth": 4})
    again = evaluator({"kind": "b", "x": 0.95, "depth": 5})  # the same pool config
    other = evaluator({"kind": "c", "x": 0.3})
    assert first == again == 0.3 and other == 0.1
    assert [r.cum_budget for r in evaluator.records] == [1.0, 2.0, 3.0]
    assert [r.budget for r in evaluator.records] == [None, None, None]
    assert [r.distinct_configs for r in evaluator.records] == [1, 1, 2]


def test_distinct_configs_on_continuous_problems_use_config_identity() -> None:
    evaluator = Evaluator(get_problem("branin"), "0", "x", 0, n_full_evals=3)
    for config in ({"x0": 1.0, "x1": 2.0}, {"x0": 1.0, "x1": 2.0}, {"x0": 1.5, "x1": 2.0}):
        evaluator(config)
    assert [r.distinct_configs for r in evaluator.records] == [1, 1, 2]
    line = json.loads(evaluator.records[0].to_json())
    assert line["distinct_configs"] == 1
    del line["distinct_configs"]  # a line written before the field existed
    assert Record.from_dict(line).distinct_configs is None


def test_bounds_come_from_the_pool() -> None:
    problem = SurrogatePool(ShiftedBranin(n_tasks=2), pool_size=30)
    losses = problem.pool("1").losses
    bounds = pool_bounds(problem, "1")
    assert (bounds.low, bounds.high) == (losses.min(), losses.max())
    assert bounds.regret(losses.min()) == 0.0 and bounds.regret(losses.max()) == 1.0
    # The pool's best is worse than the function's optimum: regret 0 is the pool's best.
    assert ShiftedBranin(n_tasks=2).optimum("1") < bounds.low
    with pytest.raises(InvalidParameterError, match="pool problem"):
        pool_bounds(get_problem("branin"), "0")  # type: ignore[arg-type]


def test_summary_counts_distinct_configs_at_checkpoints() -> None:
    def record(trial: int, loss: float, distinct: int) -> Record:
        return Record("p", "t", "o", 0, trial, None, loss, trial + 1.0, 0.0, None, distinct_configs=distinct)

    records = [record(i, 1.0 - 0.1 * i, d) for i, d in enumerate([1, 2, 2, 2, 3, 3])]
    curves = build_curves(records, {"t": UNIT}, 1.0, 6)
    rows = {r["full_budget_evals"]: r for r in summary_rows(curves, 6)}
    assert rows[5]["mean_distinct_configs"] == 3.0
    assert rows[6]["mean_distinct_configs"] == 3.0
    old = [Record("p", "t", "o", 0, 0, None, 0.5, 1.0, 0.0)]  # no count recorded
    row = summary_rows(build_curves(old, {"t": UNIT}, 1.0, 1), 1)[0]
    assert np.isnan(row["mean_distinct_configs"])


def test_keel_hgb_pool_is_the_bundled_table_and_the_design_is_looked_up() -> None:
    problem = get_problem("keel-hgb-pool")
    assert isinstance(problem, TablePool) and problem.max_budget is None
    pool = problem.pool("iris")
    assert len(pool.configs) == 64 and problem.bounds("iris") == (pool.best, pool.worst)
    # The runner's default meta-train design (64 Sobol configs, seed 0) is the table's configs.
    design = build_meta_train(problem.design_problem, ["iris", "wine"], size=64, seed=0)
    keys = problem.space.config_keys(list(pool.configs))
    assert problem.space.config_keys(list(design.configs)) == keys
    np.testing.assert_allclose(design.losses["iris"], pool.losses)
    with pytest.raises(InvalidParameterError, match="must be configs of its table"):
        build_meta_train(problem.design_problem, ["iris"], size=8, seed=1)


@pytest.mark.skipif(not _yahpo_available(), reason="needs the YAHPO data (../shared/data/yahpo)")
def test_surrogate_pools_are_seeded_per_task_and_apart_from_the_design() -> None:
    problem = get_problem("rbv2_xgboost-pool", pool_size=200)
    assert isinstance(problem, SurrogatePool) and problem.design_problem.name == "rbv2_xgboost"
    task, other = problem.tasks[:2]
    keys = set(problem.space.config_keys(problem.pool_configs(task)))
    assert keys == set(problem.space.config_keys(problem.pool_configs(task)))  # seeded
    assert not keys & set(problem.space.config_keys(problem.pool_configs(other)))
    design = problem.space.sobol(256, seed=0)
    assert not keys & set(problem.space.config_keys(design))
    pool = problem.pool(task)
    expected = problem.design_problem.evaluate(task, pool.configs[7], 1.0)
    assert pool.losses[7] == pytest.approx(expected)
    # Booster matches exactly: a gblinear suggestion lands on a gblinear pool config.
    linear = next(c for c in problem.space.sample(3, 50) if c["booster"] == "gblinear")
    assert problem.snap(task, linear)["booster"] == "gblinear"


def test_a_pool_run_end_to_end(tmp_path: Path) -> None:
    spec = BenchmarkSpec(
        problem="keel-hgb-pool",
        optimizers=("random", "portfolio"),
        seeds=(0,),
        n_full_evals=12,
        tasks=("iris",),
        jobs=1,
    )
    outcome = run_benchmark(spec, tmp_path, cache_dir=tmp_path / "cache")
    assert outcome.status["random"].startswith("ran 1 of 1 runs")
    assert outcome.status["portfolio"].startswith("ran 1 of 1 runs")
    records = list(read_records(tmp_path / "results.jsonl"))
    problem = get_problem("keel-hgb-pool")
    pool_losses = set(problem.pool("iris").losses.tolist())
    assert len(records) == 24 and all(r.loss in pool_losses for r in records)
    for name in ("random", "portfolio"):
        counts = [r.distinct_configs for r in records if r.optimizer == name]
        assert counts[0] == 1 and set(np.diff(np.array(counts, dtype=int))) <= {0, 1}
    summarize(tmp_path, tmp_path / "cache")
    assert json.loads((tmp_path / "bounds.json").read_text()) == {
        "iris": list(problem.bounds("iris"))
    }
    rows = list(csv.DictReader((tmp_path / "summary.csv").open()))
    at_12 = {r["optimizer"]: r for r in rows if r["full_budget_evals"] == "12"}
    for name in ("random", "portfolio"):
        counts = [r.distinct_configs for r in records if r.optimizer == name]
        assert float(at_12[name]["mean_distinct_configs"]) == counts[-1]
        assert 0.0 <= float(at_12[name]["mean_regret"]) <= 1.0
    markdown = (tmp_path / "summary.md").read_text()
    assert "Mean distinct configs evaluated" in markdown and "pool's best and worst" in markdown


def test_pool_runs_refuse_options_that_do_not_apply(tmp_path: Path) -> None:
    spec = BenchmarkSpec(
        problem="keel-hgb-pool",
        optimizers=("random",),
        seeds=(0,),
        n_full_evals=2,
        tasks=("iris",),
        meta_train_budgets=(9.0,),
    )
    with pytest.raises(InvalidParameterError, match="pool problem"):
        run_benchmark(spec, tmp_path)


@pytest.mark.parametrize("name", ["optuna-random", "optuna-tpe"])
def test_flat_peers_run_on_a_conditional_pool(name: str) -> None:
    # Optuna proposes every parameter; the config evaluated keeps the active ones.
    records = make_adapter(name).run(_Mixed(), "t", seed=0, n_full_evals=6)
    assert len(records) == 6 and {r.loss for r in records} <= {0.1, 0.2, 0.3, 0.4}


def test_configspace_configs_keep_only_active_parameters() -> None:
    space = _Mixed.space
    assert from_configspace(space, {"kind": "0", "x": 0.3, "depth": 2}) == {"kind": "a", "x": 0.3}
    assert from_configspace(space, {"kind": "1", "x": 0.3, "depth": 2}) == {
        "kind": "b",
        "x": 0.3,
        "depth": 2,
    }
