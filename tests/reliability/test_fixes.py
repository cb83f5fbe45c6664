"""One test per fix of the reliability issue (#17); each failed on the code before it.

The chaos suite (``test_chaos.py``) checks the same fixes end to end, against real
processes, a real Dask cluster and a real PostgreSQL server.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner

import metahpo as mh
from metahpo.cli import app
from metahpo.cli._command import command_objective
from metahpo.exceptions import TrialStateError
from metahpo.optimizers import BaseOptimizer
from metahpo.storage import SQLStorage
from metahpo.study import Study
from metahpo.trial import TrialState

runner = CliRunner()


def _space() -> mh.Space:
    return mh.Space({"x": mh.Float(-5.0, 5.0), "y": mh.Float(-5.0, 5.0)})


# 1. A Dask task run again returns the trial it already ran -----------------------------
def test_a_task_run_again_returns_its_finished_trial(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    study = mh.create_study(name="s", space=_space(), storage=url, optimizer="random", seed=0)
    first = study.run_trial(lambda t: 1.0, (Exception,), dispatch="run:0")
    again = Study.load("s", url).run_trial(lambda t: 2.0, (Exception,), dispatch="run:0")
    assert again.number == first.number and again.value == 1.0
    assert len(study.trials) == 1


def test_a_task_whose_trial_died_with_its_worker_runs_a_new_trial(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    storage = SQLStorage(url, heartbeat_interval=0.05)
    study = mh.create_study(name="s", space=_space(), storage=storage, optimizer="random", seed=0)
    dead = study.ask()
    study.storage.set_trial_user_attrs(study.study_id, dead.number, {"dispatch": "run:0"})
    study.storage.heartbeat(study.study_id, dead.number)
    time.sleep(0.3)
    assert study.storage.fail_stale_trials(study.study_id) == [dead.number]
    again = Study.load("s", storage).run_trial(lambda t: 2.0, (Exception,), dispatch="run:0")
    assert again.number == dead.number + 1 and again.state is TrialState.COMPLETE


# 4. A worker paused past the grace period still delivers its result --------------------
def test_a_late_result_finishes_a_trial_taken_for_dead(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    paused = mh.create_study(name="s", space=_space(), storage=SQLStorage(url, heartbeat_interval=0.05),
                             optimizer="random", seed=0)
    handle = paused.ask()
    paused.storage.heartbeat(paused.study_id, handle.number)
    time.sleep(0.3)  # Paused past the grace period (0.2 s).
    other = Study.load("s", SQLStorage(url, heartbeat_interval=0.05))
    assert other.storage.fail_stale_trials(other.study_id) == [handle.number]
    done = paused.tell(handle, 0.5)  # Raised TrialStateError before.
    assert done.state is TrialState.COMPLETE and done.value == 0.5 and done.error is None
    with pytest.raises(TrialStateError):
        paused.tell(handle, 0.7)


def test_optimize_goes_on_after_a_pause_past_the_grace_period(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    storage = SQLStorage(url, heartbeat_interval=0.05)
    study = mh.create_study(name="s", space=_space(), storage=storage, optimizer="random", seed=0)
    reaper = Study.load("s", SQLStorage(url, heartbeat_interval=0.05))

    def objective(trial):
        if trial.number == 1:  # Freeze the heartbeat as SIGSTOP would, then reap the trial.
            original = storage.heartbeat
            storage.heartbeat = lambda *a: None  # type: ignore[method-assign]
            time.sleep(0.35)
            assert reaper.storage.fail_stale_trials(reaper.study_id) == [1]
            storage.heartbeat = original  # type: ignore[method-assign]
        return trial.config["x"] ** 2

    study.optimize(objective, n_trials=4)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 4


# 6. With catch=() on Dask, the tasks not yet started are cancelled ---------------------
def test_dask_cancels_the_remaining_trials_when_optimize_raises(tmp_path):
    distributed = pytest.importorskip("distributed")
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    study = mh.create_study(name="s", space=_space(), storage=url, optimizer="random", seed=0)

    def objective(trial):
        import time as _time

        _time.sleep(0.3)
        if trial.number == 2:
            raise RuntimeError("boom")
        return 0.0

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        with pytest.raises(RuntimeError, match="boom"):
            study.optimize(objective, n_trials=20, executor=client, catch=())
        at_raise = len(study.trials)
        time.sleep(2.0)
        assert len(study.trials) <= at_raise + 2  # Only the trials already running finished.
    assert len(study.trials) < 20


# 7. Two workers suggesting at the same moment do not run one config twice --------------
class _FirstFree(BaseOptimizer):
    """Proposes the first grid point not in the history (pending included), after every
    other worker has started suggesting: the race that GP-BO runs into at its optimum."""

    name: ClassVar[str] = "first-free"
    barrier: ClassVar[threading.Barrier]

    def __init__(self) -> None:
        pass

    def suggest(self, history: Any, n: int = 1) -> list[dict[str, Any]]:
        taken = {(t.config["x"], t.config["y"]) for t in history.trials if t.config}
        if len(taken) < 2:
            with contextlib.suppress(threading.BrokenBarrierError):
                type(self).barrier.wait(timeout=2)
        free = next(p for p in [(5.0, -5.0), (-5.0, 5.0), (0.0, 0.0), (1.0, 1.0)] if p not in taken)
        return [{"x": free[0], "y": free[1]}]


def test_concurrent_suggestions_never_evaluate_one_config_twice(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    _FirstFree.barrier = threading.Barrier(2)
    record = mh.create_study(name="s", space=_space(), storage=url, optimizer="random", seed=0)
    workers = [Study(record._record, SQLStorage(url), _FirstFree(), record.scheduler) for _ in range(2)]
    threads = [threading.Thread(target=w.optimize, args=(lambda t: 0.0,), kwargs={"n_trials": 1})
               for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    configs = [(t.config["x"], t.config["y"]) for t in record.trials]
    assert len(configs) == 2 and len(set(configs)) == 2, configs


# 9. load_if_exists refuses a different direction, optimizer, seed or scheduler ---------
@pytest.mark.parametrize("change", [
    {"direction": "maximize"}, {"optimizer": "sobol"}, {"seed": 2}, {"scheduler": mh.Hyperband(1, 9, 3)},
])
def test_load_if_exists_refuses_a_different_study(tmp_path, change):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    base = {"name": "s", "space": _space(), "storage": url, "optimizer": "random", "seed": 1}
    mh.create_study(**base)
    with pytest.raises(mh.InvalidParameterError, match=f"'{next(iter(change))}' parameter of create_study"):
        mh.create_study(**{**base, **change}, load_if_exists=True)
    assert mh.create_study(**base, load_if_exists=True).name == "s"
    assert mh.create_study(**{**base, "seed": None, "optimizer": "auto"}, load_if_exists=True).seed == 1


# 10. Validation gaps ---------------------------------------------------------------------
def test_seed_beyond_64_bits_is_a_parameter_error(tmp_path):
    with pytest.raises(mh.InvalidParameterError, match="'seed' parameter"):
        mh.create_study(space=_space(), storage=f"sqlite:///{tmp_path / 'db.sqlite'}", seed=2**63)
    assert mh.create_study(space=_space(), seed=2**63 - 1, optimizer="random").seed == 2**63 - 1


def test_an_int_too_large_for_a_float_is_a_parameter_error():
    study = mh.create_study(space=_space(), optimizer="random", seed=0)
    trial = study.ask()
    with pytest.raises(mh.InvalidParameterError, match="'value' of a trial"):
        study.tell(trial, 2**2000)
    assert study.trials[0].state is TrialState.RUNNING


def test_a_float_range_of_infinite_width_is_refused():
    with pytest.raises(mh.InvalidParameterError, match="finite width"):
        mh.Float(-1e308, 1e308)
    with pytest.raises(mh.InvalidParameterError, match="2\\*\\*53"):
        mh.Int(0, 2**60)


def test_a_timeout_that_is_not_positive_is_refused():
    study = mh.create_study(space=_space(), optimizer="random", seed=0)
    for timeout in (-1, 0):
        with pytest.raises(mh.InvalidParameterError, match="'timeout' parameter of optimize"):
            study.optimize(lambda t: 0.0, timeout=timeout)


# 14. Heartbeat defaults and retries --------------------------------------------------------
def test_a_dead_trial_is_failed_within_20_seconds_by_default(tmp_path):
    storage = SQLStorage(f"sqlite:///{tmp_path / 'db.sqlite'}")
    assert storage.heartbeat_interval == 5.0 and storage.grace_period == 20.0


def test_a_dead_trial_is_retried_with_its_config(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    dead = mh.create_study(name="s", space=_space(), storage=SQLStorage(url, heartbeat_interval=0.05),
                           optimizer="random", seed=0)
    handle = dead.ask()
    dead.storage.heartbeat(dead.study_id, handle.number)  # ... and then its process dies.
    time.sleep(0.3)
    survivor = Study.load("s", SQLStorage(url, heartbeat_interval=0.05))
    survivor.optimize(lambda t: t.config["x"], n_trials=2, retries=1)
    trials = survivor.trials
    assert trials[0].state is TrialState.FAILED
    assert trials[1].config == trials[0].config and trials[1].state is TrialState.COMPLETE
    assert trials[1].user_attrs["why"] == {"source": "retry", "retry_of": 0, "previous": 0, "attempt": 1}
    assert trials[2].user_attrs["why"]["source"] != "retry"
    with pytest.raises(mh.InvalidParameterError, match="'retries' parameter of optimize"):
        survivor.optimize(lambda t: 0.0, n_trials=1, retries=-1)


# 3, 11, 12, 13. The command line ------------------------------------------------------------
@pytest.fixture()
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("METAHPO_STORAGE", raising=False)
    (tmp_path / "space.yaml").write_text("x: {type: float, low: -5, high: 5}\n")
    return tmp_path


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # A zombie is dead too.
        return stat.read().split(")")[-1].split()[0] != "Z"


def test_a_trial_timeout_kills_the_commands_grandchildren(tmp_path):
    pidfile = tmp_path / "grandchild.pid"
    command = ["sh", "-c", f"sleep 60 & echo $! > {pidfile}; wait"]
    study = mh.create_study(space=mh.Space({"x": mh.Float(0, 1)}), optimizer="random", seed=0)
    study.optimize(command_objective(command, timeout=1.0), n_trials=1)
    grandchild = int(pidfile.read_text())
    deadline = time.monotonic() + 10
    while _pid_alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _pid_alive(grandchild)
    assert study.trials[0].state is TrialState.FAILED
    assert "killed" in study.trials[0].error


@pytest.mark.parametrize("name", ["trial", "budget"])
def test_tune_refuses_a_parameter_named_like_a_placeholder(workdir, name):
    (workdir / "space.yaml").write_text(f"{name}: {{type: int, low: 1, high: 3}}\n")
    result = runner.invoke(app, ["tune", "--space", "space.yaml", "--", "echo", f"{{{name}}}"])
    assert result.exit_code == 1 and f"{name!r}" in result.output
    assert not (workdir / "metahpo.db").exists() or "tune" not in result.output


def test_tune_refuses_duplicate_yaml_keys(workdir):
    (workdir / "space.yaml").write_text("x: {type: float, low: 0, high: 1}\nx: {type: int, low: 1, high: 3}\n")
    result = runner.invoke(app, ["tune", "--space", "space.yaml", "--", "echo", "{x}"])
    assert result.exit_code == 1 and "appears twice" in result.output


def test_tune_refuses_bad_braces_before_the_first_trial(workdir):
    result = runner.invoke(app, ["tune", "--space", "space.yaml", "--trials", "2", "--",
                                 sys.executable, "-c", "print({x} + len('{z}'))"])
    assert result.exit_code == 1 and "{z}" in result.output
    assert not (workdir / "metahpo.db").exists()  # Refused before any study or trial.
    escaped = runner.invoke(app, ["tune", "--space", "space.yaml", "--trials", "2", "--optimizer", "random",
                                  "--", sys.executable, "-c", "print({x} + len('{{z}}'))"])
    assert escaped.exit_code == 0, escaped.output


def test_tune_names_its_study_after_the_whole_command(workdir):
    for script in ("a", "b"):
        result = runner.invoke(app, ["tune", "--space", "space.yaml", "--trials", "1", "--optimizer", "random",
                                     "--", sys.executable, "-c", f"print({{x}}) # {script}", "same-last"])
        assert result.exit_code == 0, result.output
    names = [s.name for s in mh.list_studies("sqlite:///metahpo.db")]
    assert len(names) == 2 and "same-last" not in names


def test_tune_refuses_another_direction_for_an_existing_study(workdir):
    base = ["tune", "--space", "space.yaml", "--trials", "1", "--name", "n", "--optimizer", "random"]
    assert runner.invoke(app, [*base, "--", "echo", "{x}"]).exit_code == 0
    result = runner.invoke(app, [*base, "--direction", "maximize", "--", "echo", "{x}"])
    assert result.exit_code == 1 and "--direction must be 'minimize'" in result.output


def test_show_prints_the_error_of_failed_trials(workdir):
    study = mh.create_study(name="s", space=_space(), storage="sqlite:///metahpo.db", optimizer="random")
    study.optimize(lambda t: 1 / 0, n_trials=1)
    result = runner.invoke(app, ["show", "s"], terminal_width=200)
    assert result.exit_code == 0 and "ZeroDivisionError: division by zero" in result.output


@pytest.mark.parametrize("command", [["studies"], ["show", "s"], ["delete", "s", "--yes"]])
def test_read_only_commands_create_no_database(workdir, command):
    result = runner.invoke(app, [*command, "--storage", "sqlite:///new.db"])
    assert result.exit_code == 1 and "does not exist" in " ".join(result.output.split())
    assert not (workdir / "new.db").exists()


# 5. No password is stored or shown --------------------------------------------------------
def test_a_knowledge_spec_is_stored_and_shown_without_its_password(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    secret_url = "postgresql+psycopg://user:SECRET@db.example:5432/kb"
    kb = mh.KnowledgeBase(spec=[secret_url, "bundled:x"])
    assert "SECRET" not in repr(kb.spec) and "user@db.example" in repr(kb.spec)
    assert "SECRET" not in repr(kb)
    from metahpo.knowledge import spec_with_credentials

    assert spec_with_credentials(kb.spec, ["postgresql+psycopg://user:SECRET@db.example:5432/other"])[0] == secret_url
    # Another user's password never goes into this user's URL; on the study's own database
    # the opener reads as themselves.
    assert spec_with_credentials(kb.spec, ["postgresql+psycopg://admin:X@db.example:5432/other"])[0] == kb.spec[0]
    own = "postgresql+psycopg://admin:X@db.example:5432/kb"
    assert spec_with_credentials(kb.spec, [own])[0] == own
    del url
