"""Conformance checks of a storage's fingerprints, of the whole storage and of one study
(part of ``STORAGE_CHECKS``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from metahpo.exceptions import StudyNotFoundError
from metahpo.storage import Storage, storage_fingerprint, study_fingerprint
from metahpo.testing._helpers import _check, _raises, make_study
from metahpo.trial import TrialState

__all__ = ["check_fingerprint", "check_study_fingerprint"]


class _Sequence:
    """The fingerprints seen so far: each write the check names must give a new one."""

    def __init__(self, read: Callable[[], str | None], whose: str) -> None:
        self.read, self.whose = read, whose
        self.seen: list[str | None] = [read()]

    def changed(self, what: str) -> None:
        now = self.read()
        _check(now not in self.seen, f"{self.whose} fingerprint did not change when {what}: {now!r} again")
        self.seen.append(now)

    def either(self) -> None:
        """After a write that may change the fingerprint or not."""
        self.seen.append(self.read())


def _first_writes(storage: Storage, study_id: int, changed: Callable[[str], None]) -> tuple[int, Any, Any]:
    """The writes both checks begin with, each followed by ``changed``: the study's
    ``user_attrs`` set twice, a config enqueued, a trial created with a config and one
    reserved. Returns the queue entry, the running trial and the reserved one."""
    for note in (1, 2):
        storage.set_study_user_attrs(study_id, {"note": note})
        changed(f"the study's user_attrs were set (note={note})")
    entry = storage.enqueue_config(study_id, {"x": 0.25, "a": 1})
    changed("a config was enqueued")
    running = storage.create_trial(study_id, config={"x": 0.5, "a": 2})
    changed("a trial was created")
    reserved = storage.create_trial(study_id)
    changed("a trial was reserved")
    return entry, running, reserved


def _none_stays_none(now: str | None, method: str) -> None:
    _check(now is None, f"{method} was None, then {now!r} after a write: a storage's fingerprint is "
           "None always (it is read whole) or never")


def check_fingerprint(storage: Storage) -> None:
    """``fingerprint()`` changes with every write a list of studies shows, and not on reads.

    A study created, its ``user_attrs`` set, a config enqueued, a trial created (reserved,
    with a config or from the queue) or ended in each final state, a study deleted and
    another made under its name: each gives a fingerprint never seen before in the
    sequence (which never comes back to an earlier content). Reads leave it unchanged.

    ``fingerprint()`` is optional (see :class:`~metahpo.storage.Storage`): a storage
    without one passes, with nothing written, as its readers read it whole; so does one
    whose ``fingerprint()`` is ``None``, provided it stays ``None`` once a study is written
    (a fingerprint that appears later would be trusted from then on).
    """
    if not callable(getattr(storage, "fingerprint", None)):
        return
    sequence = _Sequence(lambda: storage_fingerprint(storage), "the")
    if sequence.seen[0] is None:
        make_study(storage, "study")
        _none_stays_none(storage_fingerprint(storage), "fingerprint()")
        return
    changed, seen = sequence.changed, sequence.seen

    other = make_study(storage, "other")
    changed("a study was created")
    study = make_study(storage, "study")
    changed("a second study was created")
    entry, running, reserved = _first_writes(storage, study.study_id, changed)
    storage.finish_trial(study.study_id, running.number, TrialState.COMPLETE, 2.0)
    changed("a trial ended COMPLETE")
    better = storage.create_trial(study.study_id, config={"x": 0.1, "a": 2})
    changed("a third trial was created")
    storage.finish_trial(study.study_id, better.number, TrialState.COMPLETE, 1.0)
    changed("a trial ended COMPLETE with a better value")
    storage.set_trial_config(study.study_id, reserved.number, {"x": 0.75, "a": 3})
    sequence.either()
    storage.finish_trial(study.study_id, reserved.number, TrialState.PRUNED, 3.0)
    changed("a trial ended PRUNED")
    failing = storage.create_trial(study.study_id, enqueued=entry)
    changed("a trial took an enqueued config")
    storage.finish_trial(study.study_id, failing.number, TrialState.FAILED, error="broken")
    changed("a trial ended FAILED")
    storage.create_trial(other.study_id, config={"x": 0.5, "a": 2})
    changed("a trial was created in the other study")
    settled = seen[-1]
    storage.list_studies()
    storage.get_study(study.name)
    storage.get_trials(study.study_id)
    storage.get_trial(study.study_id, 0)
    _check(storage_fingerprint(storage) == settled, "reading the storage changed its fingerprint")
    _check(storage_fingerprint(storage) == settled, "asking for the fingerprint twice gave two")
    storage.delete_study(study.name)
    changed("a study was deleted")
    make_study(storage, "study")
    changed("a study was made under the name of a deleted one")


def check_study_fingerprint(storage: Storage) -> None:
    """``study_fingerprint(study_id)`` changes with every write a study's page shows, and
    not on reads nor on writes to another study.

    Its ``user_attrs`` set, a config enqueued, a trial created (with a config, reserved or
    from the queue), a reserved trial's config set, a trial's ``user_attrs`` set, a report
    of a new step and of the latest step again with another value, a trial ended in each
    final state: each gives a fingerprint never seen before in the sequence. Two studies,
    and a study made under the name of a deleted one, never share one; a study that does
    not exist raises StudyNotFoundError.

    ``study_fingerprint()`` is optional (see :class:`~metahpo.storage.Storage`): a storage
    without one passes, with nothing written, as its readers read the study whole; so does
    one whose ``study_fingerprint()`` is ``None``, provided it stays ``None`` once the study
    has a trial.
    """
    if not callable(getattr(storage, "study_fingerprint", None)):
        return
    study = make_study(storage, "study")
    other = make_study(storage, "other")

    def fingerprint() -> str | None:
        return study_fingerprint(storage, study.study_id)

    sequence = _Sequence(fingerprint, "the study's")
    if sequence.seen[0] is None:
        storage.create_trial(study.study_id, config={"x": 0.5, "a": 2})
        _none_stays_none(fingerprint(), "study_fingerprint()")
        return
    changed, seen = sequence.changed, sequence.seen
    _check(study_fingerprint(storage, other.study_id) != seen[0],
           f"two studies share the fingerprint {seen[0]!r}")

    entry, running, reserved = _first_writes(storage, study.study_id, changed)
    storage.set_trial_config(study.study_id, reserved.number, {"x": 0.75, "a": 3})
    changed("a reserved trial's config was set")
    for source in ("portfolio", "model"):
        storage.set_trial_user_attrs(study.study_id, running.number, {"why": {"source": source}})
        changed(f"a trial's user_attrs were set (source={source})")
    storage.report(study.study_id, running.number, 1, 0.9)
    changed("a trial reported its first step")
    storage.report(study.study_id, running.number, 1, 0.7)
    changed("a trial reported its latest step again with another value")
    storage.report(study.study_id, running.number, 2, 0.6)
    changed("a trial reported a new step")
    storage.report(study.study_id, reserved.number, 1, 0.8)
    changed("a second trial reported a step")
    storage.heartbeat(study.study_id, running.number)
    sequence.either()
    storage.finish_trial(study.study_id, running.number, TrialState.COMPLETE, 0.6)
    changed("a trial ended COMPLETE")
    storage.finish_trial(study.study_id, reserved.number, TrialState.PRUNED, 0.8)
    changed("a trial ended PRUNED")
    failing = storage.create_trial(study.study_id, enqueued=entry)
    changed("a trial took an enqueued config")
    storage.finish_trial(study.study_id, failing.number, TrialState.FAILED, error="broken")
    changed("a trial ended FAILED")
    settled = seen[-1]
    elsewhere = storage.create_trial(other.study_id, config={"x": 0.5, "a": 2})
    storage.report(other.study_id, elsewhere.number, 1, 0.5)
    storage.set_study_user_attrs(other.study_id, {"note": 3})
    storage.finish_trial(other.study_id, elsewhere.number, TrialState.COMPLETE, 0.5)
    _check(fingerprint() == settled, "writing to another study changed this study's fingerprint")
    storage.list_studies()
    storage.get_study(study.name)
    storage.get_trials(study.study_id)
    storage.get_trial(study.study_id, 0)
    _check(fingerprint() == settled, "reading the storage changed the study's fingerprint")
    _check(fingerprint() == settled, "asking for the study's fingerprint twice gave two")
    storage.delete_study(study.name)
    with _raises(StudyNotFoundError, "study_fingerprint of a deleted study"):
        fingerprint()
    again = make_study(storage, "study")
    now = study_fingerprint(storage, again.study_id)
    _check(now not in seen, f"a study made under the name of a deleted one has its fingerprint {now!r}")
