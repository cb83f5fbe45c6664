"""Engines, sessions and error mapping for :class:`~metahpo.storage.SQLStorage`.

One engine per process: the connection pool is dropped (without closing the parent's
connections) the first time a forked child uses it. Every unit of work runs in
:meth:`Database.session`, the one place where SQLAlchemy and driver errors become
:class:`~metahpo.exceptions.StorageError`; :meth:`Database.run` retries a unit of
work when the database says it is locked or the transaction lost a race.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, create_engine, event, inspect, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.pool import StaticPool

from metahpo._validation import describe
from metahpo.exceptions import (
    DuplicatedPromotionError,
    DuplicatedStudyError,
    InvalidParameterError,
    SchemaVersionError,
    StorageError,
)
from metahpo.storage._base import SCHEMA_VERSION, utcnow
from metahpo.storage._checks import mask_password
from metahpo.storage._sql_schema import (
    META_MODEL_VERSION_CONSTRAINT,
    STUDY_NAME_CONSTRAINT,
    TRIAL_PARENT_CONSTRAINT,
    meta_models,
    metadata,
    schema_version,
)

logger = logging.getLogger("metahpo.storage")
# PostgreSQL SQLSTATEs of a connection that may not write: permission denied, and a
# read-only transaction (a hot standby, default_transaction_read_only).
_NO_WRITE_SQLSTATES = frozenset({"42501", "25006"})

T = TypeVar("T")

# Seconds a SQLite connection waits for a lock before "database is locked" (the
# driver's `timeout`; engine_kwargs={"connect_args": {"timeout": ...}} overrides it).
SQLITE_BUSY_TIMEOUT = 30.0
MAX_ATTEMPTS = 12  # attempts of one unit of work when the database is locked or a race is lost
_WRITE_OPTION = "metahpo_write"  # execution option: this transaction will write
# SQLSTATEs of PostgreSQL errors that mean "try the transaction again".
_RETRY_SQLSTATES = frozenset({"40001", "40P01", "55P03"})
# An advisory lock key ("mhpo") that serialises schema creation between processes.
_SCHEMA_LOCK_KEY = 0x6D68706F


# The drivers metahpo accepts; psycopg 3 is the tested one ("postgresql://" alone means it).
_DRIVERS = {"sqlite": frozenset({"pysqlite"}), "postgresql": frozenset({"psycopg", "psycopg2"})}


class _RetryableError(StorageError):
    """The database was locked or the transaction lost a race; running it again may succeed."""


class _DisconnectedError(StorageError):
    """The connection to the server was lost or refused; a new one may succeed later."""


def _port_text(url: str) -> str | None:
    """The port as written in ``url``, or ``None`` if it names none."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        return None
    # After the credentials (a password may hold '@' or ':') and an IPv6 host's brackets.
    host = netloc.rpartition("@")[2]
    if host.startswith("["):
        host = host.partition("]")[2]
    _, colon, port = host.rpartition(":")
    return port if colon else None


def parse_url(url: Any) -> URL:
    """The SQLAlchemy URL of a SQLite or PostgreSQL database, or an error naming ``url``."""
    expected = (
        "a database URL such as 'sqlite:///metahpo.db' or "
        "'postgresql+psycopg://user:password@host:5432/dbname'"
    )
    if isinstance(url, URL):
        parsed = url
    elif isinstance(url, str):
        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError) as exc:
            shown = describe(mask_password(url))
            raise InvalidParameterError(
                f"The 'url' parameter of SQLStorage must be {expected}. Got {shown} instead."
            ) from exc
    else:
        raise InvalidParameterError(
            f"The 'url' parameter of SQLStorage must be {expected}. Got {describe(url)} instead."
        )
    backend = parsed.get_backend_name()
    if backend == "postgresql" and "+" not in parsed.drivername:
        # Without a driver SQLAlchemy picks psycopg2; metahpo's extra installs psycopg 3.
        parsed = parsed.set(drivername="postgresql+psycopg")
    if backend not in ("sqlite", "postgresql"):
        raise InvalidParameterError(
            f"The 'url' parameter of SQLStorage must be {expected}: the backend must be "
            f"'sqlite' or 'postgresql'. Got {describe(backend)} instead."
        )
    driver = parsed.get_driver_name()
    if driver not in _DRIVERS.get(backend, ()):
        raise InvalidParameterError(
            f"The 'url' parameter of SQLStorage must be {expected}: the {backend} driver must "
            f"be one of {sorted(_DRIVERS[backend])}. Got {describe(driver)} instead."
        )
    # SQLAlchemy reads the port with int(), which also takes '+1' or ' 1': written any way
    # but as digits, the port is more likely a typo than meant.
    written = _port_text(url) if parsed.port is not None and isinstance(url, str) else None
    if written is not None and not (written.isascii() and written.isdigit()):
        raise InvalidParameterError(
            f"The 'url' parameter of SQLStorage must be {expected}: the port must be written "
            f"as digits. Got {describe(mask_password(url))} instead."
        )
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise InvalidParameterError(
            f"The 'url' parameter of SQLStorage must be {expected}: the port must be between "
            f"1 and 65535. Got {parsed.port!r} instead."
        )
    if backend == "sqlite" and parsed.host:
        raise InvalidParameterError(
            f"The 'url' parameter of SQLStorage must be {expected}; a SQLite URL has three "
            f"slashes before a relative path and four before an absolute one. Got "
            f"{describe(mask_password(parsed.render_as_string(hide_password=True)))} instead."
        )
    return parsed


