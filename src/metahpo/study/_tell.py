"""Telling a trial's result: which storage a handle's study lives in, the state told, and the
write that finishes the trial (which a lost connection may have committed already)."""

from __future__ import annotations

import logging
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError, StudyNotFoundError, TrialStateError
from metahpo.knowledge import spec_identity
from metahpo.storage import Storage, absolute_sqlite_url, check_objective_value, is_stale_failure
from metahpo.trial import FrozenTrial, TrialState

__all__ = ["finish_told_trial", "storage_key"]

logger = logging.getLogger("metahpo.study")


def storage_key(storage: Any) -> Any:
    """What tells storages apart: a database's URL, else the storage object itself."""
    url = getattr(storage, "url", None)
    return spec_identity(absolute_sqlite_url(url)) if url is not None else id(storage)


def finish_told_trial(
    storage: Storage,
    study_id: int,
    number: int,
    state: TrialState | str | None,
    value: float | None,
    error: str | None,
) -> FrozenTrial:
    """Finish trial ``number`` as :meth:`Study.tell <metahpo.study.Study.tell>` was told."""
    final = _parse_state(state, value)
    _check_error(error, final)
    try:
        current = storage.get_trial(study_id, number)
    except StudyNotFoundError:
        if all(record.study_id != study_id for record in storage.list_studies()):
            raise  # the study itself is gone (deleted by another process)
        raise InvalidParameterError(
            f"The 'trial' parameter of Study.tell must be a handle from ask() or the number of "
            f"a trial of this study. Got {number}, which no trial of the study has."
        ) from None
    if current.state.is_finished and not is_stale_failure(current):
        raise TrialStateError(
            f"Trial {number} is already {current.state.value}: a trial is told once. Inside "
            "optimize, the objective's return value tells it; do not call tell there too."
        )
    if is_stale_failure(current):
        # Its heartbeat stopped (a paused process, a network cut) but it was not dead:
        # the result still counts.
        logger.warning("Trial %d was taken for dead (heartbeat stopped) and is finished late.", number)
    if final is TrialState.COMPLETE or value is not None:
        value = check_objective_value(value)
    elif final is TrialState.PRUNED and current.intermediate:
        value = current.intermediate[max(current.intermediate)]
    try:
        return storage.finish_trial(study_id, number, final, value=value, error=error)
    except TrialStateError:
        # After a lost connection the storage runs the write again; if the first one
        # committed, the trial already holds this very result.
        now = storage.get_trial(study_id, number)
        if now.state is final and now.value == value:
            return now
        raise


def _check_error(error: Any, final: TrialState) -> None:
    """An error message is text, and only a FAILED trial's: on a COMPLETE trial it would
    read as a failure the trial never had (``metahpo show`` prints it)."""
    if error is None:
        return
    if not isinstance(error, str):
        raise InvalidParameterError(
            f"The 'error' parameter of tell must be a string or None. Got {describe(error)} instead."
        )
    if final is not TrialState.FAILED:
        raise InvalidParameterError(
            "The 'error' parameter of tell is for a FAILED trial only (state='FAILED', no "
            f"value). Got error={describe(error)} with state={final.value!r}."
        )


def _parse_state(state: TrialState | str | None, value: float | None) -> TrialState:
    if state is None:
        if value is None:
            raise InvalidParameterError(
                "tell needs a 'value' for a COMPLETE trial, or state='FAILED' / 'PRUNED'. Got neither."
            )
        return TrialState.COMPLETE
    try:
        parsed = TrialState(state.value if isinstance(state, TrialState) else str(state).upper())
    except ValueError:
        parsed = None
    if parsed is None or parsed is TrialState.RUNNING:
        raise InvalidParameterError(
            f"The 'state' parameter of tell must be one of 'COMPLETE', 'PRUNED', 'FAILED'. Got {describe(state)} instead."
        )
    if parsed is TrialState.FAILED and value is not None:
        # A value stored on a FAILED trial would read as a result it never gave.
        raise InvalidParameterError(
            "The 'value' parameter of tell must be None for a FAILED trial (say why with "
            f"error=...). Got value={describe(value)} with state='FAILED'."
        )
    return parsed
