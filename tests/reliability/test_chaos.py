"""Chaos: real processes killed and paused, a real Dask cluster losing a worker, a real
PostgreSQL server restarted, a timed-out command with grandchildren, a password-bearing URL.

After each scenario: exactly the requested number of COMPLETE trials, every result that
was computed is stored, and once the grace period has passed no trial is RUNNING. Short
heartbeats (0.2 s, grace 1 s) keep the suite to a couple of minutes.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import metahpo as mh
from metahpo.storage import SQLStorage
from metahpo.trial import TrialState

HEARTBEAT, GRACE = 0.2, 1.0
WORKER = Path(__file__).with_name("_chaos_worker.py")
SOURCE = str(Path(mh.__file__).resolve().parents[1])


def _env() -> dict[str, str]:
    # Worker processes import this checkout's metahpo, whatever is installed.
    path = os.pathsep.join(p for p in (SOURCE, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


def _storage(url: str) -> SQLStorage:
    return SQLStorage(url, heartbeat_interval=HEARTBEAT, grace_period=GRACE)


def _new_study(url: str, name: str = "chaos") -> mh.Study:
    return mh.create_study(name=name, space=mh.Space({"x": mh.Float(-5.0, 5.0)}), storage=_storage(url),
                           optimizer="random", seed=0)


def _start_worker(url: str, n_trials: int, sleep: float, retries: int = 0) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, str(WORKER), url, "chaos", str(n_trials), str(sleep), str(retries)],
                            env=_env(), stderr=subprocess.PIPE)


def _wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _running_of(study: mh.Study, pid: int) -> list[mh.FrozenTrial]:
    return [t for t in study.get_trials([TrialState.RUNNING]) if t.user_attrs.get("pid") == pid]


def _settle(study: mh.Study) -> dict[TrialState, int]:
    """Wait out the grace period, reap, and count the trials by state."""
    time.sleep(GRACE + 0.3)
    study.storage.fail_stale_trials(study.study_id)
    counts = {state: 0 for state in TrialState}
    for trial in study.get_trials():
        counts[trial.state] += 1
    assert counts[TrialState.RUNNING] == 0
    return counts


def _finish(process: subprocess.Popen[bytes], timeout: float = 90) -> str:
    _, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, stderr.decode()[-3000:]
    return stderr.decode()


@pytest.fixture()
def sqlite_db(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'chaos.db'}"


# SIGKILL of a worker process during a trial ----------------------------------------------
def test_sigkill_of_a_worker_process_loses_no_result(sqlite_db):
    study = _new_study(sqlite_db)
    victim = _start_worker(sqlite_db, 4, 0.3, retries=1)
    survivor = _start_worker(sqlite_db, 4, 0.3, retries=1)
    _wait_for(lambda: len([t for t in study.get_trials([TrialState.COMPLETE])
                           if t.user_attrs.get("pid") == victim.pid]) >= 2
              and _running_of(study, victim.pid), 60, "the victim mid-trial")
    victim.kill()
    victim.wait()
    killed = _running_of(study, victim.pid)
    assert len(killed) == 1
    done_by_victim = len([t for t in study.get_trials([TrialState.COMPLETE]) if t.user_attrs.get("pid") == victim.pid])
    # A supervisor starts the worker again for the trials it still owed, once the dead
    # one's heartbeat has lapsed (a worker that starts and ends sooner may finish before
    # the killed trial is known to be dead, and leave it for a later reaper).
    time.sleep(GRACE + 2 * HEARTBEAT)
    restarted = _start_worker(sqlite_db, 4 - done_by_victim, 0.3, retries=1)
    _finish(survivor)
    _finish(restarted)
    counts = _settle(study)
    assert counts[TrialState.COMPLETE] == 8 and counts[TrialState.FAILED] == 1
    # The killed trial's config was run again (retries=1) and completed.
    retried = [t for t in study.trials if (t.user_attrs.get("why") or {}).get("retry_of") == killed[0].number]
    assert len(retried) == 1 and retried[0].state is TrialState.COMPLETE
    assert retried[0].config == killed[0].config


# SIGKILL while the optimizer suggests ------------------------------------------------------------
_DIES_IN_SUGGEST = """
import os, signal, sys, time
import metahpo as mh
from metahpo.optimizers import RandomSearch
from metahpo.storage import SQLStorage

