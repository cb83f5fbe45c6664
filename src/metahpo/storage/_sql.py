"""Storage in a SQL database: a SQLite file by default, PostgreSQL for a shared server."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
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
from metahpo.storage._base import (
    STALE_TRIAL_ERROR,
    StudyRecord,
    utcnow,
)
from metahpo.storage._checks import (
    check_min_number,
    check_objective_value,
    check_seed,
    check_study_name,
    check_trial_config,
    check_value_json,
    mask_password,
    storable_error,
)
from metahpo.storage._queue import (
    QUEUE_KEY,
    check_config_or_enqueued,
    check_enqueued_config,
    check_queue_budget,
    queue_with_entry,
)
from metahpo.storage._sql_artefacts import SQLArtefactStore
from metahpo.storage._sql_engine import Database, parse_url
from metahpo.storage._sql_rows import (
    GRACE_FACTOR,
    HEARTBEAT_INTERVAL,
    check_storable_name,
    fingerprint,
    is_key,
    is_storable_name,
    optional_positive,
    study_fingerprint,
    study_record,
)
from metahpo.storage._sql_schema import intermediate_values, studies, trials
from metahpo.storage._sql_trials import (
    fail_stale,
    has_stale,
    insert_trial,
    merge_trial_attrs,
    read_trial,
    read_trials,
    save_report,
    stale_conditions,
    stamp_heartbeat,
    update_running,
)
from metahpo.storage._url import missing_sqlite_folder
from metahpo.trial import FrozenTrial, TrialState


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
    Such a failure is only presumed: :meth:`finish_trial` still accepts the result of a
    trial FAILED for a stopped heartbeat, from a process that was paused, not dead.

    Lost connections: a unit of work that loses its PostgreSQL connection (a server
    restart, a failover, a network cut) is retried with backoff for up to
    ``reconnect_timeout`` seconds before :class:`~metahpo.exceptions.StorageError`.

    Args:
        url: the database URL.
        heartbeat_interval: seconds between heartbeats of a running trial, or ``None``
            to switch heartbeats (and stale-trial failing) off.
        grace_period: seconds without a heartbeat after which a RUNNING trial counts
            as dead; four times ``heartbeat_interval`` when ``None``.
        reconnect_timeout: seconds during which a unit of work that lost its database
            connection is retried (0 to fail at once).
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
        heartbeat_interval: float | None = HEARTBEAT_INTERVAL,
        grace_period: float | None = None,
        reconnect_timeout: float = 60.0,
        engine_kwargs: Mapping[str, Any] | None = None,
    ) -> None:
        self.url = url
        self.heartbeat_interval = optional_positive(heartbeat_interval, "heartbeat_interval")
        grace = optional_positive(grace_period, "grace_period")
        if grace is None and self.heartbeat_interval is not None:
            grace = GRACE_FACTOR * self.heartbeat_interval
        self.grace_period = grace
        if engine_kwargs is not None and not isinstance(engine_kwargs, Mapping):
            raise InvalidParameterError(
                "The 'engine_kwargs' parameter of SQLStorage must be a mapping of keyword "
                f"arguments or None. Got {describe(engine_kwargs)} instead."
            )
        if reconnect_timeout != 0:
            reconnect_timeout = optional_positive(reconnect_timeout, "reconnect_timeout") or 0.0
        self.reconnect_timeout = float(reconnect_timeout)
        self._engine_kwargs = dict(engine_kwargs or {})
        folder = missing_sqlite_folder(url)
        if folder is not None:
            raise StorageError(
                f"The storage {mask_password(url)!r} cannot be opened: its folder {folder!r} "
                "does not exist. Create the folder first, or fix the path."
            )
        self._db = Database(parse_url(url), self._engine_kwargs)
        # Meta-models and other artefacts, under their own protocol, in the same database.
        self.artefacts = SQLArtefactStore(self._db)
        try:
            self._db.initialize()
        except BaseException:
            self._db.dispose()
            raise
        # Only once open: a URL that is wrong from the start fails at once, not after a wait.
        self._db.reconnect_timeout = self.reconnect_timeout

    def __repr__(self) -> str:
        return f"SQLStorage({self._db.describe()!r})"

    # Processes started with "spawn" receive the storage by value: send only the
    # settings and open a fresh engine on arrival.
    def __getstate__(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "heartbeat_interval": self.heartbeat_interval,
            "grace_period": self.grace_period,
            "reconnect_timeout": self.reconnect_timeout,
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
        check_storable_name(name)
        payload = [
            check_value_json(value, field)
            for value, field in ((space, "space"), (optimizer, "optimizer"),
                                 (scheduler, "scheduler"), (user_attrs or {}, "user_attrs"))
        ]
        seed = check_seed(seed)
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
            if is_storable_name(name):
                row = connection.execute(select(studies).where(studies.c.name == name)).first()
            if row is None:
                raise StudyNotFoundError(f"No study named {name!r} in this storage.")
            return study_record(row)

        return self._db.run(work, write=False)

    def list_studies(self) -> list[StudyRecord]:
        def work(connection: Connection) -> list[StudyRecord]:
            rows = connection.execute(select(studies).order_by(studies.c.id))
            return [study_record(row) for row in rows]

        return self._db.run(work, write=False)

    def delete_study(self, name: str) -> None:
        def work(connection: Connection) -> None:
            study_id = None
            if is_storable_name(name):
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
            if is_key(study_id):
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

    def enqueue_config(
        self, study_id: int, config: Mapping[str, Any], budget: float | None = None
    ) -> int:
        budget = check_queue_budget(budget)

        def work(connection: Connection) -> int:
            row = None
            if is_key(study_id):
                # The study row stays locked until commit: concurrent enqueuers append one
                # after the other, each to the queue the previous one wrote.
                row = connection.execute(
                    select(studies.c.space, studies.c.user_attrs).where(studies.c.id == study_id)
                    .with_for_update()
                ).first()
            if row is None:
                raise StudyNotFoundError(f"No study with id {study_id} in this storage.")
            config_json = check_value_json(check_enqueued_config(row.space, config), "config")
            queue, entry_id = queue_with_entry(row.user_attrs.get(QUEUE_KEY, []), config_json, budget)
            connection.execute(
                update(studies).where(studies.c.id == study_id)
                .values(user_attrs={**row.user_attrs, QUEUE_KEY: queue})
            )
            return entry_id

        return self._db.run(work, write=True)

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
        enqueued: int | None = None,
    ) -> FrozenTrial:
        check_config_or_enqueued(config, enqueued)
        checked_config = self._checked_config(study_id, config or {})
        checked_attrs = check_value_json(user_attrs or {}, "user_attrs")
        budget_value = None if budget is None else float(budget)

        def work(connection: Connection) -> FrozenTrial:
            return insert_trial(
                connection, study_id, config=checked_config, user_attrs=checked_attrs,
                budget=budget_value, bracket=bracket, rung=rung, parent=parent, enqueued=enqueued,
            )

        try:
            return self._db.run(work, write=True)
        except DuplicatedPromotionError as exc:
            if isinstance(exc.__cause__, SQLAlchemyError):  # Lost a race on the unique parent.
                raise DuplicatedPromotionError(f"Trial {parent} was already promoted.") from exc.__cause__
            raise

    def _checked_config(self, study_id: int, config: Mapping[str, Any]) -> Any:
        """``config`` validated against the study's space (a missing study fails later)."""
        if not (isinstance(config, Mapping) and not config) and is_key(study_id):
            space = self._db.run(lambda c: c.execute(
                select(studies.c.space).where(studies.c.id == study_id)).scalar_one_or_none(),
                write=False)
            if space is not None:
                config = check_trial_config(space, config)
        return check_value_json(config, "config")

    def set_trial_config(self, study_id: int, number: int, config: Mapping[str, Any]) -> None:
        config_json = self._checked_config(study_id, config)
        self._db.run(lambda connection: update_running(connection, study_id, number, {"config": config_json}),
                     write=True)

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
        changes = {"state": state.value, "value": value, "error": storable_error(error), "finished_at": utcnow()}
        # A trial FAILED only for a stopped heartbeat may still be finished by its process,
        # which was paused or cut off rather than dead: revived, its result counts.
        return self._db.run(
            lambda connection: update_running(connection, study_id, number, changes, reload=True, revive=True),
            write=True,
        )

    def report(self, study_id: int, number: int, step: float, value: float) -> None:
        self._db.run(lambda connection: save_report(connection, study_id, number, step, value), write=True)

    def set_trial_user_attrs(self, study_id: int, number: int, attrs: Mapping[str, Any]) -> None:
        attrs = check_value_json(attrs, "user_attrs")
        self._db.run(lambda connection: merge_trial_attrs(connection, study_id, number, attrs), write=True)

    def heartbeat(self, study_id: int, number: int) -> None:
        self._db.run(lambda connection: stamp_heartbeat(connection, study_id, number), write=True)

    def fail_stale_trials(self, study_id: int) -> list[int]:
        stale_where: tuple[Any, ...] = ()
        if self.grace_period is not None and self.heartbeat_interval is not None:
            stale_where = stale_conditions(study_id, utcnow() - timedelta(seconds=self.grace_period))
        # Most calls find nothing: look first, so that they do not queue for the write lock.
        if not self._db.run(lambda connection: has_stale(connection, study_id, stale_where), write=False):
            return []
        message = (
            f"{STALE_TRIAL_ERROR}: no heartbeat for more than {self.grace_period:g} "
            "seconds (the grace period), so its process is taken to be dead."
        )
        return self._db.run(lambda connection: fail_stale(connection, stale_where, message), write=True)

    def get_trial(self, study_id: int, number: int) -> FrozenTrial:
        return self._db.run(lambda connection: read_trial(connection, study_id, number), write=False)

    def get_trials(
        self,
        study_id: int,
        states: Collection[TrialState] | None = None,
        min_number: int = 0,
    ) -> list[FrozenTrial]:
        wanted = None if states is None else [TrialState(s).value for s in states]
        min_number = check_min_number(min_number)
        return self._db.run(lambda connection: read_trials(connection, study_id, wanted, min_number), write=False)

    def fingerprint(self) -> str:
        """See :class:`~metahpo.storage.Storage`: two aggregate queries; no trial is loaded."""
        return self._db.run(fingerprint, write=False)

    def study_fingerprint(self, study_id: int) -> str:
        """See :class:`~metahpo.storage.Storage`: three small queries; no finished trial is loaded."""
        return self._db.run(lambda connection: study_fingerprint(connection, study_id), write=False)

    # Connections ---------------------------------------------------------------------------
    def close(self) -> None:
        """Close the pooled connections; the object opens new ones if used again."""
        self._db.dispose()
