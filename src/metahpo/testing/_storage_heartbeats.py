"""Conformance checks of a storage's heartbeats and stale trials (part of ``STORAGE_CHECKS``)."""

from __future__ import annotations

import time

from metahpo.exceptions import TrialStateError
from metahpo.storage import STALE_KEY, Storage, is_stale_failure
from metahpo.testing._helpers import _check, _raises, make_study
from metahpo.trial import TrialState

__all__ = [
    "MAX_WAITED_GRACE",
    "check_heartbeats_and_stale_trials",
]

MAX_WAITED_GRACE = 3.0  # seconds the heartbeat check is willing to wait


def check_heartbeats_and_stale_trials(storage: Storage) -> None:
    """Trials whose heartbeat stopped are FAILED; beating, silent and finished ones are not."""
    study = make_study(storage)
    silent, dying, alive, done, paused = (storage.create_trial(study.study_id, config={"x": x / 10})
                                          for x in range(1, 6))
    for trial in (dying, alive, done, paused):
        storage.heartbeat(study.study_id, trial.number)
    storage.finish_trial(study.study_id, done.number, TrialState.COMPLETE, 1.0)
    storage.heartbeat(study.study_id, done.number)  # Allowed, and changes nothing.
    _check(storage.fail_stale_trials(study.study_id) == [], "fresh heartbeats counted as stale")
    interval = storage.heartbeat_interval
    grace = getattr(storage, "grace_period", None) or (4 * interval if interval else None)
    if interval is None or grace is None or grace > MAX_WAITED_GRACE:
        _check(storage.get_trial(study.study_id, dying.number).state is TrialState.RUNNING,
               "a RUNNING trial was failed without heartbeats switched on")
        return
    deadline = time.monotonic() + grace * 1.5 + 0.05
    while time.monotonic() < deadline:
        storage.heartbeat(study.study_id, alive.number)
        time.sleep(min(interval, grace / 4))
    storage.heartbeat(study.study_id, alive.number)
    failed = storage.fail_stale_trials(study.study_id)
    _check(sorted(failed) == [dying.number, paused.number], f"fail_stale_trials returned {failed}")
    record = storage.get_trial(study.study_id, dying.number)
    _check(record.state is TrialState.FAILED and "heartbeat" in (record.error or ""),
           f"a stale trial became {record.state.value} with error {record.error!r}")
    _check(record.finished_at is not None, "a stale trial needs a finished_at")
    _check(STALE_KEY in record.user_attrs and is_stale_failure(record),
           f"a stale trial is not marked with user_attrs[{STALE_KEY!r}]: {dict(record.user_attrs)!r}")
    for trial in (silent, alive):
        state = storage.get_trial(study.study_id, trial.number).state
        _check(state is TrialState.RUNNING, f"trial {trial.number} became {state.value}")
    _check(storage.get_trial(study.study_id, done.number).state is TrialState.COMPLETE,
           "fail_stale_trials changed a finished trial")
    _check(storage.fail_stale_trials(study.study_id) == [], "a trial was failed twice")
    with _raises(TrialStateError, "reporting to a trial failed for its stopped heartbeat"):
        storage.report(study.study_id, dying.number, 1.0, 0.5)
    # Its process was only paused: the late result still finishes it, once.
    late = storage.finish_trial(study.study_id, dying.number, TrialState.COMPLETE, 0.1)
    _check(late.state is TrialState.COMPLETE and late.value == 0.1 and late.error is None,
           f"a late result left the stale trial {late.state.value} with error {late.error!r}")
    with _raises(TrialStateError, "finishing a trial a second time"):
        storage.finish_trial(study.study_id, dying.number, TrialState.COMPLETE, 0.2)
    # A late failure, the objective's own, is final too: no longer a stale one.
    told = storage.finish_trial(study.study_id, paused.number, TrialState.FAILED, error="boom")
    _check(told.state is TrialState.FAILED and told.error == "boom" and not is_stale_failure(told),
           f"a late failure left the stale trial {told!r}")
    with _raises(TrialStateError, "finishing a trial a second time after a late failure"):
        storage.finish_trial(study.study_id, paused.number, TrialState.COMPLETE, 0.2)
