"""Restart and continuation budget accounting: a promotion costs its budget or what it adds."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

import metahpo as mh
from metahpo.exceptions import InvalidParameterError
from metahpo.storage import InMemoryStorage
from metahpo_bench import get_problem
from metahpo_bench.runner import BenchmarkSpec, Evaluator, Record, make_adapter, run_benchmark
from metahpo_bench.runner._parallel import run_simulated_workers

CONFIG = {"x0": 0.0, "x1": 5.0}


def test_continuation_charges_only_the_budget_a_promotion_adds() -> None:
    problem = get_problem("mf_branin", min_budget=1, max_budget=27)
    restart = Evaluator(problem, "0", "x", 0, n_full_evals=2)
    continuation = Evaluator(problem, "0", "x", 0, n_full_evals=2, continuation=True)
    for evaluator in (restart, continuation):
        evaluator(CONFIG, 3.0)
        evaluator(CONFIG, 9.0, parent_budget=3.0)
        evaluator(CONFIG, 27.0, parent_budget=9.0)
    assert [r.cum_budget for r in restart.records] == [3.0, 12.0, 39.0]
    assert [r.cum_budget for r in continuation.records] == [3.0, 9.0, 27.0]
    assert [r.parent_budget for r in restart.records] == [None, None, None]
    assert [r.parent_budget for r in continuation.records] == [None, 3.0, 9.0]
    assert [r.loss for r in continuation.records] == [r.loss for r in restart.records]
    line = continuation.records[1].to_json()
    assert json.loads(line)["parent_budget"] == 3.0
    assert Record.from_dict(json.loads(line)) == continuation.records[1]
    assert "parent_budget" not in json.loads(restart.records[1].to_json())
    without_fidelity = Evaluator(get_problem("branin"), "0", "x", 0, 3, continuation=True)
    without_fidelity(CONFIG, None, parent_budget=1.0)
    assert without_fidelity.records[0].cum_budget == 1.0


def _by_hand(problem, n_trials: int) -> list[tuple[float, float | None]]:  # type: ignore[no-untyped-def]
    """(budget, parent budget) of each trial of the study the adapter runs, asked by hand."""
    study = mh.create_study(
        space=problem.space,
        storage=InMemoryStorage(),
        optimizer="random",
        scheduler=mh.Hyperband(min_budget=1, max_budget=27, eta=3),
        seed=0,
    )
    out = []
    for _ in range(n_trials):
        trial = study.ask()
        out.append((trial.budget, trial.parent_budget))
        study.tell(trial, problem.evaluate("0", trial.config, trial.budget))
    return out


def test_a_hyperband_run_differs_by_exactly_the_parents_budgets() -> None:
    problem = get_problem("mf_branin", min_budget=1, max_budget=27)
    restart = make_adapter("random+hyperband").run(problem, "0", seed=0, n_full_evals=6)
    continuation = make_adapter("random+hyperband").run(
        problem, "0", seed=0, n_full_evals=6, continuation=True
    )
    # The accounting changes how far the run goes, not what it does.
    assert len(continuation) > len(restart)
    head = continuation[: len(restart)]
    assert [(r.budget, r.loss) for r in head] == [(r.budget, r.loss) for r in restart]
    trials = _by_hand(problem, len(continuation))
    assert [r.budget for r in continuation] == [budget for budget, _ in trials]
    assert [r.parent_budget for r in continuation] == [parent for _, parent in trials]
    promoted = [(budget, parent) for budget, parent in trials if parent is not None]
    assert promoted and all(parent == budget / 3 for budget, parent in promoted)
    spent = sum(budget for budget, _ in trials)
    added = sum(budget - parent for budget, parent in promoted)
    assert continuation[-1].cum_budget == spent - sum(parent for _, parent in promoted)
    assert continuation[-1].cum_budget == sum(b for b, p in trials if p is None) + added
    for index, record in enumerate(restart):
        parents = sum(parent or 0.0 for _, parent in trials[: index + 1])
        assert record.cum_budget - continuation[index].cum_budget == parents


def test_simulated_workers_spend_and_wait_for_what_a_promotion_adds() -> None:
    problem = get_problem("mf_branin", min_budget=1, max_budget=27)
    records = make_adapter("random+asha@2").run(
        problem, "0", seed=0, n_full_evals=4, continuation=True
    )
    assert any(r.parent_budget is not None for r in records)
    charged = sum(r.budget - (r.parent_budget or 0.0) for r in records)
    assert records[-1].cum_budget == pytest.approx(charged)
    # One worker runs its evaluations back to back: each takes what it is charged.
    study = mh.create_study(
        space=problem.space,
        optimizer="random",
        scheduler=mh.ASHA(min_budget=1, max_budget=27, eta=3),
        seed=0,
    )
    evaluator = Evaluator(problem, "0", "x", 0, n_full_evals=4, continuation=True)
    run_simulated_workers(study, evaluator, 1)
    assert any(r.parent_budget is not None for r in evaluator.records)
    assert [r.sim_time for r in evaluator.records] == [r.cum_budget for r in evaluator.records]


def test_runs_state_their_accounting_and_do_not_mix(tmp_path: Path) -> None:
    from metahpo_bench.cli import app

    out = tmp_path / "run"
    options = [
        "run", "--problem", "mf_branin", "--problem-arg", "min_budget=1",
        "--problem-arg", "max_budget=27", "--optimizers", "random+hyperband", "--seeds", "1",
        "--trials", "3", "--draws", "0", "--jobs", "1", "--out", str(out),
    ]  # fmt: skip
    result = CliRunner().invoke(app, [*options, "--continuation"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "run.json").read_text())["spec"]["continuation"] is True
    assert "Budget accounting: continuation" in (out / "summary.md").read_text()
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert any("parent_budget" in line for line in lines)
    spec = BenchmarkSpec(
        problem="mf_branin",
        optimizers=("random+hyperband",),
        seeds=(0,),
        n_full_evals=3,
        problem_kwargs={"min_budget": 1, "max_budget": 27},
        n_draws=0,
    )
    with pytest.raises(InvalidParameterError, match="made with continuation accounting"):
        run_benchmark(spec, out, resume=True)
    restart = CliRunner().invoke(app, [*options[:-1], str(tmp_path / "restart")])
    assert restart.exit_code == 0, restart.output
    summary = (tmp_path / "restart" / "summary.md").read_text()
    assert "Budget accounting: restart" in summary


def test_a_scheduler_in_stopping_mode_runs_each_config_once_and_reports_at_its_rungs() -> None:
    problem = get_problem("mf_branin", min_budget=1, max_budget=27)
    for continuation in (False, True):
        adapter = make_adapter("random+asha[mode=stopping]")
        records = adapter.run(problem, "0", 0, n_full_evals=6, continuation=continuation)
        # One run per config: every report is charged what it adds, under either accounting.
        steps = [float(r.budget) for r in records]  # type: ignore[arg-type]
        cum = [r.cum_budget for r in records]
        charged = [after - before for before, after in zip([0.0, *cum[:-1]], cum, strict=True)]
        expected = [step - (prev if prev < step else 0.0)
                    for prev, step in zip([0.0, *steps[:-1]], steps, strict=True)]
        assert charged == expected
        starts = [i for i, step in enumerate(steps) if step == 1.0]
        assert starts[0] == 0 and len(starts) > 6  # more configs than full-budget equivalents
        lengths = {b - a for a, b in zip(starts, [*starts[1:], len(steps)], strict=True)}
        assert 4 in lengths and min(lengths) < 4  # rungs 1, 3, 9, 27; some runs were stopped
        assert {r.budget for r in records} == {1.0, 3.0, 9.0, 27.0}


def test_stopping_mode_with_simulated_workers_is_refused() -> None:
    adapter = make_adapter("random+asha[mode=stopping]@2")
    with pytest.raises(InvalidParameterError, match="stopping mode"):
        adapter.run(get_problem("mf_branin", min_budget=1, max_budget=27), "0", 0, n_full_evals=2)


def test_stopping_mode_reports_where_the_scheduler_looks_on_an_uneven_ladder() -> None:
    # 52 epochs with eta 3: rungs at 1.93, 5.78, 17.3 and 52, evaluated at 2, 6, 17 and 52.
    problem = get_problem("mf_branin", min_budget=1, max_budget=52)
    problem.integer_budget = True  # as lcbench's epochs
    records = make_adapter("random+asha[mode=stopping]").run(problem, "0", 0, n_full_evals=12)
    stops = Counter(records[i].budget for i in range(len(records) - 1)
                    if records[i + 1].budget == 2.0)
    # Runs are stopped at every lower rung, not only where a rounded step passed a rung.
    assert {2.0, 6.0, 17.0} <= set(stops)
