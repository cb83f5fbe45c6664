"""The benchmark runner: budget accounting, adapters, the run loop, the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from metahpo.exceptions import InvalidParameterError
from metahpo_bench import get_problem
from metahpo_bench.runner import (
    BenchmarkSpec,
    BudgetExhausted,
    Evaluator,
    adapter_names,
    build_meta_train,
    make_adapter,
    read_records,
    run_benchmark,
    summarize,
    unavailable_reason,
)
from metahpo_bench.runner._budget import budget_steps
from metahpo_bench.runner._metahpo import MetahpoAdapter
from metahpo_bench.runner._optuna import OptunaAdapter, report_steps
from metahpo_bench.runner._run import parse_seeds

KEYS = {
    "problem",
    "task",
    "optimizer",
    "seed",
    "trial",
    "budget",
    "loss",
    "cum_budget",
    "wall_time",
    "distinct_configs",
}


def test_evaluator_counts_full_budget_equivalents_and_stops() -> None:
    problem = get_problem("mf_branin")  # budgets 1..100
    evaluator = Evaluator(problem, "0", "x", 0, n_full_evals=2)
    config = {"x0": 0.0, "x1": 5.0}
    evaluator(config, 50.0)
    evaluator(config, 100.0)
    assert not evaluator.exhausted and evaluator.remaining == 50.0
    evaluator(config, 100.0)  # started before the budget ran out: recorded, overshoots
    assert evaluator.exhausted
    with pytest.raises(BudgetExhausted):
        evaluator(config, 1.0)
    assert [r.cum_budget for r in evaluator.records] == [50.0, 150.0, 250.0]
    assert [r.trial for r in evaluator.records] == [0, 1, 2]
    assert evaluator.records[0].loss == problem.evaluate("0", config, 50.0)


def test_evaluator_without_fidelity_counts_one_per_evaluation() -> None:
    problem = get_problem("branin")
    evaluator = Evaluator(problem, "0", "x", 0, n_full_evals=3)
    for _ in range(3):
        evaluator({"x0": 1.0, "x1": 2.0}, 17.0)  # a budget is ignored without fidelity
    assert evaluator.exhausted
    assert [r.budget for r in evaluator.records] == [None, None, None]
    assert [r.cum_budget for r in evaluator.records] == [1.0, 2.0, 3.0]


def test_budget_ladders() -> None:
    problem = get_problem("mf_branin", min_budget=1, max_budget=81)
    assert budget_steps(problem, eta=3) == [1.0, 3.0, 9.0, 27.0, 81.0]
    steps = report_steps(problem)
    assert steps[0] == 1.0 and steps[-1] == 81.0 and np.all(np.diff(steps) > 0)


@pytest.mark.parametrize("name", ["random", "sobol", "optuna-tpe", "optuna-random"])
def test_full_budget_adapters_spend_exactly_the_budget_and_replay(name: str) -> None:
    problem = get_problem("shifted_branin", n_tasks=2)
    adapter = make_adapter(name)
    first = adapter.run(problem, "1", seed=3, n_full_evals=12)
    assert len(first) == 12 and first[-1].cum_budget == 12.0
    assert all(r.optimizer == name and r.task == "1" and r.seed == 3 for r in first)
    again = make_adapter(name).run(problem, "1", seed=3, n_full_evals=12)
    assert [r.loss for r in again] == [r.loss for r in first]
    other = make_adapter(name).run(problem, "1", seed=4, n_full_evals=12)
    assert [r.loss for r in other] != [r.loss for r in first]


def test_pruned_optuna_runs_report_steps_and_stop_early() -> None:
    problem = get_problem("mf_branin", min_budget=1, max_budget=27)
    records = OptunaAdapter("tpe", hyperband=True).run(problem, "0", seed=0, n_full_evals=10)
    budgets = [r.budget for r in records]
    assert set(budgets) <= set(report_steps(problem))
    assert len(records) > 10  # pruned runs cost less than a full budget
    assert min(budgets) < 27.0
    assert records[-1].cum_budget == pytest.approx(sum(budgets))
    assert 10 * 27 - 27 < records[-1].cum_budget <= 10 * 27


def test_metahpo_hyperband_adapter_uses_several_budgets() -> None:
    adapter = make_adapter("random+hyperband")
    assert unavailable_reason(adapter) is None
    problem = get_problem("mf_branin", min_budget=1, max_budget=27)
    records = adapter.run(problem, "0", seed=0, n_full_evals=8)
    assert len({r.budget for r in records}) > 1
    assert records[-1].cum_budget >= 8 * 27 * (1 - 1e-9)


def test_adapter_names_and_bad_names() -> None:
    names = adapter_names()
    for name in (
        "random",
        "gpbo+hyperband",
        "optuna-tpe-hyperband",
        "smac-mf",
        "dehb",
        "synetune-zeroshot",
    ):
        assert name in names
    assert isinstance(make_adapter("sobol"), MetahpoAdapter)
    with pytest.raises(InvalidParameterError, match="'optimizers' option"):
        make_adapter("hyperopt")
    with pytest.raises(InvalidParameterError, match="'optimizers' option"):
        make_adapter("random+bohb")


def test_parse_seeds() -> None:
    assert parse_seeds("3") == (0, 1, 2)
    assert parse_seeds("4,1,4") == (4, 1)
    with pytest.raises(InvalidParameterError, match="'seeds' option"):
        parse_seeds("a,b")


def test_meta_train_data_is_a_shared_sobol_design_without_the_test_task() -> None:
    problem = get_problem("shifted_branin", n_tasks=4)
    data = build_meta_train(problem, ["1", "2", "3"], size=8, seed=0)
    assert len(data.configs) == 8 and set(data.losses) == {"1", "2", "3"}
    assert data.losses["2"][5] == problem.evaluate("2", data.configs[5])
    only = data.restricted(["1", "3"])
    assert set(only.losses) == {"1", "3"} and only.configs == data.configs
    assert type(data).from_dict(json.loads(json.dumps(data.to_dict()))) == data


def test_run_benchmark_writes_lines_and_report_and_reports_missing_peers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from metahpo_bench.runner._bridge import check_bridge

    monkeypatch.delenv("METAHPO_DEHB_PYTHON", raising=False)
    check_bridge.cache_clear()
    spec = BenchmarkSpec(
        problem="shifted_branin",
        optimizers=("random", "sobol", "dehb", "optuna-tpe-hyperband"),
        seeds=(0, 1),
        n_full_evals=6,
        problem_kwargs={"n_tasks": 5},
        test_tasks=2,
        n_draws=300,
        jobs=1,
    )
    outcome = run_benchmark(spec, tmp_path, cache_dir=tmp_path / "cache")
    check_bridge.cache_clear()
    assert "not run" in outcome.status["optuna-tpe-hyperband"]  # branin has no budgets
    assert outcome.status["dehb"].startswith("not run: $METAHPO_DEHB_PYTHON is not set")
    assert "pip install dehb==0.1.2" in outcome.status["dehb"]
    assert outcome.status["random"].startswith("ran 4 of 4 runs")
    records = list(read_records(tmp_path / "results.jsonl"))
    assert len(records) == outcome.n_records
    assert {r.optimizer for r in records} == {"random", "sobol"}
    assert {r.task for r in records} == set(outcome.test_tasks) and len(outcome.test_tasks) == 2
    first = json.loads((tmp_path / "results.jsonl").read_text().splitlines()[0])
    assert set(first) == KEYS
    written = summarize(tmp_path, tmp_path / "cache", command="metahpo-bench run ...")
    names = {p.name for p in written}
    assert {
        "summary.md",
        "summary.csv",
        "bounds.json",
        "regret_shifted_branin.png",
        "rank_shifted_branin.png",
    } <= names
    rows = list(csv.DictReader((tmp_path / "summary.csv").open()))
    at_5 = {r["optimizer"]: r for r in rows if r["full_budget_evals"] == "5"}
    assert {"random", "sobol"} <= set(at_5)
    assert all(0.0 <= float(r["mean_regret"]) <= 1.0 for r in rows)
    markdown = (tmp_path / "summary.md").read_text()
    assert "optuna-tpe-hyperband" in markdown and "has no budgets" in markdown
    assert "METAHPO_DEHB_PYTHON is not set" in markdown


def test_resume_keeps_finished_runs_and_does_the_others(tmp_path: Path) -> None:
    spec = BenchmarkSpec(
        problem="quadratic",
        optimizers=("random",),
        seeds=(0,),
        n_full_evals=4,
        test_tasks=2,
        n_draws=0,
    )
    first = run_benchmark(spec, tmp_path)
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert len(lines) == 8 and first.status["random"].startswith("ran 2 of 2 runs")
    wider = BenchmarkSpec(
        problem="quadratic",
        optimizers=("random", "sobol"),
        seeds=(0, 1),
        n_full_evals=4,
        test_tasks=2,
        n_draws=0,
    )
    second = run_benchmark(wider, tmp_path, resume=True)
    after = (tmp_path / "results.jsonl").read_text().splitlines()
    assert after[:8] == lines  # the finished runs are kept as they were
    assert len(after) == 4 * 2 * 2 * 2
    assert second.status["random"].startswith("ran 4 of 4 runs")
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["status"] == second.status
    summarize(tmp_path)  # observed losses only (n_draws=0)
    assert "no random draws" in (tmp_path / "summary.md").read_text()
    assert "also holds runs" not in (tmp_path / "summary.md").read_text()
    # A resume with fewer optimizers and seeds keeps the others' records: the report says so.
    narrower = BenchmarkSpec(problem="quadratic", optimizers=("random",), seeds=(0,), n_full_evals=4,
                             test_tasks=2, n_draws=0)
    run_benchmark(narrower, tmp_path, resume=True)
    summarize(tmp_path)
    assert ("The results file also holds runs of optimizers sobol and seeds 1, which the command above "
            "did not ask for") in (tmp_path / "summary.md").read_text()


@pytest.mark.parametrize(
    ("change", "option"),
    [({"n_full_evals": 8}, "--trials"), ({"problem": "branin", "test_tasks": None}, "--problem"),
     ({"test_tasks": 3}, "--test-tasks")],
)
def test_resume_refuses_other_settings_and_counts_only_this_runs_units(
    tmp_path: Path, change: dict, option: str
) -> None:
    from dataclasses import replace

    spec = BenchmarkSpec(problem="quadratic", optimizers=("random",), seeds=(0, 1),
                         n_full_evals=4, test_tasks=2, n_draws=0)
    run_benchmark(spec, tmp_path)
    before = (tmp_path / "results.jsonl").read_text()
    with pytest.raises(InvalidParameterError, match=f"The {option} option of bench run must match"):
        run_benchmark(replace(spec, **change), tmp_path, resume=True)
    assert (tmp_path / "results.jsonl").read_text() == before
    fewer = run_benchmark(replace(spec, seeds=(0,)), tmp_path, resume=True)
    assert fewer.status["random"].startswith("ran 2 of 2 runs")  # not "4 of 2"


@pytest.mark.parametrize(("change", "name"), [({"eta": 1}, "'eta'"), ({"n_draws": -5}, "'draws'")])
def test_eta_and_draws_are_checked_before_any_run(tmp_path: Path, change: dict, name: str) -> None:
    from dataclasses import replace

    spec = BenchmarkSpec(problem="quadratic", optimizers=("random",), seeds=(0,), n_full_evals=4,
                         test_tasks=1, n_draws=0)
    with pytest.raises(InvalidParameterError, match=name):
        run_benchmark(replace(spec, **change), tmp_path)
    assert not (tmp_path / "results.jsonl").exists()
    if "eta" in change:  # the Hyperband rungs of eta = 1 never ended
        from metahpo_bench.runner._run import parse_meta_train_budgets

        with pytest.raises(InvalidParameterError, match="'eta'"):
            parse_meta_train_budgets("hyperband", "mf_branin", 1)


def test_a_peer_interpreter_comes_only_from_its_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from metahpo_bench.runner._bridge import bridge_python, check_bridge

    for variable in ("METAHPO_DEHB_PYTHON", "METAHPO_SYNETUNE_PYTHON"):
        monkeypatch.delenv(variable, raising=False)
    check_bridge.cache_clear()
    assert bridge_python("dehb") is None and bridge_python("synetune") is None
    reason = check_bridge("synetune")
    assert reason is not None and "$METAHPO_SYNETUNE_PYTHON is not set" in reason
    assert "syne-tune==0.16.0" in reason
    monkeypatch.setenv("METAHPO_DEHB_PYTHON", str(tmp_path / "missing" / "python"))
    check_bridge.cache_clear()
    assert "$METAHPO_DEHB_PYTHON names" in (check_bridge("dehb") or "")
    check_bridge.cache_clear()


def test_cli_run(tmp_path: Path) -> None:
    from metahpo_bench.cli import app

    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--problem",
            "quadratic",
            "--optimizers",
            "random,optuna-random",
            "--seeds",
            "2",
            "--trials",
            "5",
            "--test-tasks",
            "2",
            "--draws",
            "200",
            "--jobs",
            "1",
            "--out",
            str(out),
            "--cache-dir",
            str(tmp_path / "cache"),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = (out / "results.jsonl").read_text().splitlines()
    assert len(lines) == 2 * 2 * 2 * 5
    assert (out / "summary.md").exists() and (out / "regret_quadratic.png").stat().st_size > 1000
    bad = CliRunner().invoke(
        app,
        [
            "run",
            "--problem",
            "quadratic",
            "--optimizers",
            "nope",
            "--out",
            str(tmp_path / "bad"),
        ],
    )
    assert bad.exit_code == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "smac",
        "smac-mf",
        "optuna-gp",
        "dehb",
        "synetune-zeroshot",
        "synetune-boundingbox",
        "synetune-quantile",
    ],
)
def test_slow_peers_spend_the_budget(name: str) -> None:
    adapter = make_adapter(name)
    reason = unavailable_reason(adapter)
    if reason is not None:
        pytest.skip(reason)
    problem = (
        get_problem("mf_branin", min_budget=1, max_budget=27)
        if adapter.needs_fidelity
        else get_problem("shifted_branin", n_tasks=4)
    )
    meta = build_meta_train(problem, ["1", "2", "3"], size=16) if adapter.needs_meta_train else None
    records = adapter.run(problem, "0", seed=0, n_full_evals=8, meta_train=meta)
    full = problem.max_budget or 1.0
    assert records[-1].cum_budget >= 8 * full * (1 - 1e-9)
    assert records[-1].cum_budget < 9 * full
    if name == "synetune-zeroshot":
        # Driven through get_config(), zero-shot starts from a meta-train config (not a random one).
        assert meta is not None
        assert any(problem.evaluate("0", c) == pytest.approx(records[0].loss) for c in meta.configs)