suggest = RandomSearch.suggest
def slow(self, history, n=1):
    if history.trials:  # a long meta-training, then the process dies (out of memory, say)
        time.sleep(0.6)
        os.kill(os.getpid(), signal.SIGKILL)
    return suggest(self, history, n)
RandomSearch.suggest = slow
study = mh.load_study("chaos", SQLStorage(sys.argv[1], heartbeat_interval=0.2, grace_period=1.0))
study.optimize(lambda trial: trial.config["x"], n_trials=3)
"""


def test_a_process_killed_while_the_optimizer_suggests_leaves_a_trial_others_fail(sqlite_db):
    study = _new_study(sqlite_db)
    dying = subprocess.run([sys.executable, "-c", _DIES_IN_SUGGEST, sqlite_db], env=_env(),
                           capture_output=True, timeout=120)
    assert dying.returncode == -signal.SIGKILL, dying.stderr.decode()[-2000:]
    stuck = study.get_trials([TrialState.RUNNING])
    assert [t.number for t in stuck] == [1] and stuck[0].config == {}
    time.sleep(GRACE + 0.3)
    assert study.storage.fail_stale_trials(study.study_id) == [1]
    study.optimize(lambda trial: trial.config["x"], n_trials=2)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.FAILED] + [TrialState.COMPLETE] * 2


_PAUSES_IN_SUGGEST = """
import os, signal, sys, time
import metahpo as mh
from metahpo.optimizers import RandomSearch
from metahpo.storage import SQLStorage

suggest = RandomSearch.suggest
paused = []
def pausing(self, history, n=1):
    if history.trials and not paused:  # once: a laptop put to sleep in a long meta-training, say
        paused.append(True)
        time.sleep(0.5)  # the trial's heartbeat is beating by now
        os.kill(os.getpid(), signal.SIGSTOP)
    return suggest(self, history, n)