def _sqlite_file_of(url: URL) -> str | None:
    """The absolute path of a SQLite database file (the storage may outlive a chdir), or
    ``None`` for other databases, in-memory SQLite and ``file:`` URIs."""
    if url.get_backend_name() != "sqlite" or _is_memory_sqlite(url):
        return None
    database = url.database or ""
    return None if database.startswith("file:") else os.path.abspath(database)


def _is_memory_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def _make_engine(url: URL, engine_kwargs: dict[str, Any]) -> Engine:
    kwargs: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT, "check_same_thread": False}
        if _is_memory_sqlite(url):
            # One shared connection, or every connection would see its own empty database.
            kwargs["poolclass"] = StaticPool
    else:
        kwargs["pool_pre_ping"] = True
    connect_args = {**kwargs.get("connect_args", {}), **engine_kwargs.get("connect_args", {})}
    kwargs.update(engine_kwargs)
    if connect_args:
        kwargs["connect_args"] = connect_args
    try:
        engine = create_engine(url, **kwargs)
    except (NoSuchModuleError, ModuleNotFoundError) as exc:
        raise StorageError(
            f"The database driver for {url.drivername!r} is not installed. For PostgreSQL "
            "install the 'postgres' extra: pip install 'metahpo[postgres]'."
        ) from exc
    except (ArgumentError, TypeError) as exc:
        raise InvalidParameterError(
            f"The 'engine_kwargs' parameter of SQLStorage must hold keyword arguments of "
            f"sqlalchemy.create_engine. Got {describe(engine_kwargs)} instead: {exc}"
        ) from exc
    if url.get_backend_name() == "sqlite":
        _configure_sqlite(engine, memory=_is_memory_sqlite(url))
    return engine


def _configure_sqlite(engine: Engine, *, memory: bool) -> None:
    # pysqlite's own transaction handling starts transactions late and never as
    # IMMEDIATE; take it over (the SQLAlchemy recipe for SQLite transactions) so that
    # writers queue for the write lock at BEGIN instead of failing when they upgrade.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            if not memory:
                # WAL lets readers run beside the one writer; NORMAL sync is safe with WAL.
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        write = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _map_error(exc: SQLAlchemyError, where: str = "") -> StorageError:
    """The metahpo error for a database error (the caller raises it ``from exc``);
    ``where`` names the database in the message of an error no other kind explains."""
    original = getattr(exc, "orig", None)
    text = str(original if original is not None else exc).strip()
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if sqlstate in _RETRY_SQLSTATES or (
        isinstance(exc, DBAPIError) and ("database is locked" in text or "database table is locked" in text)
    ):
        return _RetryableError(f"The database stayed locked or busy: {text}")
    if isinstance(exc, DBAPIError) and (
        exc.connection_invalidated or (isinstance(exc, OperationalError) and _is_server(exc))
    ):
        return _DisconnectedError(f"The database connection was lost or refused: {text}")
    if isinstance(exc, IntegrityError):
        if STUDY_NAME_CONSTRAINT in text or "metahpo_studies.name" in text:
            return DuplicatedStudyError(f"A study with this name already exists: {text}")
        if TRIAL_PARENT_CONSTRAINT in text or "metahpo_trials.study_id, metahpo_trials.parent" in text:
            return DuplicatedPromotionError(f"The trial was already promoted: {text}")
        if META_MODEL_VERSION_CONSTRAINT in text or "metahpo_meta_models.key" in text:
            # Another writer took this version first; the next attempt takes the next one.
            return _RetryableError(f"A meta-model version was taken concurrently: {text}")
    named = f" {where}" if where else ""
    return StorageError(f"The database{named} failed ({type(exc).__name__}): {text}")


