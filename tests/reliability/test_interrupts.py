"""Ctrl+C and stopping signals while a study or ``metahpo tune`` runs: workers stop
starting trials, commands are stopped, an ignored SIGINT stays ignored."""

from __future__ import annotations

import _thread
import contextlib
import os
import signal
import subprocess
import sys
import time

import pytest

import metahpo as mh
from metahpo.trial import TrialState

from ._shared import _space


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
