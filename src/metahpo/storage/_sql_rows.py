"""Row conversions and small checks of :class:`~metahpo.storage.SQLStorage`."""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any, NoReturn

from sqlalchemy import Connection, Integer, Row, Text, func, select, type_coerce
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError, StudyNotFoundError, TrialStateError
from metahpo.storage._base import StudyRecord
from metahpo.storage._sql_schema import intermediate_values, studies, trials
from metahpo.trial import FrozenTrial, TrialState

INT32 = 2**31 - 1

# Heartbeat defaults (see docs/storage.md, "Heartbeats"): a beat every 5 s costs one small
# UPDATE per running trial (16 workers: about 3 writes/s, against hundreds the storage
# takes); four missed beats (20 s) declare a trial dead. The grace period covers a SQLite
# writer queueing for the lock, a garbage-collection pause or a short network cut; a
# process paused for longer still delivers its result (see `finish_trial`), so a short
# grace period costs at most a retry, never a result.
HEARTBEAT_INTERVAL = 5.0
GRACE_FACTOR = 4.0


def optional_positive(value: Any, name: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
        math.isfinite(value) and value > 0
    ):
        raise InvalidParameterError(
            f"The {name!r} parameter of SQLStorage must be a positive number of seconds or "
            f"None. Got {describe(value)} instead."
        )
    return float(value)


def is_storable_name(name: Any) -> bool:
    """Whether both backends can store ``name`` (PostgreSQL text refuses NUL)."""
    if not isinstance(name, str) or "\x00" in name:
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_storable_name(name: str) -> None:
    if not is_storable_name(name):
        raise InvalidParameterError(
            "The 'name' parameter of a study must be text a database can store: no NUL "
            f"character and no lone surrogate. Got {describe(name)} instead."
        )


def is_key(value: Any) -> bool:
    """Whether ``value`` can be an id or a trial number (anything else matches nothing)."""
    return isinstance(value, int) and not isinstance(value, bool) and -INT32 - 1 <= value <= INT32


def check_running(state: str, number: int) -> None:
    if state != TrialState.RUNNING.value:
        raise TrialStateError(
            f"Trial {number} is already {state}; a finished trial cannot change."
        )


def trial_key(study_id: int, number: int) -> tuple[Any, ...]:
    return trials.c.study_id == study_id, trials.c.number == number


def intermediate(connection: Connection, *where: Any) -> dict[int, dict[float, float]]:
    """Intermediate values by trial id, in report order, of the trials matching ``where``."""
    table = intermediate_values
    query = (
        select(table.c.trial_id, table.c.step, table.c.value)
        .join(trials, trials.c.id == table.c.trial_id)
        .where(*where)
        .order_by(table.c.id)
    )
    values: dict[int, dict[float, float]] = {}
    for trial_id, step, value in connection.execute(query):
        values.setdefault(trial_id, {})[step] = value
    return values


def study_record(row: Row[Any]) -> StudyRecord:
    return StudyRecord(
        study_id=row.id, name=row.name, space=row.space, direction=row.direction,
        seed=row.seed, optimizer=row.optimizer, scheduler=row.scheduler,
        user_attrs=row.user_attrs, created_at=row.created_at,
    )


def frozen_trial(row: Row[Any], intermediate: dict[float, float]) -> FrozenTrial:
    return FrozenTrial(
        number=row.number, state=TrialState(row.state), config=row.config, budget=row.budget,
        value=row.value, intermediate=intermediate, started_at=row.started_at,
        finished_at=row.finished_at, error=row.error, user_attrs=row.user_attrs,
        parent=row.parent, bracket=row.bracket, rung=row.rung,
    )


class _ErrorBytes(FunctionElement[int]):
    """The length in bytes of a trial's error (``NULL`` without one)."""

    type = Integer()
    inherit_cache = True


@compiles(_ErrorBytes)
def _error_bytes_sql(element: _ErrorBytes, compiler: Any, **kw: Any) -> str:
    # PostgreSQL reads a text's length in bytes from its header: a long traceback stored
    # compressed or out of line is not unpacked, as a comparison of its text would be.
    return f"octet_length({compiler.process(element.clauses, **kw)})"


@compiles(_ErrorBytes, "sqlite")
def _error_bytes_sqlite(element: _ErrorBytes, compiler: Any, **kw: Any) -> str:
    return f"length(CAST({compiler.process(element.clauses, **kw)} AS BLOB))"


def _error_bytes() -> Any:
    """An aggregate column: the bytes of the grouped trials' errors, summed.

    A trial failed for a stopped heartbeat (:data:`~metahpo.storage.STALE_TRIAL_ERROR`)
    and told late as FAILED by its own process stays FAILED, and its new end may be
    earlier than the latest one (that process's clock may be behind), so neither the count
    nor the latest end by state need change; its error, its own now, does, and with it
    this sum, unless the two errors have exactly as many bytes. No row is sent back for it,
    and no error's text is read.
    """
    return func.coalesce(func.sum(_ErrorBytes(trials.c.error)), 0)


