"""A study's trials are read incrementally, yet always equal what the storage holds."""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import metahpo as mh
from metahpo.storage import InMemoryStorage, SQLStorage, Storage, TrialCache, reads_from_number
from metahpo.testing.storage import make_study
from metahpo.trial import FrozenTrial, TrialState

SPACE = mh.Space({"x": mh.Float(0.0, 1.0), "y": mh.Int(1, 9)})


class _CountingStorage(InMemoryStorage):
    """Records the ``min_number`` of every ``get_trials`` call."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[int] = []

    def get_trials(self, study_id: int, states: Any = None, min_number: int = 0) -> list[FrozenTrial]:
        self.reads.append(min_number)
        return super().get_trials(study_id, states, min_number)


class _OldStorage(InMemoryStorage):
    """A storage written before ``min_number`` existed."""

    def get_trials(self, study_id: int, states: Any = None) -> list[FrozenTrial]:  # type: ignore[override]
        return super().get_trials(study_id, states)


@pytest.fixture(params=["memory", "sqlite"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    made: Storage = (InMemoryStorage() if request.param == "memory"
                     else SQLStorage(f"sqlite:///{tmp_path}/cache.db"))
    yield made
    made.close()


def test_reads_start_at_the_first_unfinished_trial() -> None:
    storage = _CountingStorage()
    study_id = make_study(storage).study_id
    cache = TrialCache(storage, study_id)
    numbers = [storage.create_trial(study_id, config={"x": 0.1}).number for _ in range(5)]
    for number in (0, 1, 3):
        storage.finish_trial(study_id, number, TrialState.COMPLETE, 1.0)
    assert [t.number for t in cache.read()] == numbers
    assert cache.first_open == 2  # Trial 2 is still RUNNING; 3 is finished but after it.
    storage.finish_trial(study_id, 2, TrialState.FAILED)
    storage.finish_trial(study_id, 4, TrialState.PRUNED)
    assert [t.state for t in cache.read()] == [
        TrialState.COMPLETE, TrialState.COMPLETE, TrialState.FAILED, TrialState.COMPLETE,
        TrialState.PRUNED]
    assert cache.first_open == 5
    storage.create_trial(study_id)  # Reserved, no config yet: kept open.
    assert len(cache.read()) == 6 and cache.first_open == 5
    storage.set_trial_config(study_id, 5, {"x": 0.5})
    assert cache.read()[5].config == {"x": 0.5}
    assert storage.reads == [0, 2, 5, 5]


def test_open_trials_stay_fresh(storage: Storage) -> None:
    """Intermediate values, user attrs and configs of RUNNING trials are re-read."""
    study_id = make_study(storage).study_id
    cache = TrialCache(storage, study_id)
    done = storage.create_trial(study_id, config={"x": 0.1})
    storage.finish_trial(study_id, done.number, TrialState.COMPLETE, 0.5)
    running = storage.create_trial(study_id)
    assert cache.read()[1].config == {}
    storage.set_trial_config(study_id, running.number, {"x": 0.9})
    storage.report(study_id, running.number, 1.0, 0.7)
    storage.set_trial_user_attrs(study_id, running.number, {"note": "a"})
    trials, configured = cache.read_with_configured()
    assert trials[1].config == {"x": 0.9} and trials[1].intermediate == {1.0: 0.7}
    assert trials[1].user_attrs == {"note": "a"}
    assert [t.number for t in configured] == [0, 1]
    storage.report(study_id, running.number, 2.0, 0.6)
    storage.finish_trial(study_id, running.number, TrialState.PRUNED, 0.6)
    assert cache.read() == storage.get_trials(study_id)
    assert cache.read()[1].state is TrialState.PRUNED


def test_configured_leaves_out_reserved_and_failed_without_config() -> None:
    storage = InMemoryStorage()
    study_id = make_study(storage).study_id
    cache = TrialCache(storage, study_id)
    storage.create_trial(study_id, config={"x": 0.1})
    storage.finish_trial(study_id, 0, TrialState.COMPLETE, 1.0)
    storage.create_trial(study_id)  # The optimizer failed: FAILED without a config.
    storage.finish_trial(study_id, 1, TrialState.FAILED, error="no config")
    storage.create_trial(study_id, config={"x": 0.2})
    storage.create_trial(study_id)  # Reserved.
    for _ in range(2):  # Once filled from scratch, once from the kept part.
        trials, configured = cache.read_with_configured()
        assert [t.number for t in trials] == [0, 1, 2, 3]
        assert [t.number for t in configured] == [0, 2]


def _fail_as_stale(storage: SQLStorage, study_id: int, numbers: list[int]) -> None:
    """Let the heartbeats of trials ``numbers`` stop, then fail them as stale."""
    for number in numbers:
        storage.heartbeat(study_id, number)
    time.sleep(3 * (storage.grace_period or 0.0))
    assert storage.fail_stale_trials(study_id) == numbers


@pytest.mark.parametrize("n_stale", [1, 9])  # Re-read one by one, and as one read.
def test_a_late_result_of_a_trial_taken_for_dead_is_seen(tmp_path: Path, n_stale: int) -> None:
    storage = SQLStorage(f"sqlite:///{tmp_path}/late.db", heartbeat_interval=0.01, grace_period=0.02)
    study_id = make_study(storage).study_id
    cache = TrialCache(storage, study_id)
    paused = [storage.create_trial(study_id, config={"x": 0.1 * n}).number for n in range(n_stale)]
    failing = storage.create_trial(study_id, config={"x": 0.95}).number
    storage.finish_trial(study_id, failing, TrialState.FAILED, error="objective failed")
    _fail_as_stale(storage, study_id, paused)
    trials, configured = cache.read_with_configured()
    assert all(trials[n].state is TrialState.FAILED for n in paused)
    assert cache.first_open == n_stale + 1
    # The processes were only paused: their results arrive after this cache kept the failures.
    storage.finish_trial(study_id, paused[0], TrialState.COMPLETE, 0.25)
    if n_stale > 1:
        storage.finish_trial(study_id, paused[-1], TrialState.PRUNED, 0.5)
    storage.create_trial(study_id, config={"x": 0.99})
    time.sleep(0.05)  # Stale failures are re-read once per heartbeat interval.
    trials, configured = cache.read_with_configured()
    assert trials == storage.get_trials(study_id)
    assert trials[paused[0]].state is TrialState.COMPLETE and trials[paused[0]].value == 0.25
    assert trials[paused[-1]].state is (TrialState.PRUNED if n_stale > 1 else TrialState.COMPLETE)
    assert [t for t in configured if t.state.is_finished] == trials[:n_stale + 1]
    assert cache.first_open == n_stale + 1  # Still reading on from the first open trial.
    storage.finish_trial(study_id, n_stale + 1, TrialState.COMPLETE, 0.75)
    if n_stale > 1:
        storage.finish_trial(study_id, paused[1], TrialState.FAILED, error="late failure")
    time.sleep(0.05)
    assert cache.read() == storage.get_trials(study_id)
    assert cache.first_open == n_stale + 2
    storage.close()


def test_a_storage_without_min_number_is_read_whole() -> None:
    storage = _OldStorage()
    assert not reads_from_number(storage) and reads_from_number(InMemoryStorage())
    study = mh.create_study(space=SPACE, storage=storage, optimizer="random", seed=0)
    for _ in range(4):
        trial = study.ask()
        study.tell(trial, trial.config["x"])
    assert study.trials == storage.get_trials(study.study_id) and len(study.trials) == 4


def test_study_trials_after_threads_match_a_fresh_read(storage: Storage) -> None:
    study = mh.create_study(name="threads", space=SPACE, storage=storage, optimizer="random",
                            seed=1)
    seen: list[int] = []

    def objective(trial: Any) -> float:
        trial.report(1.0, trial.config["x"])
        seen.append(len(study.trials))  # Reads while other threads write.
        return float(trial.config["x"])

    study.optimize(objective, n_trials=24, n_jobs=3)
    fresh = storage.get_trials(study.study_id)
    assert study.trials == fresh
    assert [t.number for t in fresh] == list(range(24))
    assert all(t.state is TrialState.COMPLETE and t.intermediate for t in fresh)
    assert len({tuple(sorted(t.config.items())) for t in fresh}) == 24
    assert min(seen) >= 1


def test_threads_reading_one_cache_see_consistent_lists() -> None:
    storage = InMemoryStorage()
    study_id = make_study(storage).study_id
    cache = TrialCache(storage, study_id)
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer() -> None:
        for _ in range(300):
            number = storage.create_trial(study_id, config={"x": 0.5}).number
            storage.finish_trial(study_id, number, TrialState.COMPLETE, 1.0)
        stop.set()

    def reader() -> None:
        try:
            while not stop.is_set():
                trials = cache.read()
                assert [t.number for t in trials] == list(range(len(trials)))
        except BaseException as exc:  # Handed to the main thread.
            errors.append(exc)

    threads = [threading.Thread(target=writer), *(threading.Thread(target=reader) for _ in range(3))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert cache.read() == storage.get_trials(study_id)


def _other_process(url: str, n_trials: int, finish_first: int) -> None:
    storage = SQLStorage(url)
    study = mh.load_study(name="shared", storage=storage)
    storage.finish_trial(study.study_id, finish_first, TrialState.COMPLETE, 0.25)
    for _ in range(n_trials):
        trial = study.ask()
        study.tell(trial, trial.config["x"])
    storage.report(study.study_id, study.ask().number, 3.0, 0.5)  # Left RUNNING.
    storage.close()


def test_trials_written_by_another_process_are_seen(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    study = mh.create_study(name="shared", space=SPACE, storage=url, optimizer="random", seed=2)
    first = study.ask()  # Left RUNNING here; the other process finishes it.
    second = study.ask()
    study.tell(second, 0.5)
    assert study._trial_cache.read() and study._trial_cache.first_open == 0
    process = multiprocessing.get_context("fork").Process(
        target=_other_process, args=(url, 5, first.number))
    process.start()
    process.join(timeout=120)
    assert process.exitcode == 0
    trials = study.trials
    assert trials == study.storage.get_trials(study.study_id)
    assert len(trials) == 8 and trials[first.number].value == 0.25
    assert trials[-1].state is TrialState.RUNNING and trials[-1].intermediate == {3.0: 0.5}
    assert study._trial_cache.first_open == 7
    trial = study.ask()
    study.tell(trial, 0.1)
    assert study.trials == study.storage.get_trials(study.study_id)
    study.storage.close()


def _random_run(storage: Storage) -> list[tuple[int, dict[str, Any], float | None]]:
    study = mh.create_study(space=SPACE, storage=storage, optimizer="random", seed=5)
    for _ in range(12):
        trial = study.ask()
        study.tell(trial, trial.config["x"])
    return [(t.number, dict(t.config), t.value) for t in study.trials]


def test_the_cache_does_not_change_the_trajectory() -> None:
    cached = _random_run(InMemoryStorage())
    uncached = _random_run(_OldStorage())
    assert cached == uncached


def test_best_trial_and_history_use_the_cache() -> None:
    storage = _CountingStorage()
    study = mh.create_study(space=SPACE, storage=storage, optimizer="random", seed=3)
    values = []
    for _ in range(6):
        trial = study.ask()
        values.append(trial.config["x"])
        study.tell(trial, trial.config["x"])
    storage.reads.clear()
    assert study.best_value == min(values)
    assert len(study.history().trials) == 6
    assert storage.reads == [5, 6]


@pytest.mark.parametrize("read", [lambda s, sid: s.get_trials(sid),
                                  lambda s, sid: s.get_trials(sid, min_number=0)[0:1],
                                  lambda s, sid: [s.get_trial(sid, 0)],
                                  lambda s, sid: [s.finish_trial(sid, 0, TrialState.COMPLETE, 1.0)]])
def test_in_memory_records_are_copies(read: Callable[[Storage, int], list[FrozenTrial]]) -> None:
    storage = InMemoryStorage()
    study_id = make_study(storage).study_id
    storage.create_trial(study_id, config={"x": 0.5, "c": [1, 2]}, user_attrs={"why": {"a": 1}})
    trial = read(storage, study_id)[0]
    trial.config["x"] = 9.0  # type: ignore[index]
    trial.config["c"].append(3)
    trial.user_attrs["why"]["a"] = 2
    trial.user_attrs["new"] = 1  # type: ignore[index]
    stored = storage.get_trial(study_id, 0)
    assert stored.config == {"x": 0.5, "c": [1, 2]} and stored.user_attrs == {"why": {"a": 1}}


def test_in_memory_study_records_are_copies() -> None:
    storage = InMemoryStorage()
    record = make_study(storage)
    record.user_attrs["owner"] = "changed"  # type: ignore[index]
    storage.get_study("study").space["x"]["low"] = 5.0
    storage.list_studies()[0].optimizer["state"].append(4)
    again = storage.get_study("study")
    assert again.user_attrs == {"owner": "tests"} and again.space["x"]["low"] == 0.0
    assert again.optimizer["state"] == [1, 2, 3]


def test_stale_failures_are_re_read_once_per_heartbeat_interval(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A trial whose process really died is never told: re-reading it on every read would
    # slow every later ask of the study.
    storage = SQLStorage(f"sqlite:///{tmp_path}/dead.db", heartbeat_interval=0.01, grace_period=0.02)
    study_id = make_study(storage).study_id
    cache = TrialCache(storage, study_id)
    dead = [storage.create_trial(study_id, config={"x": 0.5}).number]
    _fail_as_stale(storage, study_id, dead)
    cache.read()
    calls: list[object] = []
    real = storage.get_trial
    monkeypatch.setattr(storage, "get_trial", lambda *a, **k: calls.append(a) or real(*a, **k))
    monkeypatch.setattr(storage, "heartbeat_interval", 3600.0)
    for _ in range(5):
        cache.read()
    assert len(calls) == 1
    monkeypatch.setattr(storage, "heartbeat_interval", 0.0)
    cache.read()
    assert len(calls) == 2
    storage.close()
