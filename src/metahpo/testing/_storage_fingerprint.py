"""Conformance check of a storage's fingerprint (part of ``STORAGE_CHECKS``)."""

from __future__ import annotations

from metahpo.storage import Storage, storage_fingerprint
from metahpo.testing._helpers import _check, make_study
from metahpo.trial import TrialState

__all__ = ["check_fingerprint"]


def check_fingerprint(storage: Storage) -> None:
    """``fingerprint()`` changes with every write a list of studies shows, and not on reads.

    A study created, its ``user_attrs`` set, a config enqueued, a trial created (reserved,
    with a config or from the queue) or ended in each final state, a study deleted and
    another made under its name: each gives a fingerprint never seen before in the
    sequence (which never comes back to an earlier content). Reads leave it unchanged.

    ``fingerprint()`` is optional (see :class:`~metahpo.storage.Storage`): a storage
    without one passes, with nothing written, as its readers read it whole.
    """
    first = storage_fingerprint(storage)
    if first is None:
        return
    seen: list[str | None] = [first]

    def changed(what: str) -> None:
        now = storage_fingerprint(storage)
        _check(now not in seen, f"the fingerprint did not change when {what}: {now!r} again")
        seen.append(now)

    other = make_study(storage, "other")
    changed("a study was created")
    study = make_study(storage, "study")
    changed("a second study was created")
    for note in (1, 2):
        storage.set_study_user_attrs(study.study_id, {"note": note})
        changed(f"a study's user_attrs were set (note={note})")
    entry = storage.enqueue_config(study.study_id, {"x": 0.25, "a": 1})
    changed("a config was enqueued")
    running = storage.create_trial(study.study_id, config={"x": 0.5, "a": 2})
    changed("a trial was created")
    reserved = storage.create_trial(study.study_id)
    changed("a trial was reserved")
    storage.finish_trial(study.study_id, running.number, TrialState.COMPLETE, 2.0)
    changed("a trial ended COMPLETE")
    better = storage.create_trial(study.study_id, config={"x": 0.1, "a": 2})
    changed("a third trial was created")
    storage.finish_trial(study.study_id, better.number, TrialState.COMPLETE, 1.0)
    changed("a trial ended COMPLETE with a better value")
    storage.set_trial_config(study.study_id, reserved.number, {"x": 0.75, "a": 3})
    seen.append(storage_fingerprint(storage))  # it may change or not
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
