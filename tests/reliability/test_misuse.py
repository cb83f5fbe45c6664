"""Interrupts and misuse a user hits: Ctrl+C with workers, foreign handles, moved folders."""

from __future__ import annotations

import _thread
import contextlib
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from typer.testing import CliRunner

import metahpo as mh
from metahpo.cli import app
from metahpo.exceptions import InvalidParameterError, StudyNotFoundError
from metahpo.trial import TrialState

runner = CliRunner()


def _space() -> mh.Space:
    return mh.Space({"x": mh.Float(0.0, 1.0)})


@pytest.fixture
def ctrl_c_handled():
    """Ctrl+C raising KeyboardInterrupt, as in a terminal, even when the suite itself was
    started in the background by a shell, which starts it with SIGINT ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)


def test_an_interrupt_stops_worker_threads_from_starting_trials(tmp_path, ctrl_c_handled):
    study = mh.create_study(space=_space(), storage=f"sqlite:///{tmp_path}/s.db", optimizer="random", seed=0)

    def objective(trial: mh.TrialHandle) -> float:
        if trial.number == 1:
            _thread.interrupt_main()  # what Ctrl+C does: the main thread alone is interrupted
        time.sleep(0.3)
        return trial.config["x"]

    with pytest.raises(KeyboardInterrupt):
        study.optimize(objective, n_trials=40, n_jobs=2, show_progress=False)
    trials = study.trials
    assert len(trials) <= 6  # the workers stopped starting trials
    assert all(t.state is TrialState.COMPLETE for t in trials)  # and finished the running ones


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is dead too
        return stat.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_a_stopping_signal_stops_the_commands_tune_runs_on_worker_threads(tmp_path, ctrl_c_handled, stop):
    # SIGTERM (kill, a supervisor) and SIGHUP (a closed terminal) reach tune, not the
    # commands: each runs in a process group of its own.
    # A handled signal is reset to its default in a child: the command's Python gets Ctrl+C.
    (tmp_path / "space.yaml").write_text("x: {type: float, low: 0, high: 1}\n")
    pids = tmp_path / "pids"
    process = subprocess.Popen(
        [sys.executable, "-c", "from metahpo.cli import main; main()", "tune", "--space", "space.yaml",
         "--trials", "6", "--jobs", "2", "--optimizer", "random", "--storage", "sqlite:///t.db", "--name", "t",
         "--",
         "sh", "-c", f"echo $$ >> {pids}; exec sleep 60"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(pids.read_text().split() if pids.exists() else []) < 2:
        time.sleep(0.1)
    started = [int(p) for p in pids.read_text().split()]
    assert len(started) == 2
    process.send_signal(stop)
    output, _ = process.communicate(timeout=30)  # not the 60 s the commands would run
    assert process.returncode == 128 + stop, output
    assert not any(_alive(pid) for pid in started)
    assert len(pids.read_text().split()) == 2, "no command started after the interrupt"
    states = [t.state for t in mh.load_study("t", f"sqlite:///{tmp_path}/t.db").trials]
    assert states == [TrialState.FAILED] * 2


def test_a_second_signal_during_tune_s_grace_period_still_kills_the_command(tmp_path):
    # A command that ignores SIGTERM gets the grace period, then SIGKILL. An impatient
    # second signal must not cut that short and leave the command running.
    (tmp_path / "space.yaml").write_text("x: {type: float, low: 0, high: 1}\n")
    pids = tmp_path / "pids"
    process = subprocess.Popen(
        [sys.executable, "-c", "from metahpo.cli import main; main()", "tune", "--space", "space.yaml",
         "--trials", "2", "--optimizer", "random", "--storage", "sqlite:///t.db", "--name", "t", "--",
         "sh", "-c", f"trap '' TERM; echo $$ >> {pids}; exec sleep 60"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (pids.exists() and pids.read_text().strip()):
        time.sleep(0.1)
    command = int(pids.read_text())
    try:
        process.send_signal(signal.SIGTERM)
        time.sleep(1.0)  # inside the grace period: the command ignored SIGTERM
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
        assert process.returncode == 128 + signal.SIGTERM, output
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _alive(command):
            time.sleep(0.1)
        assert not _alive(command)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(command, signal.SIGKILL)


def test_tune_checks_its_options_before_creating_a_study(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "space.yaml").write_text("x: {type: float, low: 0, high: 1}\n")
    for option, value in (("--trials", "-1"), ("--jobs", "0"), ("--trial-timeout", "0"), ("--timeout", "inf"),
                          ("--trial-timeout", "1e400")):
        result = runner.invoke(app, ["tune", "--space", "space.yaml", option, value, "--name", "z",
                                     "--", "echo", "{x}"])
        assert result.exit_code == 1 and option in result.output
    assert not (tmp_path / "metahpo.db").exists()


def test_tell_refuses_a_handle_of_another_study():
    a = mh.create_study(space=_space(), optimizer="random", seed=0)
    b = mh.create_study(space=_space(), optimizer="random", seed=1)
    handle_a, _ = a.ask(), b.ask()
    with pytest.raises(InvalidParameterError, match="another study"):
        b.tell(handle_a, 0.1)
    assert [t.state for t in b.trials] == [TrialState.RUNNING]
    assert a.tell(handle_a, 0.1).state is TrialState.COMPLETE


def test_tell_refuses_a_value_for_a_failed_trial():
    study = mh.create_study(space=mh.Space({"x": mh.Float(0.0, 1.0)}), optimizer="random", seed=0)
    handle = study.ask()
    with pytest.raises(InvalidParameterError, match=r"'value' parameter of tell must be None for a FAILED"):
        study.tell(handle, 0.3, state="FAILED")
    assert study.trials[0].state is TrialState.RUNNING  # nothing stored: it can still be told
    assert study.tell(handle, state="FAILED", error="diverged").value is None


def test_a_handle_is_told_through_another_opening_of_its_study(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    study = mh.create_study(name="s", space=_space(), storage=url, optimizer="random", seed=0)
    handle = study.ask()
    assert mh.load_study("s", url).tell(handle, 0.5).state is TrialState.COMPLETE


@pytest.mark.parametrize(
    "key", ["enqueued_configs", "task", "optimizer_choice", "knowledge_update", "study_finished", "task_type"]
)
def test_a_studys_own_attributes_cannot_be_overwritten(key):  # "task" only by a descriptor
    study = mh.create_study(space=_space(), optimizer="random", seed=0)
    study.enqueue({"x": 0.25})
    with pytest.raises(InvalidParameterError, match=key) as refused:
        study.set_user_attr(key, "garbage")
    if key != "task":  # the message names the keys refused, not 'task', which a descriptor may set
        assert ("'enqueued_configs', 'knowledge_update', 'optimizer_choice', 'study_finished', 'task_type'] ("
                in str(refused.value))
    assert study.ask().config == {"x": 0.25}  # the queue still works
    study.set_user_attr("note", "mine")
    assert study.user_attrs["note"] == "mine"


@pytest.mark.parametrize("key", ["why", "enqueued", "optimizer_state", "dispatch"])
def test_a_trials_own_attributes_cannot_be_overwritten(key):
    study = mh.create_study(space=_space(), optimizer="random", seed=0)
    study.enqueue({"x": 0.25})
    study.enqueue({"x": 0.75})
    first = study.ask()
    with pytest.raises(InvalidParameterError, match=rf"'key' parameter of set_user_attr.*Got '{key}'"):
        first.set_user_attr(key, True)  # True == 1 would have marked entry 1 as taken
    study.tell(first, 0.5)
    second = study.ask()
    assert second.config == {"x": 0.75} and second.user_attrs["enqueued"] == 1
    assert study.trials[0].user_attrs["why"] == {"source": "enqueued", "entry": 0}


def test_a_relative_sqlite_url_names_the_same_database_from_another_folder(tmp_path, monkeypatch):
    first, elsewhere = tmp_path / "first", tmp_path / "elsewhere"
    first.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(first)
    study = mh.create_study(name="s", preset="logistic-regression", storage="sqlite:///rel.db", seed=0)
    specs = study.optimizer.knowledge.spec
    assert f"sqlite:///{first / 'rel.db'}" in specs and "sqlite:///rel.db" not in specs
    monkeypatch.chdir(elsewhere)
    reopened = mh.load_study("s", f"sqlite:///{first / 'rel.db'}")
    assert reopened.optimizer.knowledge.spec == specs
    assert not (elsewhere / "rel.db").exists()


def test_opening_a_missing_sqlite_file_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StudyNotFoundError, match=r"typo\.db"):
        mh.load_study("x", "sqlite:///typo.db")
    with pytest.raises(InvalidParameterError, match=r"team\.db"):
        mh.KnowledgeBase.open("sqlite:///team.db")
    assert not list(tmp_path.iterdir())


def test_optimize_refuses_bad_catch_and_callbacks_before_any_trial():
    study = mh.create_study(space=_space(), optimizer="random", seed=0)
    with pytest.raises(InvalidParameterError, match="'catch'"):
        study.optimize(lambda t: 0.0, n_trials=1, catch=5)
    with pytest.raises(InvalidParameterError, match="'callbacks'"):
        study.optimize(lambda t: 0.0, n_trials=1, callbacks=[5])
    assert study.trials == []


def test_numpy_scalars_are_numbers():
    space = mh.Space({"x": mh.Float(np.float32(0.0), 1.0), "n": mh.Int(np.int64(1), 5)})
    assert space.validate({"x": np.float32(0.5), "n": np.int32(2)}) == {"x": 0.5, "n": 2}
    with pytest.raises(InvalidParameterError):
        space.validate({"x": np.bool_(True), "n": 2})


def test_a_task_that_is_not_a_descriptor_is_refused_before_the_study_is_stored():
    storage = mh.InMemoryStorage()
    with pytest.raises(InvalidParameterError, match="task"):
        mh.create_study(name="t", space=_space(), task=np.zeros((3, 2)), storage=storage)
    assert storage.list_studies() == []


def test_a_plot_into_a_missing_folder_is_a_clear_error(tmp_path):
    study = mh.create_study(name="p", space=_space(), storage=f"sqlite:///{tmp_path}/p.db",
                            optimizer="random", seed=0)
    study.optimize(lambda t: t.config["x"], n_trials=2, show_progress=False)
    result = runner.invoke(app, ["plot", "p", "history", "--out", str(tmp_path / "no" / "x.html"),
                                 "--storage", f"sqlite:///{tmp_path}/p.db"])
    # The message wraps at the console's width, wherever the temporary path's length puts it.
    assert result.exit_code == 1 and "does not exist" in " ".join(result.output.split())
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("preset", "y", "match"),
    [
        ("logistic-regression", np.zeros(40, dtype=int), "two classes"),
        ("logistic-regression", np.linspace(0.1, 9.7, 40), "regressor"),
        ("hgb-regressor", np.array(["a", "b"] * 20), "regression target"),
    ],
)
def test_a_preset_objective_refuses_a_target_its_model_cannot_learn(preset, y, match):
    X = np.random.default_rng(0).normal(size=(40, 3))
    with pytest.raises(InvalidParameterError, match=match):
        mh.presets.objective(preset, X, y, cv=3)


def _with(values, index, value):
    out = np.array(values, dtype=object if value is None else float)
    out[index] = value
    return out


_X = np.random.default_rng(0).normal(size=(40, 3))
_Y = np.array([0, 1] * 20)


@pytest.mark.parametrize(
    ("preset", "X", "y", "cv", "match"),
    [
        # Whole-number regression targets read as hundreds of classes of one or two rows.
        ("hgb-classifier", _X, np.arange(40) % 25, 3, r"'y'.*25 classes for 40 rows, fewer than the 3 .* on average"),
        ("hgb-classifier", _X, _Y, 30, r"'y'.*2 classes for 40 rows"),
        ("hgb-classifier", _X[:4], np.array([0, 0, 1, 1]), 3, r"'y'.*2 classes for 4 rows"),
        ("hgb-regressor", _X, _X[:, 0], 41, r"'cv' parameter.*<= 40"),
        ("hgb-classifier", _X, _with(_Y, 3, np.nan), 3, r"'y'.*1 missing values"),
        ("hgb-classifier", _X, _with(_Y, 3, None), 3, r"'y'.*1 missing values"),
        ("hgb-regressor", _X, _with(_X[:, 0], 5, np.nan), 3, r"'y'.*1 missing values"),
        ("hgb-classifier", _with(_X, (2, 1), np.inf), _Y, 3, r"'X'.*infinite"),
        ("mlp-classifier", _with(_X, (2, 1), np.nan), _Y, 3, r"'X'.*1 missing values.*impute"),
        ("logistic-regression", _with(_X, (2, 1), np.nan), _Y, 3, r"'X'.*1 missing values.*impute"),
        ("hgb-classifier", np.full((40, 3), np.nan), _Y, 3, r"'X'.*entirely missing"),
        ("random-forest-classifier", _with(_X, (2, 1), 1e300), _Y, 3, r"'X'.*within ±3\.4e\+38.*RandomForest.*Got 1 values"),
        ("logistic-regression", _with(_X, (2, 1), 1e300), _Y, 3, r"'X'.*within ±1e\+150.*LogisticRegression"),
        ("hgb-regressor", _X, _with(_X[:, 0], 5, np.inf), 3, r"'y'.*finite.*Got 1 infinite"),
        ("hgb-classifier", _X, np.array(["a", 1] * 20, dtype=object), 3, r"'y'.*one type.*\['int', 'str'\]"),
    ],
)
def test_a_preset_objective_refuses_data_no_trial_could_learn_from(preset, X, y, cv, match):
    with pytest.raises(InvalidParameterError, match=match):
        mh.presets.objective(preset, X, y, cv=cv)


@pytest.mark.filterwarnings("ignore:The least populated class")
def test_imbalanced_classes_are_taken():
    X = np.random.default_rng(1).normal(size=(208, 3))
    y = np.array([0] * 200 + [1] * 4 + [2] * 4)  # two classes smaller than the 5 folds
    objective = mh.presets.objective("hgb-classifier", X, y, cv=5)
    trial = mh.create_study(preset="hgb-classifier", optimizer="random", seed=0).ask()
    assert np.isfinite(objective(trial))


@pytest.mark.filterwarnings("ignore:The least populated class")
def test_tree_presets_take_missing_features_and_a_few_rare_classes():
    X = _with(_X, (2, 1), np.nan)
    y = np.array([0, 1] * 19 + [2, 2])  # one class of two rows, fewer than the 3 folds
    objective = mh.presets.objective("hgb-classifier", X, y, cv=3)
    trial = mh.create_study(preset="hgb-classifier", optimizer="random", seed=0).ask()
    assert np.isfinite(objective(trial))


@pytest.mark.filterwarnings("ignore:The least populated class")
@pytest.mark.parametrize("preset", ["hgb-classifier", "logistic-regression"])
def test_a_fold_that_trains_on_one_class_scores_the_constant_prediction(preset):
    y = np.zeros(40, dtype=int)
    y[0] = 1  # the fold that validates on it trains on class 0 alone
    objective = mh.presets.objective(preset, _X, y, cv=4)
    trial = mh.create_study(preset=preset, optimizer="random", seed=0).ask()
    # The lone member's fold: 9 rows at no cost and one certain miss, floored at 1e-15.
    from metahpo.presets._losses import WORST_LOG_LOSS

    assert objective(trial) >= WORST_LOG_LOSS / 10 / 4


def test_nullable_pandas_columns_and_a_column_never_observed_are_taken():
    import pandas as pd

    frame = pd.DataFrame(_X, columns=["a", "b", "c"])
    frame["count"] = pd.array([1, None, 3, 4] * 10, dtype="Int64")
    frame["empty"] = np.nan  # no value in any row: no fold can learn from it
    for preset in ("hgb-classifier", "random-forest-classifier"):
        trial = mh.create_study(preset=preset, optimizer="random", seed=0).ask()
        assert np.isfinite(mh.presets.objective(preset, frame, _Y, cv=3)(trial))
    assert mh.Task.from_data(frame, _Y).descriptor["n_features"] == 5
    with pytest.raises(InvalidParameterError, match=r"'y'.*Task.from_data.*one type"):
        mh.Task.from_data(_X, np.array(["a", 1] * 20, dtype=object))


def test_huge_features_stay_allowed_for_the_models_that_compute_with_them():
    trial = mh.create_study(preset="hgb-classifier", optimizer="random", seed=0).ask()
    assert np.isfinite(mh.presets.objective("hgb-classifier", _with(_X, (2, 1), 1e300), _Y, cv=3)(trial))


def test_a_preset_study_refuses_a_scheduler_beyond_its_budgets():
    with pytest.raises(InvalidParameterError, match=r"'scheduler'.*'hgb-regressor'.*\[1, 27\].*min_budget=27 and max_budget=81"):
        mh.create_study(preset="hgb-regressor", scheduler=mh.Hyperband(min_budget=27, max_budget=81))
    assert mh.create_study(preset="hgb-regressor", scheduler=mh.Hyperband(min_budget=1, max_budget=27)).scheduler


def test_a_task_of_the_other_type_is_refused_with_a_preset(tmp_path):
    X, y = _X, np.arange(40) % 25 + 100.0  # a whole-number regression target
    with pytest.raises(InvalidParameterError, match=r"'task'.*classification dataset.*task_type='regression'"):
        mh.create_study(preset="hgb-regressor", task=mh.Task.from_data(X, y), storage=f"sqlite:///{tmp_path}/t.db")
    assert not (tmp_path / "t.db").exists()
    task = mh.Task.from_data(X, y, task_type="regression")
    with pytest.raises(InvalidParameterError, match=r"'task'.*regression dataset.*'hgb-classifier'"):
        mh.create_study(preset="hgb-classifier", task=task, storage=mh.InMemoryStorage())
    assert mh.create_study(preset="hgb-regressor", task=task, storage=mh.InMemoryStorage()).space.names


def test_a_1d_x_is_refused_alike_by_the_descriptor_and_the_objective():
    # One reading for both: a study's descriptor and its objective see the same data.
    one_column = _X[:, 0]
    with pytest.raises(InvalidParameterError, match=r"'X'.*Task.from_data.*2-D.*reshape\(-1, 1\)"):
        mh.Task.from_data(one_column, _Y)
    with pytest.raises(InvalidParameterError, match=r"'X'.*2-D.*reshape\(-1, 1\)"):
        mh.presets.objective("hgb-classifier", one_column, _Y, cv=3)
    assert mh.Task.from_data(one_column.reshape(-1, 1), _Y).descriptor["n_features"] == 1


def test_task_from_data_refuses_missing_labels():
    import pandas as pd

    with pytest.raises(InvalidParameterError, match=r"'y' parameter of Task.from_data has 1 missing"):
        mh.Task.from_data(_X, _with(_Y, 0, np.nan))
    labels = pd.Series(["a", "b"] * 20, dtype="string")
    labels[4] = pd.NA
    with pytest.raises(InvalidParameterError, match=r"'y' parameter of Task.from_data has 1 missing"):
        mh.Task.from_data(_X, labels)
    with pytest.raises(InvalidParameterError, match=r"'y'.*1 missing"):
        mh.presets.objective("hgb-classifier", _X, labels, cv=3)


def test_a_preset_objective_refuses_text_features():
    X = np.array([["a", 1.0]] * 20, dtype=object)
    with pytest.raises(InvalidParameterError, match=r"'X'.*numeric"):
        mh.presets.objective("logistic-regression", X, np.array([0, 1] * 10), cv=3)


def test_a_study_reopened_without_its_in_memory_knowledge_says_so(tmp_path, caplog):
    space = _space()
    kb = mh.KnowledgeBase()
    for i in range(3):
        kb.add_task(space, [{"x": v / 5} for v in range(6)], [float((v - i) ** 2) for v in range(6)], name=f"t{i}")
    url = f"sqlite:///{tmp_path}/k.db"
    mh.create_study(name="k", space=space, storage=url, optimizer=mh.MetaBO(kb, continual_update=False), seed=0)
    with caplog.at_level("WARNING", logger="metahpo.study"):
        mh.load_study("k", url)
    assert "learns from no past tasks" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="metahpo.study"):
        mh.load_study("k", url, knowledge=kb)
    assert "learns from no past tasks" not in caplog.text


def test_tune_keeps_the_metrics_a_command_prints_beside_its_value(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "space.yaml").write_text("x: {type: float, low: 0, high: 1}\n")
    script = 'import json; print(json.dumps({{"value": {x}, "accuracy": 0.97, "why": "mine"}}))'
    result = runner.invoke(app, ["tune", "--space", "space.yaml", "--trials", "2", "--name", "m",
                                 "--optimizer", "random", "--", sys.executable, "-c", script])
    assert result.exit_code == 0, result.output
    trials = mh.load_study("m", "sqlite:///metahpo.db").trials
    assert [t.user_attrs["accuracy"] for t in trials] == [0.97, 0.97]
    assert all(t.user_attrs["why"] != "mine" for t in trials)  # metahpo's own attribute is kept


def test_a_task_descriptor_may_be_set_after_creation():
    study = mh.create_study(space=_space(), optimizer="random", seed=0)
    study.set_user_attr("task", {"name": "d", "descriptor": {"n_samples": 100.0}})
    assert study.user_attrs["task"]["name"] == "d"


def test_a_stored_knowledge_spec_is_reopened_as_it_can_be(tmp_path, caplog):
    from metahpo.storage import SQLStorage
    from metahpo.study._knowledge import reachable_knowledge

    own = SQLStorage(f"sqlite:///{tmp_path}/own.db")
    # As an earlier version stored it: the study's own storage by a relative URL.
    stored = ["bundled:keel-hgb", "sqlite:///own.db", f"sqlite:///{tmp_path}/gone.db"]
    with caplog.at_level("WARNING", logger="metahpo.study"):
        assert reachable_knowledge(stored, own, "s") == ["bundled:keel-hgb", f"sqlite:///{tmp_path}/own.db"]
    assert "gone.db does not exist any more" in caplog.text


def test_a_study_whose_knowledge_file_is_gone_still_opens(tmp_path, caplog):
    other = f"sqlite:///{tmp_path}/other.db"
    mh.create_study(name="o", space=_space(), storage=other, optimizer="random", seed=0)
    url = f"sqlite:///{tmp_path}/s.db"
    mh.create_study(name="s", space=_space(), storage=url, optimizer="metabo", knowledge=other, seed=0)
    (tmp_path / "other.db").unlink()
    with caplog.at_level("WARNING", logger="metahpo.study"):
        study = mh.load_study("s", url)
    assert "other.db does not exist any more" in caplog.text
    assert study.ask().config  # and it suggests (from no past tasks)
    assert not (tmp_path / "other.db").exists()


def test_uri_and_environment_sqlite_urls_are_opened_as_created(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    uri = "sqlite:///file:u.db?uri=true"
    mh.create_study(name="u", space=_space(), storage=uri, optimizer="random", seed=0)
    assert mh.load_study("u", uri).name == "u"
    monkeypatch.setenv("METAHPO_STORAGE", "sqlite:///typo.db")
    with pytest.raises(StudyNotFoundError, match=r"typo\.db"):
        mh.load_study("u")
    assert not (tmp_path / "typo.db").exists()


def test_an_ignored_sigint_stays_ignored_while_tune_runs():
    from metahpo.cli._command import command_objective

    objective = command_objective(["true"])
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with objective.stop_on_interrupt():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        objective.stopping.set()  # a stop seen by an earlier run ...
        signal.signal(signal.SIGINT, signal.default_int_handler)
        with objective.stop_on_interrupt():
            assert not objective.stopping.is_set()  # ... does not stop the next one
            assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)


def test_two_openings_of_one_database_are_one_study_whatever_the_driver_or_password():
    from metahpo.study._tell import storage_key

    class Opened:
        def __init__(self, url: str) -> None:
            self.url = url

    assert storage_key(Opened("postgresql://u:secret@db:5432/hpo")) == storage_key(
        Opened("postgresql+psycopg://u@db:5432/hpo"))
    assert storage_key(Opened("postgresql://u@db:5432/hpo")) != storage_key(Opened("postgresql://u@db:5432/other"))


def test_a_sqlite_file_in_a_missing_folder_names_the_folder(tmp_path):
    url = f"sqlite:///{tmp_path}/no/such/x.db"
    with pytest.raises(mh.exceptions.StorageError, match=r"folder '.*no/such' does not exist"):
        mh.create_study(space=_space(), storage=url)
    assert not (tmp_path / "no").exists()


def test_deleting_or_listing_in_a_missing_sqlite_file_creates_nothing(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/typo.db"
    with pytest.raises(mh.exceptions.StorageError, match=r"no database at .*typo\.db.*nothing was created"):
        mh.delete_study("s", url)
    assert mh.list_studies(url) == []  # no study there, as before; and no file made for it
    monkeypatch.setenv("METAHPO_STORAGE", url)
    with pytest.raises(mh.exceptions.StorageError, match="nothing was created"):
        mh.delete_study("s")
    assert mh.list_studies() == []
    assert not (tmp_path / "typo.db").exists()


@pytest.mark.parametrize(
    ("option", "value"),
    [("optimizer", "gbpo"), ("direction", "minimise"), ("scheduler", "hyperbnd"), ("seed", -1),
     ("load_if_exists", "yes"), ("name", ""), ("space", {"x": (0, 1)}), ("preset", "hgb")],
)
def test_a_misspelt_option_leaves_no_database_behind(tmp_path, option, value):
    arguments = {"space": _space(), option: value}
    with pytest.raises(InvalidParameterError, match=f"'{option}' parameter"):
        mh.create_study(storage=f"sqlite:///{tmp_path}/x.db", **arguments)
    assert not (tmp_path / "x.db").exists()


def _foreign_sqlite(path):
    import sqlite3

    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE other_program (x INTEGER)")
    db.close()
    return path.read_bytes()


@pytest.mark.parametrize("reader", ["plot", "dashboard", "figure", "cli-plot", "cli-dashboard"])
def test_readers_leave_another_programs_sqlite_file_and_a_missing_path_alone(tmp_path, reader):
    from metahpo import visualization as vis
    from metahpo.dashboard import create_app

    foreign = tmp_path / "other.db"
    before = _foreign_sqlite(foreign)
    for path, message in ((foreign, "not a metahpo database"), (tmp_path / "missing.db", "no database at")):
        url = f"sqlite:///{path}"
        if reader.startswith("cli-"):
            args = ["plot", "s", "history", "--out", str(tmp_path / "h.html")] if reader == "cli-plot" else ["dashboard", "--port", "0"]
            result = runner.invoke(app, [*args, "--storage", url])
            assert result.exit_code != 0 and message in " ".join(result.output.split()).lower()
            assert "http://" not in result.output  # a bad storage fails before a URL is announced
        else:
            calls = {"plot": lambda u: vis.plot("s", "history", storage=u),
                     "dashboard": create_app,
                     "figure": lambda u: vis.plot_knowledge_map(storage=u)}
            with pytest.raises(mh.exceptions.StorageError, match=message):
                calls[reader](url)
    assert foreign.read_bytes() == before
    assert not (tmp_path / "missing.db").exists()


def test_report_refuses_a_step_that_is_not_a_finite_non_negative_number():
    study = mh.create_study(space=_space(), optimizer="random", seed=0)
    trial = study.ask()
    for step in (-1, float("nan"), float("inf"), "3"):
        with pytest.raises(InvalidParameterError, match=r"'step' parameter of TrialHandle\.report"):
            trial.report(step, 0.5)
    trial.report(2, 0.5)
    trial.report(2, 0.3)  # reported again: replaced
    assert study.storage.get_trial(study.study_id, trial.number).intermediate == {2.0: 0.3}


def test_report_refuses_a_step_lower_than_one_already_reported():
    study = mh.create_study(space=_space(), optimizer="random", seed=0)
    trial = study.ask()
    trial.report(5, 0.5)
    with pytest.raises(InvalidParameterError, match=r"'step' parameter of TrialHandle\.report must be >= 5\.0.*Got 3\.0"):
        trial.report(3, 0.4)
    trial.report(5, 0.45)  # the last step again: replaced
    trial.report(6, 0.4)
    assert study.storage.get_trial(study.study_id, trial.number).intermediate == {5.0: 0.45, 6.0: 0.4}


def test_a_study_missing_from_the_in_memory_storage_says_where_stored_studies_are():
    with pytest.raises(StudyNotFoundError, match=r"in memory.*sqlite:///FILE\.db"):
        mh.load_study("made-by-metahpo-tune")


def test_numpy_integers_are_ints_where_ints_are_asked_for():
    import numpy as np

    study = mh.create_study(space=mh.Space({"x": mh.Float(0, 1)}), optimizer="random", seed=np.int64(3))
    study.optimize(lambda t: t.config["x"], n_trials=np.int32(2), show_progress=False)
    assert study.seed == 3 and len(study.trials) == 2
    with pytest.raises(InvalidParameterError, match="'seed' parameter"):
        mh.create_study(space=mh.Space({"x": mh.Float(0, 1)}), seed=np.bool_(True))
    # Kept as ints: the optimizer and scheduler are stored as JSON with the study.
    stored = mh.create_study(space=mh.Space({"x": mh.Float(0, 1)}), seed=0,
                             optimizer=mh.GPBO(n_initial=np.int64(3), n_restarts=np.int64(2)),
                             scheduler=mh.Hyperband(1, 9, eta=np.int64(3)))
    assert stored.optimizer.n_initial == 3 and type(stored.optimizer.n_initial) is int


def test_a_file_that_is_no_database_is_named_in_the_error(tmp_path):
    junk = tmp_path / "notes.db"
    junk.write_text("not a database\n")
    with pytest.raises(mh.StorageError, match=rf"The database sqlite:///{junk} failed .*not a database"):
        mh.create_study(space=mh.Space({"x": mh.Float(0.0, 1.0)}), storage=f"sqlite:///{junk}")
    assert junk.read_text() == "not a database\n"


def test_telling_a_trial_number_the_study_does_not_have_is_a_parameter_error():
    study = mh.create_study(space=mh.Space({"x": mh.Float(0.0, 1.0)}), optimizer="random", seed=0)
    study.tell(study.ask(), 0.5)
    with pytest.raises(InvalidParameterError, match=r"'trial' parameter of Study.tell.*Got 999"):
        study.tell(999, 0.3)
    assert [t.value for t in study.trials] == [0.5]


@pytest.mark.parametrize("writer", ["tune", "presets-tune", "kb-import"])
def test_writers_refuse_another_programs_sqlite_file(tmp_path, monkeypatch, writer):
    # Opening a storage creates metahpo's tables: into another program's file they must not go.
    monkeypatch.chdir(tmp_path)
    foreign = tmp_path / "other.db"
    before = _foreign_sqlite(foreign)
    url = f"sqlite:///{foreign}"
    if writer == "tune":
        (tmp_path / "space.yaml").write_text("x: {type: float, low: 0, high: 1}\n")
        args = ["tune", "--space", "space.yaml", "--trials", "1", "--storage", url, "--",
                sys.executable, "-c", "print(0.5)"]
    elif writer == "presets-tune":
        rows = ["a,b,label", *(f"{i},{i % 3},{i % 2}" for i in range(40))]
        (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
        args = ["presets", "tune", "hgb-classifier", "--data", "data.csv", "--target", "label", "--trials", "1",
                "--storage", url]
    else:
        space = mh.Space({"x": mh.Float(0.0, 1.0)})
        kb = mh.KnowledgeBase()
        configs = space.sobol(8, seed=0)
        kb.add_task(space, configs, [c["x"] for c in configs], name="t")
        kb.save(tmp_path / "knowledge")
        args = ["kb", "import", "knowledge", "--storage", url]
    result = runner.invoke(app, args)
    said = " ".join(result.output.split())
    assert result.exit_code != 0 and "another program's sqlite database" in said.lower(), said
    assert foreign.read_bytes() == before
    # A new file in the same folder is set up as before.
    assert not (tmp_path / "metahpo.db").exists()