def fingerprint(connection: Connection) -> str:
    """:meth:`SQLStorage.fingerprint`: a hash of each study's id, name, trial counter and
    ``user_attrs``, and of the number of trials, the latest end and the bytes of the
    errors (:func:`_error_bytes`) by study and state.

    Two aggregate queries in one snapshot: no trial row is loaded. A trial created bumps
    its study's counter and a count, one that ends moves between states, and one failed
    for a stopped heartbeat and told late moves between states or changes its error; a
    deleted study's id is never reused. The aggregate reads every trial row
    in the database (the index on study and state does not hold the end or the error),
    but sends back one row by study and state.
    """
    study_rows = connection.execute(
        select(studies.c.id, studies.c.name, studies.c.next_trial_number,
               type_coerce(studies.c.user_attrs, Text))  # the stored text, not parsed
        .order_by(studies.c.id)
    ).all()
    trial_rows = connection.execute(
        select(trials.c.study_id, trials.c.state, func.count(), func.max(trials.c.finished_at),
               _error_bytes())
        .group_by(trials.c.study_id, trials.c.state)
        .order_by(trials.c.study_id, trials.c.state)
    ).all()
    text = json.dumps([[list(row) for row in study_rows], [list(row) for row in trial_rows]], default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def study_fingerprint(connection: Connection, study_id: int) -> str:
    """:meth:`SQLStorage.study_fingerprint`: a hash of the study's id, trial counter and
    ``user_attrs``, of its number of trials, latest end and bytes of errors
    (:func:`_error_bytes`) by state, and of each RUNNING trial's config,
    ``user_attrs``, number of reports and latest report.

    Three queries in one snapshot: the study's row; an aggregate of its trials by state,
    which reads each of the study's trial rows in the database (the index on study and
    state does not hold the end or the error) but loads no config, attribute or report
    and sends back one row by state; and the RUNNING trials alone (as many as the
    workers), each with one row of its reports' count and latest step. A finished trial
    never changes but for a stale failure told late, which moves between states or, told
    as FAILED, changes its error (as in :func:`fingerprint`); a trial reports
    only while it runs.
    """
    study = None
    if is_key(study_id):
        study = connection.execute(
            select(studies.c.id, studies.c.next_trial_number, type_coerce(studies.c.user_attrs, Text))
            .where(studies.c.id == study_id)
        ).first()
    if study is None:
        raise StudyNotFoundError(f"No study with id {study_id} in this storage.")
    by_state = connection.execute(
        select(trials.c.state, func.count(), func.max(trials.c.finished_at), _error_bytes())
        .where(trials.c.study_id == study_id).group_by(trials.c.state).order_by(trials.c.state)
    ).all()
    running_where = (trials.c.study_id == study_id, trials.c.state == TrialState.RUNNING.value)
    reports = (
        select(intermediate_values.c.trial_id, func.count().label("reports"),
               func.max(intermediate_values.c.step).label("step"))
        .join(trials, trials.c.id == intermediate_values.c.trial_id)
        .where(*running_where).group_by(intermediate_values.c.trial_id).subquery()
    )
    latest = intermediate_values.alias("latest")
    running = connection.execute(
        select(trials.c.number, type_coerce(trials.c.config, Text), type_coerce(trials.c.user_attrs, Text),
               reports.c.reports, reports.c.step, latest.c.value)
        .select_from(
            trials.outerjoin(reports, reports.c.trial_id == trials.c.id)
            .outerjoin(latest, (latest.c.trial_id == reports.c.trial_id) & (latest.c.step == reports.c.step))
        )
        .where(*running_where).order_by(trials.c.number)
    ).all()
    text = json.dumps([list(study), [list(row) for row in by_state], [list(row) for row in running]], default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def check_study(connection: Connection, study_id: int) -> None:
    if not is_key(study_id) or connection.execute(
        select(studies.c.id).where(studies.c.id == study_id)
    ).first() is None:
        raise StudyNotFoundError(f"No study with id {study_id} in this storage.")



def raise_missing(connection: Connection, study_id: int, number: int) -> NoReturn:
    check_study(connection, study_id)
    raise StudyNotFoundError(f"Study {study_id} has no trial {number}.")



def locked_trial(connection: Connection, study_id: int, number: int) -> Any:
    row = None
    if is_key(study_id) and is_key(number):
        row = connection.execute(
            select(trials.c.id, trials.c.state, trials.c.user_attrs)
            .where(*trial_key(study_id, number)).with_for_update()
        ).first()
    if row is None:
        raise_missing(connection, study_id, number)
    return row