def _is_server(exc: DBAPIError) -> bool:
    """Whether ``exc`` comes from a PostgreSQL driver (SQLite's operational errors are
    locks, handled above, or real errors: a file that cannot be opened does not heal)."""
    module = type(getattr(exc, "orig", None)).__module__ or ""
    return module.startswith(("psycopg", "psycopg2"))


def _create_missing_tables(connection: Connection, existing: set[str], where: str) -> bool:
    """Add the tables an older database lacks; ``False`` if only optional ones could not be.

    A read-only connection or a restricted role (no CREATE on the schema) must still open
    the studies it can read when all that is missing is the meta-model table, so a refused
    CREATE of that table alone is a warning here, not an error.
    """
    try:
        with connection.begin_nested():
            metadata.create_all(connection, checkfirst=True)
    except DBAPIError as exc:
        missing = {t.name for t in metadata.sorted_tables} - existing
        if missing != {meta_models.name} or not _may_not_write(exc):
            raise
        logger.warning(
            "The database at %s predates the table %s and this connection may not create it "
            "(a read-only connection, or a role without CREATE rights): its studies open, but "
            "meta-models cannot be stored there until a connection that may create the table "
            "opens the database.", where, meta_models.name,
        )
        return False
    return True


def _may_not_write(exc: DBAPIError) -> bool:
    """Whether ``exc`` says the connection lacks the right to create or write."""
    original = exc.orig
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)  # psycopg 3 / 2
    return state in _NO_WRITE_SQLSTATES or getattr(original, "sqlite_errorname", "") == "SQLITE_READONLY"


