"""Conformance checks of a storage's studies: creating, reading, listing, deleting them and
their ``user_attrs`` (part of ``STORAGE_CHECKS``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timezone
from typing import Any

from metahpo.exceptions import DuplicatedStudyError, StudyNotFoundError, TrialStateError
from metahpo.storage import Storage
from metahpo.testing._helpers import _check, _raises, make_study, snapshot
from metahpo.trial import TrialState

__all__ = [
    "check_create_get_list_studies",
    "check_delete_study_removes_its_trials",
    "check_duplicate_study_name",
    "check_missing_studies_and_trials",
    "check_user_attrs_merge",
]


def check_create_get_list_studies(storage: Storage) -> None:
    """Created studies come back whole, in creation order, with an aware UTC ``created_at``."""
    first = make_study(storage, "first")
    second = make_study(storage, "second", direction="maximize", seed=2**40,
                        user_attrs={"nested": {"b": [1, 2.5, None], "a": True}})
    _check(first.name == "first" and first.direction == "minimize" and first.seed == 7,
           f"create_study returned {first!r}")
    _check(list(first.space) == ["x", "a"], "the key order of 'space' must survive storage")
    _check(first.study_id != second.study_id, "two studies share an id")
    _check(storage.get_study("first") == first, "get_study differs from what create_study returned")
    _check(storage.get_study("second") == second, "get_study differs from create_study (second)")
    _check(second.user_attrs == {"nested": {"b": [1, 2.5, None], "a": True}},
           f"user_attrs came back as {second.user_attrs!r}")
    _check(second.seed == 2**40, "a large seed must survive storage")
    _check(storage.list_studies() == [first, second], "list_studies must list in creation order")
    created = storage.get_study("first").created_at
    _check(created is not None and created.utcoffset() == timezone.utc.utcoffset(None),
           f"created_at must be timezone-aware UTC, got {created!r}")


def check_duplicate_study_name(storage: Storage) -> None:
    """A second study with the same name raises and changes nothing."""
    make_study(storage, "twin")
    before = snapshot(storage)
    with _raises(DuplicatedStudyError, "create_study with a taken name"):
        make_study(storage, "twin", seed=1)
    _check(snapshot(storage) == before, "a refused duplicate study changed the storage")


def check_missing_studies_and_trials(storage: Storage) -> None:
    """Unknown names, ids and numbers raise StudyNotFoundError (also a KeyError)."""
    study = make_study(storage)
    missing_id = max(s.study_id for s in storage.list_studies()) + 1000
    with _raises(StudyNotFoundError, "get_study of an unknown name"):
        storage.get_study("nope")
    with _raises(KeyError, "get_study of an unknown name (as KeyError)"):
        storage.get_study("nope")
    with _raises(StudyNotFoundError, "delete_study of an unknown name"):
        storage.delete_study("nope")
    calls: list[tuple[str, Callable[[], Any]]] = [
        ("get_trials", lambda: storage.get_trials(missing_id)),
        ("create_trial", lambda: storage.create_trial(missing_id)),
        ("set_study_user_attrs", lambda: storage.set_study_user_attrs(missing_id, {"a": 1})),
        ("enqueue_config", lambda: storage.enqueue_config(missing_id, {"x": 0.5})),
        ("fail_stale_trials", lambda: storage.fail_stale_trials(missing_id)),
        ("get_trial", lambda: storage.get_trial(study.study_id, 0)),
        ("heartbeat", lambda: storage.heartbeat(study.study_id, 0)),
        ("report", lambda: storage.report(study.study_id, 0, 1.0, 0.5)),
        ("finish_trial", lambda: storage.finish_trial(study.study_id, 0, TrialState.COMPLETE, 1.0)),
        ("set_trial_config", lambda: storage.set_trial_config(study.study_id, 0, {"x": 1})),
        ("set_trial_user_attrs", lambda: storage.set_trial_user_attrs(study.study_id, 0, {"a": 1})),
    ]
    for what, call in calls:
        with _raises(StudyNotFoundError, what):
            call()
    _check(storage.get_trials(study.study_id) == [], "a failed call created a trial")


def check_delete_study_removes_its_trials(storage: Storage) -> None:
    """Deleting a study removes it and its trials; other studies are untouched."""
    doomed = make_study(storage, "doomed")
    kept = make_study(storage, "kept")
    for _ in range(3):
        trial = storage.create_trial(doomed.study_id, config={"x": 0.1})
        storage.report(doomed.study_id, trial.number, 1.0, 0.5)
    storage.create_trial(kept.study_id, config={"x": 0.2})
    kept_before = (storage.get_study("kept"), storage.get_trials(kept.study_id))
    storage.delete_study("doomed")
    with _raises(StudyNotFoundError, "get_study after delete_study"):
        storage.get_study("doomed")
    with _raises(StudyNotFoundError, "get_trials of a deleted study"):
        storage.get_trials(doomed.study_id)
    _check([s.name for s in storage.list_studies()] == ["kept"], "list_studies after delete")
    _check((storage.get_study("kept"), storage.get_trials(kept.study_id)) == kept_before,
           "deleting one study changed another")
    reborn = make_study(storage, "doomed")
    _check(reborn.study_id not in (doomed.study_id, kept.study_id),
           "a new study reused the id of a deleted one")
    _check(storage.get_trials(reborn.study_id) == [], "a re-created study inherited trials")
    _check(storage.create_trial(reborn.study_id).number == 0, "numbering of a re-created study")


def check_user_attrs_merge(storage: Storage) -> None:
    """User attributes merge key by key, for studies and for running trials."""
    study = make_study(storage, user_attrs={"a": 1, "b": [1]})
    storage.set_study_user_attrs(study.study_id, {"b": {"c": 2}, "d": None})
    _check(storage.get_study(study.name).user_attrs == {"a": 1, "b": {"c": 2}, "d": None},
           f"study attrs: {storage.get_study(study.name).user_attrs!r}")
    trial = storage.create_trial(study.study_id, user_attrs={"seed": 3})
    storage.set_trial_user_attrs(study.study_id, trial.number, {"loss_curve": [0.5, 0.25]})
    storage.set_trial_user_attrs(study.study_id, trial.number, {"seed": 4})
    attrs = storage.get_trial(study.study_id, trial.number).user_attrs
    _check(attrs == {"seed": 4, "loss_curve": [0.5, 0.25]}, f"trial attrs: {attrs!r}")
    storage.finish_trial(study.study_id, trial.number, TrialState.COMPLETE, 1.0)
    before = snapshot(storage)
    with _raises(TrialStateError, "set_trial_user_attrs on a finished trial"):
        storage.set_trial_user_attrs(study.study_id, trial.number, {"late": True})
    _check(snapshot(storage) == before, "a refused set_trial_user_attrs changed the storage")
