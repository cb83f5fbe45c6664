"""The YAHPO Gym loader against reference values of the official yahpo-gym 1.0.2 package.

The surrogate files are not part of the project: the tests use ``$METAHPO_YAHPO_DATA``
or ``../shared/data/yahpo`` beside the repository root and skip when neither exists. The reference values in
``data/yahpo_reference.json`` were computed with ``yahpo_gym.BenchmarkSet`` in a separate
environment (see docs/benchmarks.md).
"""

from __future__ import annotations

import copy
import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from metahpo.exceptions import InvalidParameterError
from metahpo.space import Categorical, Float, Int
from metahpo_bench import get_problem
from metahpo_bench.yahpo import (
    ENV_VARIABLE,
    LCBench,
    RBv2XGBoost,
    YahpoDataError,
    YahpoProblem,
    default_data_dirs,
    find_data_dir,
)

REFERENCE = Path(__file__).parent / "data" / "yahpo_reference.json"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _data_dir() -> Path | None:
    candidates = [os.environ.get(ENV_VARIABLE)] if os.environ.get(ENV_VARIABLE) else []
    candidates += [str(path) for path in default_data_dirs()]
    for candidate in candidates:
        path = Path(candidate)  # type: ignore[arg-type]
        if (path / "lcbench" / "model.onnx").is_file() and (
            path / "rbv2_xgboost" / "model.onnx"
        ).is_file():
            return path.resolve()
    return None


DATA_DIR = _data_dir()
needs_data = pytest.mark.skipif(
    DATA_DIR is None,
    reason=f"YAHPO Gym surrogate files not found: set {ENV_VARIABLE} or put yahpo_data v1.0.2 in ../shared/data/yahpo",
)


@pytest.fixture(scope="module")
def problems() -> dict[str, YahpoProblem]:
    return {name: YahpoProblem(name, data_dir=DATA_DIR) for name in ("lcbench", "rbv2_xgboost")}


def _reference_cases(scenario: str) -> list[dict[str, Any]]:
    cases = json.loads(REFERENCE.read_text())["cases"]
    return [case for case in cases if case["scenario"] == scenario]


def _split(
    problem: YahpoProblem, yahpo_config: dict[str, Any], rng: np.random.Generator
) -> tuple[str, dict[str, Any], float]:
    """A YAHPO config as (task, metahpo config, budget).

    The official configurations carry only their active parameters; the rest of each
    is passed on unchanged (``rng`` is unused, kept for the callers' signature).
    """
    s = problem.scenario
    config = dict(yahpo_config)
    task = config.pop(s.instance_name)
    budget = config.pop(s.fidelity_name)
    for name, value in s.fixed.items():
        assert config.pop(name) == value
    return task, config, budget


# Reference values ----------------------------------------------------------------------
@needs_data
@pytest.mark.parametrize("scenario", ["lcbench", "rbv2_xgboost"])
def test_matches_official_package(problems: dict[str, YahpoProblem], scenario: str) -> None:
    problem = problems[scenario]
    cases = _reference_cases(scenario)
    assert len(cases) >= 20
    rng = np.random.default_rng(0)
    tasks = set()
    for case in cases:
        task, config, budget = _split(problem, case["config"], rng)
        tasks.add(task)
        assert problem.space.validate(config) == config  # unchanged, only active keys
        expected = case["targets"]
        got = problem.evaluate_all(task, config, budget)
        assert list(got) == list(expected)
        np.testing.assert_allclose(list(got.values()), list(expected.values()), rtol=1e-5)
        accuracy = expected[problem.scenario.accuracy_name] / problem.scenario.accuracy_scale
        assert problem.evaluate(task, config, budget) == pytest.approx(
            1.0 - accuracy, rel=1e-5, abs=1e-7
        )
    assert len(tasks) >= 5


@needs_data
@pytest.mark.parametrize("scenario", ["lcbench", "rbv2_xgboost"])
def test_batch_matches_single(problems: dict[str, YahpoProblem], scenario: str) -> None:
    problem = problems[scenario]
    rng = np.random.default_rng(1)
    task = problem.tasks[3]
    cases = _reference_cases(scenario)
    configs, budgets = [], []
    for case in cases:
        _, config, budget = _split(problem, case["config"], rng)
        configs.append(config)
        budgets.append(budget)
    batch = problem.evaluate_batch(task, configs, budgets)
    single = [problem.evaluate(task, c, b) for c, b in zip(configs, budgets, strict=True)]
    np.testing.assert_allclose(batch, single, rtol=1e-6)
    assert batch.shape == (len(configs),)
    assert problem.predict(task, configs, budgets).shape == (len(configs), len(problem.targets))
    assert problem.evaluate_batch(task, []).shape == (0,)
    at_max = problem.evaluate_batch(task, configs[:3])
    np.testing.assert_allclose(
        at_max, problem.evaluate_batch(task, configs[:3], problem.max_budget)
    )


