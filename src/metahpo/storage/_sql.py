"""Storage in a SQL database: a SQLite file by default, PostgreSQL for a shared server."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from datetime import timedelta
from typing import Any, NoReturn

from sqlalchemy import Connection, Row, delete, exists, insert, select, update
from sqlalchemy.exc import SQLAlchemyError

from metahpo._validation import describe
from metahpo.exceptions import (
    DuplicatedPromotionError,
    DuplicatedStudyError,
    InvalidParameterError,
    StorageError,
    StudyNotFoundError,
    TrialStateError,
)
from metahpo.storage._base import StudyRecord, utcnow
from metahpo.storage._checks import (
    check_min_number,
    check_objective_value,
    check_study_name,
    check_trial_config,
    check_value_json,
    storable_error,
)
from metahpo.storage._sql_artefacts import SQLArtefactStore
from metahpo.storage._sql_engine import Database, parse_url
from metahpo.storage._sql_schema import intermediate_values, studies, trials
from metahpo.trial import FrozenTrial, TrialState

_INT32 = 2**31 - 1


class SQLStorage:
    """A :class:`~metahpo.storage.Storage` in a SQLite or PostgreSQL database (SQLAlchemy 2).

    URLs: ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` or
    ``postgresql+psycopg://user:password@host:5432/dbname`` (``postgresql://`` means
    psycopg 3 as well; install the ``postgres`` extra). ``sqlite://`` is an in-memory
    database private to this object.

    Opening a database creates the missing tables and records the schema version
    (:data:`~metahpo.storage.SCHEMA_VERSION`); a database with a newer version raises
    :class:`~metahpo.exceptions.SchemaVersionError`. Version 1 is the first schema, so
    there are no migrations (Alembic) yet; tables added since (``metahpo_meta_models``)
    are created when an older database is opened, its data untouched. A connection that
    may not create them (read-only, or a role without CREATE rights) still opens the
    studies, with a warning; it finds no meta-models and cannot save one until another
    connection has created the table.

    Thread and process rules: one object may be shared by the threads of a process,
    and any number of processes (or machines, on PostgreSQL) may open the same
    database at once. A process forked after the object was made gets its own
    connection pool on first use. Trial numbers are handed out by a per-study
    counter bumped in the transaction that inserts the trial, so they stay unique and
    gap-free across processes; so do meta-model versions. SQLite runs in WAL mode; its
    writers queue on ``BEGIN IMMEDIATE`` with a busy timeout, and a unit of work that
    still finds the database locked is retried with backoff.

    Heartbeats: while a trial runs, its process calls :meth:`heartbeat` every
    ``heartbeat_interval`` seconds. :meth:`fail_stale_trials` marks FAILED the RUNNING
    trials whose last heartbeat is older than ``grace_period``; trials that never sent
    a heartbeat (evaluated by hand with ask and tell, say) are left alone. Times come
    from the clocks of the processes, which must agree to within the grace period.

    Args:
        url: the database URL.
        heartbeat_interval: seconds between heartbeats of a running trial, or ``None``
            to switch heartbeats (and stale-trial failing) off.
        grace_period: seconds without a heartbeat after which a RUNNING trial counts
            as dead; twice ``heartbeat_interval`` when ``None``.
        engine_kwargs: extra keyword arguments of :func:`sqlalchemy.create_engine`.

    Example:
        >>> import tempfile
        >>> from metahpo.storage import SQLStorage
        >>> from metahpo.trial import TrialState
        >>> folder = tempfile.mkdtemp()
        >>> storage = SQLStorage(f"sqlite:///{folder}/metahpo.db")
        >>> study = storage.create_study("demo", space={}, direction="minimize", seed=0,
        ...                              optimizer={}, scheduler={})
        >>> trial = storage.create_trial(study.study_id, config={"x": 0.5})
        >>> storage.finish_trial(study.study_id, trial.number, TrialState.COMPLETE, 0.25).value
        0.25
        >>> storage.close()
    """

    def __init__(
        self,
        url: str,
        *,
        heartbeat_interval: float | None = 60.0,
        grace_period: float | None = None,
        engine_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.url = url
        self.heartbeat_interval = _optional_positive(heartbeat_interval, "heartbeat_interval")
        grace = _optional_positive(grace_period, "grace_period")
        if grace is None and self.heartbeat_interval is not None:
            grace = 2.0 * self.heartbeat_interval
        self.grace_period = grace
        if engine_kwargs is not None and not isinstance(engine_kwargs, Mapping):
            raise InvalidParameterError(
                "The 'engine_kwargs' parameter of SQLStorage must be a mapping of keyword "
                f"arguments or None. Got {describe(engine_kwargs)} instead."
            )
        self._engine_kwargs = dict(engine_kwargs or {})
        self._db = Database(parse_url(url), self._engine_kwargs)
        # Meta-models and other artefacts, under their own protocol, in the same database.
        self.artefacts = SQLArtefactStore(self._db)
        try:
            self._db.initialize()
        except BaseException:
            self._db.dispose()
            raise

    def __repr__(self) -> str:
        return f"SQLStorage({self._db.describe()!r})"

    # Processes started with "spawn" receive the storage by value: send only the
    # settings and open a fresh engine on arrival.
    def __getstate__(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "heartbeat_interval": self.heartbeat_interval,
            "grace_period": self.grace_period,
            "engine_kwargs": self._engine_kwargs,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        url = state.pop("url")
        self.__init__(url, **state)  # type: ignore[misc]

    # Studies ------------------------------------------------------------------------------
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
        _check_storable_name(name)
        payload = [
            check_value_json(value, field)
            for value, field in ((space, "space"), (optimizer, "optimizer"),
                                 (scheduler, "scheduler"), (user_attrs or {}, "user_attrs"))
        ]
        seed = int(seed)
        created_at = utcnow()

        def work(connection: Connection) -> StudyRecord:
            if connection.execute(select(studies.c.id).where(studies.c.name == name)).first():
                raise DuplicatedStudyError(f"A study named {name!r} already exists.")
            study_id = connection.execute(
                insert(studies).values(
                    name=name, direction=direction, seed=seed, space=payload[0],
                    optimizer=payload[1], scheduler=payload[2], user_attrs=payload[3],
                    created_at=created_at, next_trial_number=0,
                ).returning(studies.c.id)
            ).scalar_one()
            return StudyRecord(study_id, name, payload[0], direction, seed, payload[1],
                               payload[2], payload[3], created_at)

        try:
            return self._db.run(work, write=True)
        except DuplicatedStudyError as exc:
            if isinstance(exc.__cause__, SQLAlchemyError):  # Lost a race on the unique name.
                raise DuplicatedStudyError(f"A study named {name!r} already exists.") from exc.__cause__
            raise

    def get_study(self, name: str) -> StudyRecord:
        def work(connection: Connection) -> StudyRecord:
            row = None
            if _is_storable_name(name):
                row = connection.execute(select(studies).where(studies.c.name == name)).first()
            if row is None:
                raise StudyNotFoundError(f"No study named {name!r} in this storage.")
            return _study_record(row)

        return self._db.run(work, write=False)

    def list_studies(self) -> list[StudyRecord]:
        def work(connection: Connection) -> list[StudyRecord]:
            rows = connection.execute(select(studies).order_by(studies.c.id))
            return [_study_record(row) for row in rows]

        return self._db.run(work, write=False)

    def delete_study(self, name: str) -> None:
        def work(connection: Connection) -> None:
            study_id = None
            if _is_storable_name(name):
                study_id = connection.execute(
                    select(studies.c.id).where(studies.c.name == name).with_for_update()
                ).scalar_one_or_none()
            if study_id is None:
                raise StudyNotFoundError(f"No study named {name!r} in this storage.")
            trial_ids = select(trials.c.id).where(trials.c.study_id == study_id)
            connection.execute(
                delete(intermediate_values).where(intermediate_values.c.trial_id.in_(trial_ids))
            )
            connection.execute(delete(trials).where(trials.c.study_id == study_id))
            connection.execute(delete(studies).where(studies.c.id == study_id))

        self._db.run(work, write=True)

    def set_study_user_attrs(self, study_id: int, attrs: Mapping[str, Any]) -> None:
        attrs = check_value_json(attrs, "user_attrs")

        def work(connection: Connection) -> None:
            current = None
            if _is_key(study_id):
                current = connection.execute(
                    select(studies.c.user_attrs).where(studies.c.id == study_id).with_for_update()
                ).scalar_one_or_none()
            if current is None:
                raise StudyNotFoundError(f"No study with id {study_id} in this storage.")
            connection.execute(
                update(studies).where(studies.c.id == study_id)
                .values(user_attrs={**current, **attrs})
            )

        self._db.run(work, write=True)

    # Trials -------------------------------------------------------------------------------
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
    ) -> FrozenTrial:
        config_json = self._checked_config(study_id, config or {})
        attrs_json = check_value_json(user_attrs or {}, "user_attrs")
        budget_value = None if budget is None else float(budget)

        def work(connection: Connection) -> FrozenTrial:
            counter = None
            if _is_key(study_id):
                # Bumping the counter locks the study row until commit: the next creator
                # of a trial in this study waits here and then gets the next number.
                counter = connection.execute(
                    update(studies).where(studies.c.id == study_id)
                    .values(next_trial_number=studies.c.next_trial_number + 1)
                    .returning(studies.c.next_trial_number)
                ).scalar_one_or_none()
            if counter is None:
                raise StudyNotFoundError(f"No study with id {study_id} in this storage.")
            if parent is not None and connection.execute(
                select(trials.c.id).where(trials.c.study_id == study_id, trials.c.parent == parent)
            ).first():
                raise DuplicatedPromotionError(f"Trial {parent} was already promoted.")
            trial = FrozenTrial(
                number=counter - 1, state=TrialState.RUNNING, config=config_json,
                budget=budget_value, started_at=utcnow(), user_attrs=attrs_json,
                parent=parent, bracket=bracket, rung=rung,
            )
            connection.execute(
                insert(trials).values(
                    study_id=study_id, number=trial.number, state=trial.state.value,
                    config=config_json, budget=budget_value, user_attrs=attrs_json,
                    parent=parent, bracket=bracket, rung=rung, started_at=trial.started_at,
                )
            )
            return trial

        try:
            return self._db.run(work, write=True)
        except DuplicatedPromotionError as exc:
            if isinstance(exc.__cause__, SQLAlchemyError):  # Lost a race on the unique parent.
                raise DuplicatedPromotionError(f"Trial {parent} was already promoted.") from exc.__cause__
            raise

    def _checked_config(self, study_id: int, config: Mapping[str, Any]) -> Any:
        """``config`` validated against the study's space (a missing study fails later)."""
        if not (isinstance(config, Mapping) and not config) and _is_key(study_id):
            space = self._db.run(lambda c: c.execute(
                select(studies.c.space).where(studies.c.id == study_id)).scalar_one_or_none(),
                write=False)
            if space is not None:
                config = check_trial_config(space, config)
        return check_value_json(config, "config")

    def set_trial_config(self, study_id: int, number: int, config: Mapping[str, Any]) -> None:
        config_json = self._checked_config(study_id, config)
        self._update_running(study_id, number, config=config_json)

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
            value = check_objective_value(value)  # Refused alike on every backend.
        return self._update_running(
            study_id, number, state=state.value, value=value,
            error=storable_error(error), finished_at=utcnow(), reload=True,
        )

    def report(self, study_id: int, number: int, step: float, value: float) -> None:
        def work(connection: Connection) -> None:
            row = self._locked_trial(connection, study_id, number)
            step_value, reported = float(step), float(value)
            _check_running(row.state, number)
            where = (intermediate_values.c.trial_id == row.id,
                     intermediate_values.c.step == step_value)
            if connection.execute(update(intermediate_values).where(*where)
                                  .values(value=reported)).rowcount == 0:
                connection.execute(insert(intermediate_values).values(
                    trial_id=row.id, step=step_value, value=reported))

        self._db.run(work, write=True)

    def set_trial_user_attrs(self, study_id: int, number: int, attrs: Mapping[str, Any]) -> None:
        attrs = check_value_json(attrs, "user_attrs")

        def work(connection: Connection) -> None:
            row = self._locked_trial(connection, study_id, number)
            _check_running(row.state, number)
            connection.execute(update(trials).where(trials.c.id == row.id)
                               .values(user_attrs={**row.user_attrs, **attrs}))

        self._db.run(work, write=True)

    def heartbeat(self, study_id: int, number: int) -> None:
        def work(connection: Connection) -> None:
            stamped = 0
            if _is_key(study_id) and _is_key(number):
                stamped = connection.execute(
                    update(trials).where(*_trial_key(study_id, number),
                                         trials.c.state == TrialState.RUNNING.value)
                    .values(heartbeat_at=utcnow())
                ).rowcount
            if stamped == 0:  # Finished trials need no heartbeat; missing ones are an error.
                self._locked_trial(connection, study_id, number)

        self._db.run(work, write=True)

    def fail_stale_trials(self, study_id: int) -> list[int]:
        stale_where: tuple[Any, ...] = ()
        if self.grace_period is not None and self.heartbeat_interval is not None:
            cutoff = utcnow() - timedelta(seconds=self.grace_period)
            stale_where = (trials.c.study_id == study_id,
                           trials.c.state == TrialState.RUNNING.value,
                           trials.c.heartbeat_at.is_not(None), trials.c.heartbeat_at < cutoff)

        def find(connection: Connection) -> bool:
            if not stale_where:
                self._check_study(connection, study_id)
                return False
            row = None
            if _is_key(study_id):
                any_stale = exists(select(trials.c.id).where(*stale_where))
                row = connection.execute(
                    select(studies.c.id, any_stale).where(studies.c.id == study_id)
                ).first()
            if row is None:
                raise StudyNotFoundError(f"No study with id {study_id} in this storage.")
            return bool(row[1])

        # Most calls find nothing: look first, so that they do not queue for the write lock.
        if not self._db.run(find, write=False):
            return []
        message = (
            f"The trial's heartbeat stopped: no heartbeat for more than {self.grace_period:g} "
            "seconds (the grace period), so its process is taken to be dead."
        )

        def fail(connection: Connection) -> list[int]:
            numbers = connection.execute(
                update(trials).where(*stale_where)
                .values(state=TrialState.FAILED.value, error=message, finished_at=utcnow())
                .returning(trials.c.number)
            ).scalars().all()
            return sorted(numbers)

        return self._db.run(fail, write=True)

    def get_trial(self, study_id: int, number: int) -> FrozenTrial:
        def work(connection: Connection) -> FrozenTrial:
            row = None
            if _is_key(study_id) and _is_key(number):
                row = connection.execute(select(trials).where(*_trial_key(study_id, number))).first()
            if row is None:
                self._raise_missing(connection, study_id, number)
            return _frozen_trial(row, _intermediate(connection, trials.c.id == row.id).get(row.id, {}))

        return self._db.run(work, write=False)

    def get_trials(
        self,
        study_id: int,
        states: Collection[TrialState] | None = None,
        min_number: int = 0,
    ) -> list[FrozenTrial]:
        wanted = None if states is None else [TrialState(s).value for s in states]
        min_number = check_min_number(min_number)

        def work(connection: Connection) -> list[FrozenTrial]:
            if not _is_key(study_id):
                raise StudyNotFoundError(f"No study with id {study_id} in this storage.")
            if min_number > _INT32:  # No number is that large (nor can PostgreSQL bind it).
                self._check_study(connection, study_id)
                return []
            where = [trials.c.study_id == study_id]
            if min_number > 0:
                # The unique (study_id, number) index serves this range.
                where.append(trials.c.number >= min_number)
            if wanted is not None:
                where.append(trials.c.state.in_(wanted))
            rows = connection.execute(select(trials).where(*where).order_by(trials.c.number)).all()
            if not rows:  # Trials exist only in existing studies: check only when there are none.
                self._check_study(connection, study_id)
                return []
            values = _intermediate(connection, *where)
            return [_frozen_trial(row, values.get(row.id, {})) for row in rows]

        return self._db.run(work, write=False)

    # Meta-models ---------------------------------------------------------------------------
    def close(self) -> None:
        """Close the pooled connections; the object opens new ones if used again."""
        self._db.dispose()

    # Helpers --------------------------------------------------------------------------------
    def _check_study(self, connection: Connection, study_id: int) -> None:
        if not _is_key(study_id) or connection.execute(
            select(studies.c.id).where(studies.c.id == study_id)
        ).first() is None:
            raise StudyNotFoundError(f"No study with id {study_id} in this storage.")

    def _raise_missing(self, connection: Connection, study_id: int, number: int) -> NoReturn:
        self._check_study(connection, study_id)
        raise StudyNotFoundError(f"Study {study_id} has no trial {number}.")

    def _locked_trial(self, connection: Connection, study_id: int, number: int) -> Any:
        row = None
        if _is_key(study_id) and _is_key(number):
            row = connection.execute(
                select(trials.c.id, trials.c.state, trials.c.user_attrs)
                .where(*_trial_key(study_id, number)).with_for_update()
            ).first()
        if row is None:
            self._raise_missing(connection, study_id, number)
        return row

    def _update_running(self, study_id: int, number: int, *, reload: bool = False,
                        **changes: Any) -> FrozenTrial:
        def work(connection: Connection) -> FrozenTrial:
            row = None
            if _is_key(study_id) and _is_key(number):
                row = connection.execute(
                    update(trials).where(*_trial_key(study_id, number),
                                         trials.c.state == TrialState.RUNNING.value)
                    .values(**changes).returning(*trials.c)
                ).first()
            if row is None:
                current = self._locked_trial(connection, study_id, number)
                _check_running(current.state, number)
                raise StorageError(f"Trial {number} of study {study_id} could not be updated.")
            if not reload:
                return None  # type: ignore[return-value]
            return _frozen_trial(row, _intermediate(connection, trials.c.id == row.id).get(row.id, {}))

        return self._db.run(work, write=True)


def _optional_positive(value: Any, name: str) -> float | None:
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


def _is_storable_name(name: Any) -> bool:
    """Whether both backends can store ``name`` (PostgreSQL text refuses NUL)."""
    if not isinstance(name, str) or "\x00" in name:
        return False
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_storable_name(name: str) -> None:
    if not _is_storable_name(name):
        raise InvalidParameterError(
            "The 'name' parameter of a study must be text a database can store: no NUL "
            f"character and no lone surrogate. Got {describe(name)} instead."
        )


def _is_key(value: Any) -> bool:
    """Whether ``value`` can be an id or a trial number (anything else matches nothing)."""
    return isinstance(value, int) and not isinstance(value, bool) and -_INT32 - 1 <= value <= _INT32


def _check_running(state: str, number: int) -> None:
    if state != TrialState.RUNNING.value:
        raise TrialStateError(
            f"Trial {number} is already {state}; a finished trial cannot change."
        )


def _trial_key(study_id: int, number: int) -> tuple[Any, ...]:
    return trials.c.study_id == study_id, trials.c.number == number


def _intermediate(connection: Connection, *where: Any) -> dict[int, dict[float, float]]:
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


def _study_record(row: Row[Any]) -> StudyRecord:
    return StudyRecord(
        study_id=row.id, name=row.name, space=row.space, direction=row.direction,
        seed=row.seed, optimizer=row.optimizer, scheduler=row.scheduler,
        user_attrs=row.user_attrs, created_at=row.created_at,
    )


def _frozen_trial(row: Row[Any], intermediate: dict[float, float]) -> FrozenTrial:
    return FrozenTrial(
        number=row.number, state=TrialState(row.state), config=row.config, budget=row.budget,
        value=row.value, intermediate=intermediate, started_at=row.started_at,
        finished_at=row.finished_at, error=row.error, user_attrs=row.user_attrs,
        parent=row.parent, bracket=row.bracket, rung=row.rung,
    )
