"""Conformance check of the input a storage refuses, writing nothing (part of
``STORAGE_CHECKS``)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from metahpo.exceptions import InvalidParameterError
from metahpo.storage import Storage
from metahpo.testing._helpers import _check, _NotJSON, _raises, make_study, snapshot
from metahpo.trial import TrialState

__all__ = [
    "check_bad_input_leaves_storage_unchanged",
]


def check_bad_input_leaves_storage_unchanged(storage: Storage) -> None:
    """Malformed names and non-JSON values raise InvalidParameterError and write nothing."""
    study = make_study(storage)
    trial = storage.create_trial(study.study_id, config={"x": 0.5})
    before = snapshot(storage)
    nan = float("nan")
    bad_calls: list[tuple[str, Callable[[], Any]]] = [
        ("empty name", lambda: make_study(storage, "")),
        ("blank name", lambda: make_study(storage, "   ")),
        ("name too long", lambda: make_study(storage, "n" * 10_000)),
        ("name not a string", lambda: make_study(storage, 42)),  # type: ignore[arg-type]
        ("NaN in space", lambda: make_study(storage, "s1", space={"x": nan})),
        ("object in optimizer", lambda: make_study(storage, "s2", optimizer={"o": _NotJSON()})),
        ("set in scheduler", lambda: make_study(storage, "s3", scheduler={"s": {1, 2}})),
        ("infinity in user_attrs", lambda: make_study(storage, "s4", user_attrs={"i": math.inf})),
        ("NaN in study attrs", lambda: storage.set_study_user_attrs(study.study_id, {"a": nan})),
        ("NaN in config", lambda: storage.create_trial(study.study_id, config={"x": nan})),
        ("NaN in an enqueued config", lambda: storage.enqueue_config(study.study_id, {"x": nan})),
        ("an empty enqueued config", lambda: storage.enqueue_config(study.study_id, {})),
        ("a negative enqueued budget",
         lambda: storage.enqueue_config(study.study_id, {"x": 0.5}, -1.0)),
        ("object in trial attrs",
         lambda: storage.create_trial(study.study_id, user_attrs={"o": _NotJSON()})),
        ("bytes in set_trial_config",
         lambda: storage.set_trial_config(study.study_id, trial.number, {"x": b"1"})),
        ("NaN in trial attrs",
         lambda: storage.set_trial_user_attrs(study.study_id, trial.number, {"a": [nan]})),
        ("NaN value", lambda: storage.finish_trial(study.study_id, trial.number,
                                                   TrialState.COMPLETE, nan)),
        ("infinite value", lambda: storage.finish_trial(study.study_id, trial.number,
                                                        TrialState.PRUNED, -math.inf)),
        ("text value", lambda: storage.finish_trial(study.study_id, trial.number,
                                                    TrialState.COMPLETE, "0.5")),  # type: ignore[arg-type]
    ]
    for what, call in bad_calls:
        with _raises(InvalidParameterError, what):
            call()
        _check(snapshot(storage) == before, f"refused input ({what}) changed the storage")