# Space, tasks, budgets -----------------------------------------------------------------
@needs_data
def test_lcbench_space(problems: dict[str, YahpoProblem]) -> None:
    problem = problems["lcbench"]
    assert len(problem.tasks) == 34 and "3945" in problem.tasks and "167083" not in problem.tasks
    assert problem.space.to_dict() == {
        "batch_size": Int(16, 512, log=True).to_dict(),
        "learning_rate": Float(0.00010000000000000009, 0.10000000000000002, log=True).to_dict(),
        "max_dropout": Float(0.0, 1.0).to_dict(),
        "max_units": Int(64, 1024, log=True).to_dict(),
        "momentum": Float(0.1, 0.99).to_dict(),
        "num_layers": Int(1, 5).to_dict(),
        "weight_decay": Float(1e-05, 0.1).to_dict(),
    }
    assert (problem.min_budget, problem.max_budget, problem.integer_budget) == (1, 52, True)
    assert problem.loss_name == "1 - val_accuracy / 100"


@needs_data
def test_rbv2_xgboost_space(problems: dict[str, YahpoProblem]) -> None:
    problem = problems["rbv2_xgboost"]
    assert len(problem.tasks) == 119 and len(set(problem.tasks)) == 119
    assert len(problem.space) == 14
    assert problem.space["booster"] == Categorical(["gblinear", "gbtree", "dart"])
    assert problem.space["eta"] == Float(0.0009118819655545162, 1.0, log=True)
    assert problem.space["nrounds"] == Int(7, 2981, log=True)
    assert not {"task_id", "trainsize", "repl"} & set(problem.space)
    assert set(problem.conditions) == {
        "colsample_bylevel", "colsample_bytree", "eta", "gamma", "max_depth",
        "min_child_weight", "rate_drop", "skip_drop",
    }  # fmt: skip
    assert (problem.min_budget, problem.max_budget, problem.integer_budget) == (0.05, 1.0, False)
    assert problem.loss_name == "1 - acc"


@needs_data
def test_inactive_parameters_are_left_out(problems: dict[str, YahpoProblem]) -> None:
    problem = problems["rbv2_xgboost"]
    base = problem.space.sample(np.random.default_rng(2), 1)[0]
    base = {k: base.get(k, v) for k, v in {
        "max_depth": 8, "eta": 0.1, "gamma": 0.01, "min_child_weight": 5.0,
        "colsample_bytree": 0.5, "colsample_bylevel": 0.5, "rate_drop": 0.5, "skip_drop": 0.5,
    }.items()} | {k: base[k] for k in ("alpha", "lambda", "nrounds", "subsample", "num.impute.selected.cpo")}
    tree_keys = ("max_depth", "eta", "gamma", "min_child_weight", "colsample_bytree", "colsample_bylevel")
    linear = {k: v for k, v in base.items() if k not in (*tree_keys, "rate_drop", "skip_drop")}
    linear["booster"] = "gblinear"
    tree = {k: v for k, v in base.items() if k not in ("rate_drop", "skip_drop")} | {"booster": "gbtree"}
    assert np.isfinite(problem.evaluate("1040", linear))
    # Inactive parameters are refused, not silently ignored.
    with pytest.raises(InvalidParameterError, match="inactive keys"):
        problem.evaluate("1040", {**linear, "max_depth": 1})
    with pytest.raises(InvalidParameterError, match="inactive keys"):
        problem.evaluate("1040", {**tree, "rate_drop": 0.0})
    with pytest.raises(InvalidParameterError, match="missing the keys"):
        problem.evaluate("1040", {**linear, "booster": "gbtree"})
    # Sampled configs hold exactly their active parameters and evaluate.
    for config in problem.space.sample(np.random.default_rng(5), 30):
        assert problem.space.active_names(config) == list(config)
    assert np.isfinite(problem.evaluate_batch("1040", problem.space.sample(0, 30))).all()
    base = {**tree, "rate_drop": 0.5, "skip_drop": 0.5}
    # ... but they matter when active.
    assert problem.evaluate("1040", {**tree, "max_depth": 1}) != problem.evaluate(
        "1040", {**tree, "max_depth": 15}
    )
    dart = {**base, "booster": "dart"}
    assert problem.evaluate_all("1040", {**dart, "rate_drop": 0.0}) != problem.evaluate_all(
        "1040", {**dart, "rate_drop": 1.0}
    )


@needs_data
def test_tasks_and_budgets_change_the_loss(problems: dict[str, YahpoProblem]) -> None:
    problem = problems["lcbench"]
    configs = problem.space.sample(np.random.default_rng(3), 50)
    by_task = [problem.evaluate_batch(task, configs) for task in problem.tasks[:4]]
    assert not np.allclose(by_task[0], by_task[1])
    short = problem.evaluate_batch("3945", configs, 1)
    long = problem.evaluate_batch("3945", configs, 52)
    assert short.mean() > long.mean()


