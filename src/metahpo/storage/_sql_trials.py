"""The units of work on the trial rows of :class:`~metahpo.storage.SQLStorage`: creating a
trial, its reports, attributes and heartbeats, failing stale trials, finishing and reading.

Each function runs inside one transaction the caller opens (``Database.run``), which may
run it again after a retryable error: none of them keeps state between runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, exists, insert, select, update

from metahpo.exceptions import DuplicatedPromotionError, StorageError, StudyNotFoundError
from metahpo.storage._base import STALE_KEY, is_stale_failure, utcnow
from metahpo.storage._queue import ENQUEUED_KEY, QUEUE_KEY, queue_with_taken
from metahpo.storage._sql_rows import (
    INT32,
    check_running,
    check_study,
    frozen_trial,
    intermediate,
    is_key,
    locked_trial,
    raise_missing,
    trial_key,
)
from metahpo.storage._sql_schema import intermediate_values, studies, trials
from metahpo.trial import FrozenTrial, TrialState

__all__ = [
    "fail_stale",
    "has_stale",
    "insert_trial",
    "merge_trial_attrs",
    "read_trial",
    "read_trials",
    "save_report",
    "stale_conditions",
    "stamp_heartbeat",
    "update_running",
]


def insert_trial(
    connection: Connection,
    study_id: int,
    *,
    config: Any,
    user_attrs: Any,
    budget: float | None,
    bracket: int | None,
    rung: int | None,
    parent: int | None,
    enqueued: int | None,
) -> FrozenTrial:
    """A new RUNNING trial of ``study_id`` with the next number (``config`` and
    ``user_attrs`` already checked as JSON); with ``enqueued``, the config of that queue
    entry, which is marked taken by the trial."""
    queue_column = (studies.c.user_attrs,) if enqueued is not None else ()
    row = None
    if is_key(study_id):
        # Bumping the counter locks the study row until commit: the next creator
        # of a trial in this study waits here and then gets the next number (and,
        # taking an enqueued config, the queue as the previous creator left it).
        row = connection.execute(
            update(studies).where(studies.c.id == study_id)
            .values(next_trial_number=studies.c.next_trial_number + 1)
            .returning(studies.c.next_trial_number, *queue_column)
        ).first()
    if row is None:
        raise StudyNotFoundError(f"No study with id {study_id} in this storage.")
    number = row.next_trial_number - 1
    if parent is not None and connection.execute(
        select(trials.c.id).where(trials.c.study_id == study_id, trials.c.parent == parent)
    ).first():
        raise DuplicatedPromotionError(f"Trial {parent} was already promoted.")
    if enqueued is not None:
        queue, entry = queue_with_taken(row.user_attrs.get(QUEUE_KEY, []), enqueued, number)
        config, user_attrs = entry["config"], {**user_attrs, ENQUEUED_KEY: enqueued}
        connection.execute(
            update(studies).where(studies.c.id == study_id)
            .values(user_attrs={**row.user_attrs, QUEUE_KEY: queue})
        )
    trial = FrozenTrial(
        number=number, state=TrialState.RUNNING, config=config,
        budget=budget, started_at=utcnow(), user_attrs=user_attrs,
        parent=parent, bracket=bracket, rung=rung,
    )
    connection.execute(
        insert(trials).values(
            study_id=study_id, number=trial.number, state=trial.state.value,
            config=config, budget=budget, user_attrs=user_attrs,
            parent=parent, bracket=bracket, rung=rung, started_at=trial.started_at,
        )
    )
    return trial


def save_report(connection: Connection, study_id: int, number: int, step: float, value: float) -> None:
    """The running trial's intermediate ``value`` at ``step`` (replacing one reported there)."""
    row = locked_trial(connection, study_id, number)
    step_value, reported = float(step), float(value)
    check_running(row.state, number)
    where = (intermediate_values.c.trial_id == row.id,
             intermediate_values.c.step == step_value)
    if connection.execute(update(intermediate_values).where(*where)
                          .values(value=reported)).rowcount == 0:
        connection.execute(insert(intermediate_values).values(
            trial_id=row.id, step=step_value, value=reported))


def merge_trial_attrs(connection: Connection, study_id: int, number: int, attrs: Mapping[str, Any]) -> None:
    """``attrs`` merged into the running trial's ``user_attrs``."""
    row = locked_trial(connection, study_id, number)
    check_running(row.state, number)
    connection.execute(update(trials).where(trials.c.id == row.id)
                       .values(user_attrs={**row.user_attrs, **attrs}))


def stamp_heartbeat(connection: Connection, study_id: int, number: int) -> None:
    """The running trial's heartbeat, now; a finished trial needs none, a missing one fails."""
    stamped = 0
    if is_key(study_id) and is_key(number):
        stamped = connection.execute(
            update(trials).where(*trial_key(study_id, number),
                                 trials.c.state == TrialState.RUNNING.value)
            .values(heartbeat_at=utcnow())
        ).rowcount
    if stamped == 0:  # Finished trials need no heartbeat; missing ones are an error.
        locked_trial(connection, study_id, number)