class Database:
    """An engine that follows the process across forks, with sessions that map errors."""

    def __init__(self, url: URL, engine_kwargs: dict[str, Any], reconnect_timeout: float = 0.0) -> None:
        self.url = url
        self.reconnect_timeout = reconnect_timeout
        self.backend = url.get_backend_name()
        self._engine_kwargs = engine_kwargs
        self._engine = _make_engine(url, engine_kwargs)
        # False when an older database lacks the meta-model table and this role may not
        # create it: the studies still open, meta-model reads find nothing, saves refuse.
        self.has_meta_models = True
        self._pid = os.getpid()
        self._fork_lock = threading.Lock()
        # An in-memory SQLite database is one connection: one transaction at a time.
        self._serial_lock: threading.RLock | None = (
            threading.RLock() if _is_memory_sqlite(url) else None
        )
        # A SQLite file, and which file it was once opened (see _check_same_file).
        self._sqlite_file = _sqlite_file_of(url)
        self._file_identity: tuple[int, int] | None = None

    @property
    def engine(self) -> Engine:
        pid = os.getpid()
        if pid != self._pid:
            with self._fork_lock:
                if pid != self._pid:
                    # The pooled connections belong to the parent; forget them without
                    # closing them (the SQLAlchemy recipe for multiprocessing).
                    self._engine.dispose(close=False)
                    self._pid = pid
        return self._engine

    @contextlib.contextmanager
    def session(self, *, write: bool) -> Iterator[Connection]:
        """One transaction: committed on success, rolled back on any error.

        Database errors leave as :class:`StorageError` (or a subclass) raised ``from``
        the original; metahpo's own errors raised inside pass unchanged.
        """
        lock = self._serial_lock if self._serial_lock is not None else contextlib.nullcontext()
        try:
            with lock, self.engine.connect() as connection:
                if write:
                    connection.execution_options(**{_WRITE_OPTION: True})
                elif self.backend == "postgresql":
                    # Reads of several statements see one snapshot. psycopg puts the level
                    # into its BEGIN, so this costs no round trip.
                    connection.execution_options(isolation_level="REPEATABLE READ")
                with connection.begin():
                    yield connection
        except SQLAlchemyError as exc:
            raise _map_error(exc, self.describe()) from exc

    def run(self, work: Callable[[Connection], T], *, write: bool) -> T:
        """Run ``work`` in a session, again with backoff while the database is locked."""
        if write:
            self._check_same_file()
        delay = 0.02
        reconnect_until: float | None = None
        attempt = 0
        while True:
            attempt += 1
            try:
                with self.session(write=write) as connection:
                    return work(connection)
            except _DisconnectedError as exc:
                # A server restart or failover: wait for it, then run the unit again. A
                # write whose commit was lost in flight is run again too; finishing a
                # trial twice with the same result is accepted by the study.
                now = time.monotonic()
                reconnect_until = reconnect_until or now + self.reconnect_timeout
                if now >= reconnect_until:
                    # Opening a storage does not wait (a wrong URL fails at once): no "for 0 s".
                    unreachable = (
                        f"stayed unreachable for {self.reconnect_timeout:g} s (reconnect_timeout)"
                        if self.reconnect_timeout > 0 else "is unreachable"
                    )
                    raise StorageError(f"The database at {self.describe()} {unreachable}: {exc}") from exc
                logger.warning("Database connection lost, reconnecting: %s", exc)
                self.engine.dispose()
                time.sleep(min(0.5, reconnect_until - now))
                attempt -= 1
            except _RetryableError as exc:
                if attempt == MAX_ATTEMPTS:
                    raise StorageError(
                        f"The database at {self.describe()} stayed locked after {MAX_ATTEMPTS} "
                        f"attempts: {exc}"
                    ) from exc
                logger.debug("Database busy (attempt %d), retrying: %s", attempt, exc)
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 2.0)

    def _check_same_file(self) -> None:
        """Refuse to write once the SQLite file was deleted or replaced under this storage.

        Open connections keep writing to the deleted file, which is gone when they close:
        every result stored from then on would be lost without a word.
        """
        if self._sqlite_file is None or self._file_identity is None:
            return
        try:
            stat = os.stat(self._sqlite_file)
        except FileNotFoundError:
            stat = None
        if stat is None or (stat.st_dev, stat.st_ino) != self._file_identity:
            raise StorageError(
                f"The SQLite database {self._sqlite_file!r} was deleted or replaced while this "
                "storage had it open; what it wrote from then on would be lost, so nothing "
                "more is written. Open the storage again to use the file now at that path."
            )

    def _remember_file(self) -> None:
        if self._sqlite_file is not None:
            stat = os.stat(self._sqlite_file)
            self._file_identity = (stat.st_dev, stat.st_ino)

    def describe(self) -> str:
        # SQLAlchemy hides the user:password one; a password= query value is masked too.
        return mask_password(self.url.render_as_string(hide_password=True))

    def initialize(self) -> None:
        """Create missing tables and check (or record) the schema version."""

        def work(connection: Connection) -> None:
            if self.backend == "postgresql":
                # CREATE TABLE races between processes fail on PostgreSQL; queue them.
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK_KEY})")
            existing = set(inspect(connection).get_table_names())
            if schema_version.name in existing:
                self.has_meta_models = _create_missing_tables(connection, existing, self.describe())
            else:
                metadata.create_all(connection, checkfirst=True)
            versions = connection.execute(select(schema_version.c.version)).scalars().all()
            if not versions:
                connection.execute(
                    schema_version.insert().values(version=SCHEMA_VERSION, created_at=utcnow())
                )
                return
            stored = max(versions)
            if stored > SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"The database at {self.describe()} has metahpo storage schema version "
                    f"{stored}, newer than version {SCHEMA_VERSION} that this metahpo "
                    "understands. Upgrade metahpo to open it."
                )
            if stored < SCHEMA_VERSION:  # pragma: no cover - no older schema exists yet
                raise SchemaVersionError(
                    f"The database at {self.describe()} has metahpo storage schema version "
                    f"{stored}, older than version {SCHEMA_VERSION}; it needs a migration."
                )

        self.run(work, write=True)
        self._remember_file()

    def dispose(self) -> None:
        # Through `engine`: in a forked child, the parent's connections must not be closed.
        self.engine.dispose()