# Bad input -------------------------------------------------------------------------------
@needs_data
@pytest.mark.parametrize(
    ("scenario", "change", "match"),
    [
        ("lcbench", {"batch_size": 8}, "'batch_size'"),
        ("lcbench", {"batch_size": 32.5}, "'batch_size'"),
        ("lcbench", {"learning_rate": 0.5}, "'learning_rate'"),
        ("lcbench", {"num_layers": 6}, "'num_layers'"),
        ("lcbench", {"epoch": 10}, "unknown keys"),
        ("lcbench", {"OpenML_task_id": "3945"}, "unknown keys"),
        ("rbv2_xgboost", {"booster": "gblinearr"}, "'booster'"),
        ("rbv2_xgboost", {"eta": 0.0}, "'eta'"),
        ("rbv2_xgboost", {"max_depth": 16}, "'max_depth'"),
        ("rbv2_xgboost", {"repl": 3}, "unknown keys"),
    ],
)
def test_rejects_configs_outside_the_space(
    problems: dict[str, YahpoProblem], scenario: str, change: dict[str, Any], match: str
) -> None:
    problem = problems[scenario]
    config = {**problem.space.sample(np.random.default_rng(4), 1)[0], **change}
    task = problem.tasks[0]
    with pytest.raises(InvalidParameterError, match=match):
        problem.evaluate(task, config)
    with pytest.raises(InvalidParameterError, match=match):
        problem.evaluate_all(task, config)
    with pytest.raises(InvalidParameterError, match=match):
        problem.evaluate_batch(task, [problem.space.sample(0, 1)[0], config])


@needs_data
def test_rejects_missing_keys_tasks_and_budgets(problems: dict[str, YahpoProblem]) -> None:
    lcbench, xgb = problems["lcbench"], problems["rbv2_xgboost"]
    config = lcbench.space.sample(0, 1)[0]
    del config["momentum"]
    with pytest.raises(InvalidParameterError, match="missing the keys \\['momentum'\\]"):
        lcbench.evaluate("3945", config)
    good = lcbench.space.sample(0, 1)[0]
    with pytest.raises(InvalidParameterError, match="'task'"):
        lcbench.evaluate("167083", good)
    with pytest.raises(InvalidParameterError, match="'task'"):
        lcbench.evaluate_batch("nope", [good])
    for budget in (0, 53, -1.0):
        with pytest.raises(InvalidParameterError, match="'budget'"):
            lcbench.evaluate("3945", good, budget)
    with pytest.raises(InvalidParameterError, match="whole number of epochs"):
        lcbench.evaluate("3945", good, 2.5)
    assert lcbench.evaluate("3945", good, 2.0) == lcbench.evaluate("3945", good, 2)
    np.testing.assert_array_equal(
        lcbench.evaluate_batch("3945", [good, good], np.array([2, 52])),
        [lcbench.evaluate("3945", good, 2), lcbench.evaluate("3945", good, 52)],
    )
    with pytest.raises(InvalidParameterError, match="one budget per config"):
        lcbench.evaluate_batch("3945", [good, good], [1])
    with pytest.raises(InvalidParameterError, match="'configs'"):
        lcbench.evaluate_batch("3945", good)  # type: ignore[arg-type]
    xgb_config = xgb.space.sample(0, 1)[0]
    for budget in (0.01, 1.5):
        with pytest.raises(InvalidParameterError, match="'budget'"):
            xgb.evaluate("1040", xgb_config, budget)
    assert xgb.evaluate("1040", xgb_config, 0.37) == pytest.approx(
        xgb.evaluate("1040", xgb_config, 0.37)
    )


# Session -----------------------------------------------------------------------------------
@needs_data
def test_one_session_shared_by_threads() -> None:
    problem = LCBench(data_dir=DATA_DIR)
    configs = problem.space.sample(np.random.default_rng(5), 64)
    expected = problem.evaluate_batch("7593", configs, 13)
    problem._session = None  # lazily rebuilt by the first thread that needs it
    results: list[np.ndarray] = []
    sessions: list[object] = []

    def work() -> None:
        results.append(problem.evaluate_batch("7593", configs, 13))
        sessions.append(problem._get_session())

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and len({id(s) for s in sessions}) == 1
    for result in results:
        np.testing.assert_array_equal(result, expected)
    clone = copy.deepcopy(problem)
    assert clone._session is None
    np.testing.assert_array_equal(clone.evaluate_batch("7593", configs, 13), expected)