def stale_conditions(study_id: int, cutoff: datetime) -> tuple[Any, ...]:
    """What makes a trial of ``study_id`` stale: RUNNING, its last heartbeat before ``cutoff``
    (a trial that never sent one is not)."""
    return (trials.c.study_id == study_id,
            trials.c.state == TrialState.RUNNING.value,
            trials.c.heartbeat_at.is_not(None), trials.c.heartbeat_at < cutoff)


def has_stale(connection: Connection, study_id: int, stale_where: tuple[Any, ...]) -> bool:
    """Whether the study has a trial matching ``stale_where`` (none when it is empty:
    heartbeats are off); a missing study fails."""
    if not stale_where:
        check_study(connection, study_id)
        return False
    row = None
    if is_key(study_id):
        any_stale = exists(select(trials.c.id).where(*stale_where))
        row = connection.execute(
            select(studies.c.id, any_stale).where(studies.c.id == study_id)
        ).first()
    if row is None:
        raise StudyNotFoundError(f"No study with id {study_id} in this storage.")
    return bool(row[1])


def fail_stale(connection: Connection, stale_where: tuple[Any, ...], message: str) -> list[int]:
    """The trials matching ``stale_where`` FAILED with ``message``, marked with
    ``STALE_KEY``; their numbers."""
    now = utcnow()
    # Row by row, to add STALE_KEY to each trial's own user_attrs; the error text
    # stays what older versions read.
    rows = connection.execute(
        select(trials.c.id, trials.c.number, trials.c.user_attrs)
        .where(*stale_where).with_for_update()
    ).all()
    for row in rows:
        connection.execute(update(trials).where(trials.c.id == row.id).values(
            state=TrialState.FAILED.value, error=message, finished_at=now,
            user_attrs={**row.user_attrs, STALE_KEY: now.isoformat()},
        ))
    return sorted(row.number for row in rows)


def read_trial(connection: Connection, study_id: int, number: int) -> FrozenTrial:
    """Trial ``number`` of ``study_id``, with its intermediate values."""
    row = None
    if is_key(study_id) and is_key(number):
        row = connection.execute(select(trials).where(*trial_key(study_id, number))).first()
    if row is None:
        raise_missing(connection, study_id, number)
    return frozen_trial(row, intermediate(connection, trials.c.id == row.id).get(row.id, {}))


def read_trials(
    connection: Connection, study_id: int, states: list[str] | None, min_number: int
) -> list[FrozenTrial]:
    """The trials of ``study_id`` numbered from ``min_number`` in ``states`` (values of
    :class:`TrialState`; every state when ``None``), in number order."""
    if not is_key(study_id):
        raise StudyNotFoundError(f"No study with id {study_id} in this storage.")
    if min_number > INT32:  # No number is that large (nor can PostgreSQL bind it).
        check_study(connection, study_id)
        return []
    where = [trials.c.study_id == study_id]
    if min_number > 0:
        # The unique (study_id, number) index serves this range.
        where.append(trials.c.number >= min_number)
    if states is not None:
        where.append(trials.c.state.in_(states))
    rows = connection.execute(select(trials).where(*where).order_by(trials.c.number)).all()
    if not rows:  # Trials exist only in existing studies: check only when there are none.
        check_study(connection, study_id)
        return []
    values = intermediate(connection, *where)
    return [frozen_trial(row, values.get(row.id, {})) for row in rows]


def update_running(
    connection: Connection, study_id: int, number: int, changes: dict[str, Any], *,
    reload: bool = False, revive: bool = False,
) -> FrozenTrial:
    """The running trial ``number`` with ``changes`` made; the trial as it is then when
    ``reload``, else ``None``. A trial that is not running fails, except, with ``revive``,
    one FAILED only for a stopped heartbeat: its process may still finish it, being paused
    or cut off rather than dead, and its result counts."""
    row = None
    if is_key(study_id) and is_key(number):
        row = connection.execute(
            update(trials).where(*trial_key(study_id, number),
                                 trials.c.state == TrialState.RUNNING.value)
            .values(**changes).returning(*trials.c)
        ).first()
        if row is None and revive:
            row = _revived(connection, study_id, number, changes)
    if row is None:
        current = locked_trial(connection, study_id, number)
        check_running(current.state, number)
        raise StorageError(f"Trial {number} of study {study_id} could not be updated.")
    if not reload:
        return None  # type: ignore[return-value]
    return frozen_trial(row, intermediate(connection, trials.c.id == row.id).get(row.id, {}))


def _revived(connection: Connection, study_id: int, number: int, changes: dict[str, Any]) -> Any:
    """The row of trial ``number`` with ``changes`` made if it is a stale failure, else ``None``."""
    row = connection.execute(
        select(trials).where(*trial_key(study_id, number)).with_for_update()
    ).first()
    if row is None or not is_stale_failure(frozen_trial(row, {})):
        return None
    if changes.get("state") == TrialState.FAILED.value:
        # Its own process's failure is final: without the mark it cannot be told again.
        changes = {**changes, "user_attrs": {k: v for k, v in row.user_attrs.items() if k != STALE_KEY}}
    return connection.execute(
        update(trials).where(trials.c.id == row.id, trials.c.state == TrialState.FAILED.value)
        .values(**changes).returning(*trials.c)
    ).first()