RandomSearch.suggest = pausing
study = mh.load_study("chaos", SQLStorage(sys.argv[1], heartbeat_interval=0.2, grace_period=1.0))
study.optimize(lambda trial: trial.config["x"], n_trials=3)
"""


def _stopped(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] == "T"


def test_a_process_paused_while_the_optimizer_suggests_goes_on_with_another_trial(sqlite_db):
    study = _new_study(sqlite_db)
    paused = subprocess.Popen([sys.executable, "-c", _PAUSES_IN_SUGGEST, sqlite_db], env=_env(),
                              stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: _stopped(paused.pid), 60, "the worker paused in its suggestion")
        time.sleep(GRACE + 0.3)
        assert study.storage.fail_stale_trials(study.study_id) == [1]  # taken for dead
    finally:
        paused.send_signal(signal.SIGCONT)
    stderr = _finish(paused)
    assert "taken for dead while its config was chosen" in stderr
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE, TrialState.FAILED] + [TrialState.COMPLETE] * 2
    assert trials[1].config == {} and "heartbeat" in (trials[1].error or "")


# SIGSTOP and SIGCONT of a worker process -----------------------------------------------------
def test_sigstop_past_the_grace_period_then_sigcont_loses_no_result(sqlite_db):
    study = _new_study(sqlite_db)
    paused = _start_worker(sqlite_db, 4, 0.4)
    other = _start_worker(sqlite_db, 4, 0.3)
    _wait_for(lambda: _running_of(study, paused.pid), 60, "the paused worker mid-trial")
    paused.send_signal(signal.SIGSTOP)
    frozen = _running_of(study, paused.pid)[0].number
    try:
        # Another process (the other worker's next ask, or this one) finds its heartbeat too old.
        _wait_for(lambda: frozen in study.storage.fail_stale_trials(study.study_id)
                  or study.storage.get_trial(study.study_id, frozen).state is TrialState.FAILED,
                  30, "the paused trial to be taken for dead")
        time.sleep(0.5)
    finally:
        paused.send_signal(signal.SIGCONT)
    stderr = _finish(paused)
    _finish(other)
    assert "finished late" in stderr
    counts = _settle(study)
    assert counts[TrialState.COMPLETE] == 8 and counts[TrialState.FAILED] == 0
    assert study.storage.get_trial(study.study_id, frozen).state is TrialState.COMPLETE


# A trial timeout whose command has grandchildren ---------------------------------------------
def test_a_trial_timeout_kills_the_whole_process_tree(tmp_path):
    (tmp_path / "space.yaml").write_text("x: {type: float, low: -5, high: 5}\n")
    pids = tmp_path / "pids"
    script = f"sleep 60 & echo $! >> {pids}; sleep 60 & echo $! >> {pids}; wait"
    url = f"sqlite:///{tmp_path / 'tune.db'}"
    tune = subprocess.run(
        [sys.executable, "-c", "from metahpo.cli import main; main()", "tune", "--space", "space.yaml",
         "--trials", "3", "--name", "t", "--storage", url, "--optimizer", "random", "--trial-timeout", "1",
         "--", "sh", "-c", script + " # {x}"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=120,
    )
    assert tune.returncode == 1 and "no trial" in tune.stderr + tune.stdout
    trials = mh.load_study("t", url).trials
    assert [t.state for t in trials] == [TrialState.FAILED] * 3
    grandchildren = [int(p) for p in pids.read_text().split()]
    assert len(grandchildren) == 6
    time.sleep(0.5)
    alive = [p for p in grandchildren if _alive(p)]
    assert alive == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"


# SIGKILL of a Dask worker -----------------------------------------------------------------------
def test_sigkill_of_a_dask_worker_runs_exactly_the_requested_trials(sqlite_db, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setenv("PYTHONPATH", _env()["PYTHONPATH"])
    study = _new_study(sqlite_db)

    def objective(trial):
        import os as _os
        import time as _time

        trial.set_user_attr("pid", _os.getpid())
        _time.sleep(0.4)
        return float(trial.config["x"]) ** 2

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        client.wait_for_workers(2)
        pids = list(client.run(os.getpid).values())

        def kill_one() -> None:
            _wait_for(lambda: len(study.get_trials([TrialState.COMPLETE])) >= 5
                      and _running_of(study, pids[0]), 60, "finished trials on the victim")
            os.kill(pids[0], signal.SIGKILL)

        killer = threading.Thread(target=kill_one)
        killer.start()
        study.optimize(objective, n_trials=16, executor=client)
        killer.join()
    counts = _settle(study)
    # 16 COMPLETE (not 20 re-runs of finished tasks), the killed trial FAILED.
    assert counts[TrialState.COMPLETE] == 16 and counts[TrialState.FAILED] == 1


# PostgreSQL ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def own_postgres() -> Iterator[object]:
    from metahpo.testing import PostgresUnavailable, temporary_postgres_server

    try:
        with temporary_postgres_server() as server:
            yield server
    except PostgresUnavailable as exc:
        if os.environ.get("METAHPO_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"a restartable PostgreSQL server is needed: {exc}")
        pytest.skip(f"no PostgreSQL binaries to start a server this test may restart: {exc}")


@pytest.mark.postgres
def test_a_temporary_server_tries_another_port_when_its_first_is_taken(monkeypatch):
    import itertools
    import socket

    from metahpo.testing import PostgresUnavailable, _postgres

    try:
        _postgres._binaries()
    except PostgresUnavailable as exc:
        if os.environ.get("METAHPO_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"a PostgreSQL server is needed: {exc}")
        pytest.skip(f"no PostgreSQL binaries: {exc}")
    free_port = _postgres._free_port
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        first = taken.getsockname()[1]
        asked: list[int] = []
        ports = itertools.chain([first], iter(free_port, None))
        monkeypatch.setattr(_postgres, "_free_port", lambda: asked.append(next(ports)) or asked[-1])
        with _postgres.temporary_postgres_server() as server:
            url = server.url
    assert asked[0] == first and len(asked) >= 2
    assert f"127.0.0.1:{asked[-1]}/" in url


@pytest.mark.postgres
def test_a_postgres_restart_mid_run_loses_no_result(own_postgres):
    from metahpo.testing import fresh_schema

    with fresh_schema(own_postgres.url) as url:
        study = _new_study(url)
        restarter = threading.Timer(2.0, own_postgres.restart)
        restarter.start()

        def objective(trial):
            time.sleep(0.3)
            return float(trial.config["x"]) ** 2

        try:
            study.optimize(objective, n_trials=15)  # Raised StorageError: connection refused.
        finally:
            restarter.join()
        counts = _settle(study)
        assert counts[TrialState.COMPLETE] == 15 and counts[TrialState.FAILED] == 0
        study.storage.close()


def _connections(admin_url: str) -> int:
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    engine = create_engine(admin_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                "AND pid <> pg_backend_pid()")).scalar_one())
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_dask_workers_hold_at_most_two_connections_each(own_postgres, monkeypatch):
    distributed = pytest.importorskip("distributed")
    from metahpo.testing import fresh_schema

    monkeypatch.setenv("PYTHONPATH", _env()["PYTHONPATH"])
    with fresh_schema(own_postgres.url) as url:
        study = _new_study(url)
        peak, stop = [0], threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak[0] = max(peak[0], _connections(own_postgres.url))
                time.sleep(0.05)

        def objective(trial):
            import time as _time

            _time.sleep(0.2)
            return 0.0

        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      dashboard_address=None) as cluster, distributed.Client(cluster) as client:
            sampler = threading.Thread(target=sample)
            sampler.start()
            try:
                study.optimize(objective, n_trials=16, executor=client)
            finally:
                stop.set()
                sampler.join()
            after = _connections(own_postgres.url)
        study.storage.close()
        assert len(study.get_trials([TrialState.COMPLETE])) == 16
        # 2 workers: at most 2 each (trial + heartbeat) and 2 for the driver (27-29 before).
        assert peak[0] <= 2 * 2 + 2, peak[0]
        assert after <= 2


@pytest.mark.postgres
def test_no_password_in_storage_specs_logs_or_cli_output(own_postgres, caplog, capsys):
    from sqlalchemy import create_engine, inspect, text
    from sqlalchemy.engine import make_url
    from typer.testing import CliRunner

    from metahpo.cli import app
    from metahpo.testing import fresh_schema

    caplog.set_level(logging.DEBUG)
    secret = "S3cretPassw0rd"
    with fresh_schema(own_postgres.url) as bare:
        # The throw-away server trusts local connections: any password opens it.
        url = make_url(bare).set(password=secret).render_as_string(hide_password=False)
        assert secret in url
        study = mh.create_study(name="pw", space=mh.Space({"x": mh.Float(0, 1)}), storage=url,
                                optimizer="portfolio", knowledge=[url], seed=0)
        study.optimize(lambda t: t.config["x"], n_trials=3)
        reloaded = mh.load_study("pw", url)  # The password is found again from the storage URL.
        assert reloaded.optimizer.knowledge is not None
        shown = [repr(study), repr(reloaded.optimizer), repr(reloaded.optimizer.knowledge.spec),
                 json.dumps(dict(reloaded._record.optimizer))]
        runner = CliRunner()
        for command in (["studies"], ["show", "pw"]):
            result = runner.invoke(app, [*command, "--storage", url])
            assert result.exit_code == 0, result.output
            shown.append(result.output)
        bad = runner.invoke(app, ["show", "missing", "--storage", url])
        shown.append(bad.output)
        # A dump of every row of every table of the storage.
        engine = create_engine(url)
        dump = []
        with engine.connect() as connection:
            for table in inspect(connection).get_table_names():
                dump += [repr(tuple(row)) for row in connection.execute(text(f'SELECT * FROM "{table}"'))]
        engine.dispose()
        study.storage.close()
        reloaded.storage.close()
    assert len(dump) >= 5
    for text_ in ("\n".join(dump), "\n".join(shown), caplog.text, "".join(capsys.readouterr())):
        assert secret not in text_
