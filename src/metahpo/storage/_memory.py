"""Storage in the process's memory: fast, private, gone when the process ends."""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping
from dataclasses import replace
from typing import Any

from metahpo.exceptions import (
    DuplicatedPromotionError,
    DuplicatedStudyError,
    StudyNotFoundError,
    TrialStateError,
)
from metahpo.storage._artefacts import InMemoryArtefactStore
from metahpo.storage._base import StudyRecord, utcnow
from metahpo.storage._checks import (
    check_min_number,
    check_objective_value,
    check_seed,
    check_study_name,
    check_trial_config,
    check_value_json,
    storable_error,
)
from metahpo.storage._queue import (
    ENQUEUED_KEY,
    QUEUE_KEY,
    check_config_or_enqueued,
    check_enqueued_config,
    check_queue_budget,
    queue_with_entry,
    queue_with_taken,
)
from metahpo.trial import FrozenTrial, TrialState

# A study stored in a file by another process is not here: say where it would be.
_IN_MEMORY = ("This storage is in memory: a study of another process is opened with "
              "storage='sqlite:///FILE.db' (the command line's default is sqlite:///metahpo.db) "
              "or $METAHPO_STORAGE.")


class InMemoryStorage:
    """A :class:`~metahpo.storage.Storage` held in a dict, guarded by one lock.

    Thread-safe within one process; not shared between processes. JSON fields are
    round-tripped through ``json`` so that what works here also works on SQL, and every
    record returned is a copy: changing its ``config`` or ``user_attrs`` does not change
    the storage.
    """

    heartbeat_interval: float | None = None

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._studies: dict[str, StudyRecord] = {}
        self._trials: dict[int, list[FrozenTrial]] = {}
        self._next_id = 0
        self._writes = 0  # every change counts: see fingerprint()
        self._changed_at: dict[int, int] = {}  # by study id, the write that last changed it
        # Meta-models and other artefacts, under their own protocol.
        self.artefacts = InMemoryArtefactStore()

    def create_study(
        self,
        name: str,
        *,
        space: Mapping[str, Any],
        direction: str,
        seed: int,
        optimizer: Mapping[str, Any],
        scheduler: Mapping[str, Any],
        user_attrs: Mapping[str, Any] | None = None,
    ) -> StudyRecord:
        check_study_name(name)
        payload = [check_value_json(v, n) for v, n in ((space, "space"), (optimizer, "optimizer"),
                                                       (scheduler, "scheduler"), (user_attrs or {}, "user_attrs"))]
        with self._lock:
            if name in self._studies:
                raise DuplicatedStudyError(f"A study named {name!r} already exists.")
            record = StudyRecord(
                self._next_id, name, payload[0], direction, check_seed(seed), payload[1], payload[2],
                payload[3], utcnow(),
            )
            self._next_id += 1
            self._studies[name] = record
            self._trials[record.study_id] = []
            self._wrote(record.study_id)
            return _study_copy(record)

    def get_study(self, name: str) -> StudyRecord:
        with self._lock:
            if name not in self._studies:
                raise StudyNotFoundError(f"No study named {name!r} in this storage. {_IN_MEMORY}")
            return _study_copy(self._studies[name])

    def list_studies(self) -> list[StudyRecord]:
        with self._lock:
            records = sorted(self._studies.values(), key=lambda s: s.study_id)
        return [_study_copy(record) for record in records]

    def delete_study(self, name: str) -> None:
        with self._lock:
            record = self._studies.get(name)
            if record is None:
                raise StudyNotFoundError(f"No study named {name!r} in this storage. {_IN_MEMORY}")
            del self._studies[name]
            del self._trials[record.study_id]
            del self._changed_at[record.study_id]
            self._writes += 1

    def set_study_user_attrs(self, study_id: int, attrs: Mapping[str, Any]) -> None:
        attrs = check_value_json(attrs, "user_attrs")
        with self._lock:
            record = self._study_by_id(study_id)
            self._studies[record.name] = replace(record, user_attrs={**record.user_attrs, **attrs})
            self._wrote(study_id)

    def enqueue_config(
        self, study_id: int, config: Mapping[str, Any], budget: float | None = None
    ) -> int:
        budget = check_queue_budget(budget)
        with self._lock:
            record = self._study_by_id(study_id)
            config_json = check_value_json(check_enqueued_config(record.space, config), "config")
            queue, entry_id = queue_with_entry(record.user_attrs.get(QUEUE_KEY, []), config_json, budget)
            self._studies[record.name] = replace(record, user_attrs={**record.user_attrs, QUEUE_KEY: queue})
            self._wrote(study_id)
            return entry_id

    def create_trial(
        self,
        study_id: int,
        *,
        config: Mapping[str, Any] | None = None,
        budget: float | None = None,
        bracket: int | None = None,
        rung: int | None = None,
        parent: int | None = None,
        user_attrs: Mapping[str, Any] | None = None,
        enqueued: int | None = None,
    ) -> FrozenTrial:
        attrs_json = check_value_json(user_attrs or {}, "user_attrs")
        check_config_or_enqueued(config, enqueued)
        with self._lock:
            trials = self._trials_of(study_id)
            record = self._study_by_id(study_id)
            config_json = check_value_json(check_trial_config(record.space, config or {}), "config")
            if parent is not None and any(t.parent == parent for t in trials):
                raise DuplicatedPromotionError(f"Trial {parent} was already promoted.")
            queue = None
            if enqueued is not None:
                queue, entry = queue_with_taken(record.user_attrs.get(QUEUE_KEY, []), enqueued, len(trials))
                config_json = _json_copy(entry["config"])
                attrs_json[ENQUEUED_KEY] = enqueued
            trial = FrozenTrial(
                number=len(trials), state=TrialState.RUNNING, config=config_json,
                budget=None if budget is None else float(budget), started_at=utcnow(),
                user_attrs=attrs_json, parent=parent, bracket=bracket, rung=rung,
            )
            if queue is not None:
                self._studies[record.name] = replace(record, user_attrs={**record.user_attrs, QUEUE_KEY: queue})
            trials.append(trial)
            self._wrote(study_id)
            return _trial_copy(trial)

    def set_trial_config(self, study_id: int, number: int, config: Mapping[str, Any]) -> None:
        with self._lock:
            space = self._study_by_id(study_id).space
        config_json = check_value_json(check_trial_config(space, config), "config")
        self._update(study_id, number, config=config_json)

    def finish_trial(
        self,
        study_id: int,
        number: int,
        state: TrialState,
        value: float | None = None,
        error: str | None = None,
    ) -> FrozenTrial:
        if not state.is_finished:
            raise TrialStateError(f"finish_trial needs a final state. Got {state.value} instead.")
        if value is not None:
            value = check_objective_value(value)
        return _trial_copy(self._update(study_id, number, state=state, value=value,
                                        error=storable_error(error), finished_at=utcnow()))

    def report(self, study_id: int, number: int, step: float, value: float) -> None:
        with self._lock:
            trial = self._stored_trial(study_id, number)
            self._update(study_id, number, intermediate={**trial.intermediate, float(step): float(value)})

    def set_trial_user_attrs(self, study_id: int, number: int, attrs: Mapping[str, Any]) -> None:
        attrs = check_value_json(attrs, "user_attrs")
        with self._lock:
            trial = self._stored_trial(study_id, number)
            self._update(study_id, number, user_attrs={**trial.user_attrs, **attrs})

    def heartbeat(self, study_id: int, number: int) -> None:
        self._stored_trial(study_id, number)  # A dead process takes its memory along: nothing to record.

    def fail_stale_trials(self, study_id: int) -> list[int]:
        self._trials_of(study_id)
        return []

    def get_trial(self, study_id: int, number: int) -> FrozenTrial:
        return _trial_copy(self._stored_trial(study_id, number))

    def get_trials(
        self,
        study_id: int,
        states: Collection[TrialState] | None = None,
        min_number: int = 0,
    ) -> list[FrozenTrial]:
        min_number = check_min_number(min_number)
        with self._lock:
            trials = self._trials_of(study_id)[min_number:]
        if states is not None:
            trials = [t for t in trials if t.state in states]
        return [_trial_copy(t) for t in trials]

    def fingerprint(self) -> str:
        """Changes with every write (see :class:`~metahpo.storage.Storage`): how many there were."""
        with self._lock:
            return str(self._writes)

    def study_fingerprint(self, study_id: int) -> str:
        """Changes with every write to the study (see :class:`~metahpo.storage.Storage`): the
        study's id and the number of the storage's write that last changed it."""
        with self._lock:
            self._trials_of(study_id)
            return f"{study_id}:{self._changed_at[study_id]}"

    def close(self) -> None:
        pass

    def _wrote(self, study_id: int) -> None:
        """Count a write that changed study ``study_id`` (the caller holds the lock)."""
        self._writes += 1
        self._changed_at[study_id] = self._writes

    def _trials_of(self, study_id: int) -> list[FrozenTrial]:
        if study_id not in self._trials:
            raise StudyNotFoundError(f"No study with id {study_id} in this storage.")
        return self._trials[study_id]

    def _stored_trial(self, study_id: int, number: int) -> FrozenTrial:
        with self._lock:
            trials = self._trials_of(study_id)
            if not 0 <= number < len(trials):
                raise StudyNotFoundError(f"Study {study_id} has no trial {number}.")
            return trials[number]

    def _study_by_id(self, study_id: int) -> StudyRecord:
        for record in self._studies.values():
            if record.study_id == study_id:
                return record
        raise StudyNotFoundError(f"No study with id {study_id} in this storage.")

    def _update(self, study_id: int, number: int, **changes: Any) -> FrozenTrial:
        with self._lock:
            trial = self._stored_trial(study_id, number)
            if trial.state.is_finished:
                raise TrialStateError(
                    f"Trial {number} is already {trial.state.value}; a finished trial cannot change."
                )
            updated = replace(trial, **changes)
            self._trials[study_id][number] = updated
            self._wrote(study_id)
            return updated


def _json_copy(value: Any) -> Any:
    """A copy of JSON data (dicts, lists and scalars) sharing nothing mutable with it."""
    if isinstance(value, dict):
        return {key: _json_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_copy(item) for item in value]
    return value


def _trial_copy(trial: FrozenTrial) -> FrozenTrial:
    # Records are frozen, but their mappings are dicts: hand out copies so that a caller
    # changing one cannot change the stored trial.
    return replace(trial, config=_json_copy(trial.config), user_attrs=_json_copy(trial.user_attrs),
                   intermediate=dict(trial.intermediate))


def _study_copy(record: StudyRecord) -> StudyRecord:
    return replace(record, space=_json_copy(record.space), optimizer=_json_copy(record.optimizer),
                   scheduler=_json_copy(record.scheduler),
                   user_attrs=_json_copy(record.user_attrs))