@needs_data
def test_registry_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VARIABLE, str(DATA_DIR))
    assert isinstance(get_problem("lcbench"), LCBench)
    assert isinstance(get_problem("rbv2_xgboost", n_threads=2), RBv2XGBoost)
    assert find_data_dir() == DATA_DIR


# Data directory (no surrogate files needed) ----------------------------------------------
def test_missing_data_dir_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(YahpoDataError, match=r"'data_dir'.*existing directory"):
        LCBench(data_dir=tmp_path / "nowhere")
    monkeypatch.setenv(ENV_VARIABLE, str(tmp_path / "nowhere"))
    with pytest.raises(YahpoDataError, match=ENV_VARIABLE):
        get_problem("rbv2_xgboost")
    with pytest.raises(YahpoDataError, match=r"config_space\.json.*missing"):
        LCBench(data_dir=tmp_path)
    assert issubclass(YahpoDataError, FileNotFoundError)


def test_default_data_dir_is_beside_the_repository_root_whatever_the_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import metahpo_bench.yahpo._data as data

    (tmp_path / "a" / "shared" / "data" / "yahpo").mkdir(parents=True)
    (tmp_path / "a" / "project").mkdir()
    (tmp_path / "b" / "repo").mkdir(parents=True)
    monkeypatch.delenv(ENV_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path / "a" / "project")  # its ../shared is not looked at
    monkeypatch.setattr(data, "repository_root", lambda: tmp_path / "b" / "repo")
    with pytest.raises(YahpoDataError, match=r"b/shared/data/yahpo"):
        find_data_dir()
    (tmp_path / "b" / "shared" / "data" / "yahpo").mkdir(parents=True)
    assert find_data_dir() == (tmp_path / "b" / "shared" / "data" / "yahpo").resolve()


def test_unknown_scenario_and_threads(tmp_path: Path) -> None:
    with pytest.raises(InvalidParameterError, match="'scenario'"):
        YahpoProblem("rbv2_svm", data_dir=tmp_path)
    with pytest.raises(InvalidParameterError, match="'n_threads'"):
        YahpoProblem("lcbench", data_dir=tmp_path, n_threads=0)


def _fake_lcbench(
    root: Path, extra: list[dict[str, Any]] | None = None, codes: dict[str, int] | None = None
) -> Path:
    """A minimal lcbench directory (an empty model: sessions open lazily)."""
    numeric = [
        "batch_size",
        "epoch",
        "learning_rate",
        "max_dropout",
        "max_units",
        "momentum",
        "num_layers",
        "weight_decay",
    ]
    hps: list[dict[str, Any]] = [
        {"name": "OpenML_task_id", "type": "categorical", "choices": ["3945", "7593"]}
    ]
    hps += [
        {"name": n, "type": "uniform_float", "log": False, "lower": 1.0, "upper": 2.0}
        for n in numeric
    ]
    hps += extra or []
    directory = root / "lcbench"
    directory.mkdir(parents=True)
    (directory / "config_space.json").write_text(
        json.dumps({"hyperparameters": hps, "conditions": []})
    )
    encoding = {"OpenML_task_id": codes if codes is not None else {"#na#": 0, "3945": 1, "7593": 2}}
    (directory / "encoding.json").write_text(json.dumps(encoding))
    (directory / "model.onnx").write_bytes(b"")
    return root


def test_malformed_data_files_are_clear_errors(tmp_path: Path) -> None:
    problem = LCBench(data_dir=_fake_lcbench(tmp_path / "ok"))
    assert problem.tasks == ("3945", "7593") and len(problem.space) == 7
    with pytest.raises(YahpoDataError, match=r"misses \['7593'\]"):
        LCBench(data_dir=_fake_lcbench(tmp_path / "codes", codes={"3945": 1}))
    extra = [{"name": "dropout2", "type": "uniform_float", "log": False, "lower": 0, "upper": 1}]
    with pytest.raises(YahpoDataError, match="the surrogate expects"):
        LCBench(data_dir=_fake_lcbench(tmp_path / "extra", extra=extra))
    ordinal = [{"name": "size", "type": "ordinal", "sequence": [1, 2]}]
    with pytest.raises(YahpoDataError, match="'ordinal'"):
        LCBench(data_dir=_fake_lcbench(tmp_path / "ordinal", extra=ordinal))
    broken = _fake_lcbench(tmp_path / "broken")
    (broken / "lcbench" / "encoding.json").write_text("{not json")
    with pytest.raises(YahpoDataError, match="Cannot read"):
        LCBench(data_dir=broken)


def test_default_data_dir_is_relative_to_the_repository_root_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = (PROJECT_ROOT / ".." / "shared" / "data" / "yahpo").resolve()
    monkeypatch.chdir(tmp_path)
    assert default_data_dirs() == [expected]
    monkeypatch.setenv(ENV_VARIABLE, str(tmp_path))
    assert find_data_dir() == tmp_path
