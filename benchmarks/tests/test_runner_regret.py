"""Regret normalisation, incumbent curves, ranks and task splits of the benchmark runner."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from metahpo.exceptions import InvalidParameterError
from metahpo_bench import get_problem
from metahpo_bench.runner import (
    Record,
    TaskBounds,
    normalized_regret,
    random_draw_bounds,
    split_tasks,
    task_bounds,
)
from metahpo_bench.runner._regret import draw_losses
from metahpo_bench.runner._report import (
    average_ranks,
    build_curves,
    incumbent_regret,
    summary_rows,
)


def test_normalized_regret_maps_bounds_to_zero_and_one() -> None:
    assert normalized_regret(2.0, 2.0, 6.0) == 0.0
    assert normalized_regret(6.0, 2.0, 6.0) == 1.0
    assert normalized_regret(3.0, 2.0, 6.0) == pytest.approx(0.25)
    values = normalized_regret(np.array([2.0, 4.0, 6.0]), 2.0, 6.0)
    np.testing.assert_allclose(values, [0.0, 0.5, 1.0])


def test_normalized_regret_of_a_flat_task_is_zero_and_bad_bounds_are_refused() -> None:
    assert normalized_regret(1.5, 1.5, 1.5) == 0.0
    with pytest.raises(InvalidParameterError, match="'high' bound"):
        normalized_regret(1.0, 2.0, 1.0)


def test_bounds_widen_to_hold_observed_losses() -> None:
    bounds = TaskBounds(0.2, 0.8).widen([0.1, 0.5, 0.9])
    assert (bounds.low, bounds.high) == (0.1, 0.9)
    assert TaskBounds(0.2, 0.8).widen([]) == TaskBounds(0.2, 0.8)
    # An observed loss better than every random draw has regret 0, not a negative one.
    assert bounds.regret(0.1) == 0.0


def test_random_draw_bounds_match_the_draws_and_are_cached(tmp_path) -> None:  # type: ignore[no-untyped-def]
    problem = get_problem("shifted_branin", n_tasks=3)
    losses = draw_losses(problem, "1", 500, seed=4)
    bounds = random_draw_bounds(
        problem, "1", 500, seed=4, cache_dir=tmp_path, problem_kwargs={"n_tasks": 3}
    )
    assert (bounds.low, bounds.high) == (losses.min(), losses.max())
    # The branin optimum is below every random draw, the draws cover most of the range.
    assert problem.optimum("1") <= bounds.low
    files = list(tmp_path.rglob("*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())["low"] == bounds.low
    # A second call reads the cache: tamper with it and see the tampered value come back.
    data = json.loads(files[0].read_text())
    data["low"] = -123.0
    files[0].write_text(json.dumps(data))
    again = random_draw_bounds(
        problem, "1", 500, seed=4, cache_dir=tmp_path, problem_kwargs={"n_tasks": 3}
    )
    assert again.low == -123.0
    # Other tasks get other bounds.
    other = task_bounds(problem, "2", [], 500, seed=4)
    assert other != bounds


def _record(
    optimizer: str, task: str, seed: int, trial: int, budget: float, loss: float, cum: float
) -> Record:
    return Record("p", task, optimizer, seed, trial, budget, loss, cum, 0.01)


def test_incumbent_regret_uses_only_evaluations_within_the_budget() -> None:
    grid = np.array([0.5, 1.0, 2.0, 3.0, 4.0])
    cum = np.array([10.0, 20.0, 40.0])  # full budget 10: 1, 2 and 4 full-budget-equivalents
    losses = np.array([0.6, 0.8, 0.2])
    out = incumbent_regret(cum, losses, TaskBounds(0.0, 1.0), 10.0, grid)
    assert math.isnan(out[0])  # nothing evaluated yet
    np.testing.assert_allclose(out[1:], [0.6, 0.6, 0.6, 0.2])


def test_summary_regret_and_ranks_on_a_hand_made_run() -> None:
    bounds = {"a": TaskBounds(0.0, 1.0), "b": TaskBounds(0.0, 2.0)}
    records = [
        # optimizer x: finds 0.5 then 0.1 on task a; 1.0 on task b
        _record("x", "a", 0, 0, 1.0, 0.5, 1.0),
        _record("x", "a", 0, 1, 1.0, 0.1, 2.0),
        _record("x", "b", 0, 0, 1.0, 1.0, 1.0),
        _record("x", "b", 0, 1, 1.0, 1.5, 2.0),
        # optimizer y: 0.3 on task a; 0.2 on task b (normalised 0.1)
        _record("y", "a", 0, 0, 1.0, 0.3, 1.0),
        _record("y", "a", 0, 1, 1.0, 0.9, 2.0),
        _record("y", "b", 0, 0, 1.0, 0.2, 1.0),
        _record("y", "b", 0, 1, 1.0, 0.4, 2.0),
    ]
    curves = build_curves(records, bounds, full_budget=1.0, n_full_evals=2)
    rows = {(r["optimizer"], r["full_budget_evals"]): r for r in summary_rows(curves, 2)}
    assert set(rows) == {("x", 2), ("y", 2)}
    assert rows[("x", 2)]["mean_regret"] == pytest.approx((0.1 + 0.5) / 2)
    assert rows[("y", 2)]["mean_regret"] == pytest.approx((0.3 + 0.1) / 2)
    assert rows[("y", 2)]["median_regret"] == pytest.approx(0.2)
    # x wins task a, y wins task b: both average rank 1.5.
    assert rows[("x", 2)]["mean_rank"] == pytest.approx(1.5)
    assert rows[("y", 2)]["mean_rank"] == pytest.approx(1.5)
    column = int(np.argmin(np.abs(curves.grid - 1.0)))
    ranks = average_ranks(curves, column)  # after one evaluation y leads on both tasks
    assert ranks == {"x": 2.0, "y": 1.0}


def test_only_full_budget_evaluations_are_a_multi_fidelity_run_s_incumbent() -> None:
    # Budget 1 of 9: a low-budget loss is no result (a study's best is at the largest
    # budget), so the run has regret 1 until its first full-budget evaluation.
    bounds = {"a": TaskBounds(0.0, 1.0)}
    records = [
        _record("x", "a", 0, 0, 1.0, 0.05, 1.0),
        _record("x", "a", 0, 1, 1.0, 0.9, 2.0),
        _record("x", "a", 0, 2, 9.0, 0.4, 10.0),
        _record("x", "a", 0, 3, 9.0, 0.3, 19.0),
    ]
    curves = build_curves(records, bounds, full_budget=9.0, n_full_evals=2)
    at = {float(g): float(v) for g, v in zip(curves.grid, curves.regret["x"][0], strict=True)}
    assert at[1.0] == pytest.approx(1.0)  # 2 budget units spent, no full-budget result yet
    assert at[2.0] == pytest.approx(0.4)  # not the 0.05 seen at budget 1


def test_ties_share_the_mean_rank() -> None:
    bounds = {"a": TaskBounds(0.0, 1.0)}
    records = [_record(name, "a", 0, 0, 1.0, 0.4, 1.0) for name in ("x", "y", "z")]
    curves = build_curves(records, bounds, 1.0, 1)
    assert average_ranks(curves, len(curves.grid) - 1) == {"x": 2.0, "y": 2.0, "z": 2.0}


def test_record_round_trips_through_json_and_refuses_missing_keys() -> None:
    record = _record("x", "a", 3, 7, 13.0, 0.25, 26.0)
    assert Record.from_dict(json.loads(record.to_json())) == record
    data = json.loads(record.to_json())
    assert set(data) == {
        "problem",
        "task",
        "optimizer",
        "seed",
        "trial",
        "budget",
        "loss",
        "cum_budget",
        "wall_time",
    }
    del data["wall_time"]
    with pytest.raises(InvalidParameterError, match="exactly the keys"):
        Record.from_dict(data)


def test_splits_are_fixed_disjoint_and_cover_the_tasks() -> None:
    tasks = [f"t{i}" for i in range(10)]
    split = split_tasks(tasks, "random", test_tasks=3, split_seed=5)
    assert split == split_tasks(tasks, "random", test_tasks=3, split_seed=5)
    assert len(split.test) == 3 and set(split.test).isdisjoint(split.train)
    assert set(split.test) | set(split.train) == set(tasks)
    folds = [split_tasks(tasks, f"4-fold:{i}", split_seed=1) for i in range(4)]
    assert sorted(t for f in folds for t in f.test) == sorted(tasks)
    assert all(set(f.test).isdisjoint(f.train) for f in folds)
    explicit = split_tasks(tasks, explicit=["t3", "t1"])
    assert explicit.test == ("t3", "t1") and "t3" not in explicit.train


@pytest.mark.parametrize(
    ("split", "kwargs", "message"),
    [
        ("random", {"test_tasks": 0}, "test_tasks"),
        ("random", {"test_tasks": 11}, "test_tasks"),
        ("3-fold:3", {}, "K-fold:i"),
        ("folds", {}, "'random' or 'K-fold:i'"),
        ("random", {"explicit": ["nope"]}, "unknown tasks"),
    ],
)
def test_bad_splits_are_refused(split: str, kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InvalidParameterError, match=message):
        split_tasks([f"t{i}" for i in range(10)], split, **kwargs)


def test_table_bounds_are_the_min_and_max_of_each_tasks_rows(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from metahpo_bench.metadata import build_metadata, load_metadata
    from metahpo_bench.runner._regret import table_bounds

    problem = get_problem("mf_branin", min_budget=1, max_budget=9)
    out = build_metadata(problem, tmp_path / "meta", n_configs=8, budgets=[1, 9], jobs=1)
    bounds = table_bounds(out, "mf_branin")
    losses = load_metadata(out).losses
    assert set(bounds) == {"0"}
    assert bounds["0"] == TaskBounds(float(losses["loss"].min()), float(losses["loss"].max()))
    with pytest.raises(InvalidParameterError, match="meta-dataset of 'lcbench'"):
        table_bounds(out, "lcbench")


def test_an_optimizer_with_missing_runs_is_left_out_of_the_ranks() -> None:
    bounds = {"a": TaskBounds(0.0, 1.0), "b": TaskBounds(0.0, 1.0)}
    records = [
        _record("x", "a", 0, 0, 1.0, 0.5, 1.0),
        _record("x", "b", 0, 0, 1.0, 0.2, 1.0),
        _record("y", "a", 0, 0, 1.0, 0.3, 1.0),
        _record("y", "b", 0, 0, 1.0, 0.4, 1.0),
        _record("z", "a", 0, 0, 1.0, 0.0, 1.0),  # z finished only one of its two runs
    ]
    curves = build_curves(records, bounds, 1.0, 1)
    ranks = average_ranks(curves, len(curves.grid) - 1)
    assert ranks["x"] == 1.5 and ranks["y"] == 1.5 and math.isnan(ranks["z"])
    rows = {r["optimizer"]: r for r in summary_rows(curves, 1)}
    assert rows["z"]["runs"] == 1 and rows["z"]["mean_regret"] == 0.0
