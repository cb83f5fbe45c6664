"""A PostgreSQL server for tests and benchmarks: the one in the environment or a throw-away one.

``METAHPO_TEST_POSTGRES_URL`` names a running server (CI sets it). Without it,
:func:`temporary_postgres` starts a private server from the Debian binaries
(``/usr/lib/postgresql/<version>/bin``) in a temporary directory on a free port, as the
``postgres`` user when running as root, and removes it afterwards.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator

logger = logging.getLogger("metahpo.testing")

URL_VAR = "METAHPO_TEST_POSTGRES_URL"
REQUIRE_VAR = "METAHPO_REQUIRE_POSTGRES"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server is configured and none could be started; the message says why."""


def _binaries() -> tuple[str, str]:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    initdb = candidates[0] if candidates else shutil.which("initdb")
    pg_ctl = os.path.join(os.path.dirname(initdb), "pg_ctl") if initdb else None
    if not initdb or not pg_ctl or not os.path.exists(pg_ctl):
        raise PostgresUnavailable(
            "no PostgreSQL binaries: /usr/lib/postgresql/*/bin/initdb not found "
            "(install the Debian 'postgresql' package) and no initdb on PATH"
        )
    return initdb, pg_ctl


_START_ATTEMPTS = 3


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser:
        return [runuser, "-u", "postgres", "--", *command]
    return ["su", "postgres", "-s", "/bin/sh", "-c", " ".join(command)]


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise PostgresUnavailable(
            f"{what} failed (exit {result.returncode}): {(result.stderr or result.stdout).strip()[-800:]}"
        )


@dataclasses.dataclass(frozen=True)
class TemporaryPostgres:
    """A private server of :func:`temporary_postgres_server`: its URL, and a restart."""

    url: str
    data: str
    pg_ctl: str

    def restart(self, mode: str = "fast") -> None:
        """``pg_ctl restart -m MODE``: every connection is cut; the server is back after it."""
        # With a log file, or the server would hold pg_ctl's output pipes open.
        log = os.path.join(os.path.dirname(self.data), "server.log")
        _run(_as_server_user([self.pg_ctl, "-D", self.data, "-m", mode, "-l", log, "-w", "-t", "60",
                              "restart"]), "pg_ctl restart")


@contextlib.contextmanager
def temporary_postgres() -> Iterator[str]:
    """Start a private PostgreSQL server; yield its URL (database ``postgres``, trust auth).

    Raises:
        PostgresUnavailable: when the binaries are missing or the server does not start.
    """
    with temporary_postgres_server() as server:
        yield server.url


@contextlib.contextmanager
def temporary_postgres_server() -> Iterator[TemporaryPostgres]:
    """:func:`temporary_postgres` as a :class:`TemporaryPostgres`, which fault tests restart."""
    initdb, pg_ctl = _binaries()
    if os.geteuid() == 0:
        try:
            import pwd

            server_user = pwd.getpwnam("postgres")
        except KeyError as exc:
            raise PostgresUnavailable(
                "running as root, and PostgreSQL refuses to run as root, but there is no "
                "'postgres' user to run it as"
            ) from exc
    # Directly under /tmp so that the server user can reach it (pytest's tmp dirs are 0700).
    folder = tempfile.mkdtemp(prefix="metahpo-pg-")
    data = os.path.join(folder, "data")
    log = os.path.join(folder, "server.log")
    try:
        if os.geteuid() == 0:
            os.chown(folder, server_user.pw_uid, server_user.pw_gid)
        _run(_as_server_user([initdb, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                              "--no-sync"]), "initdb")
        # The free port found may be taken by another process before the server binds it
        # (tests run in parallel): then another is tried. Any other failure is final.
        for attempt in range(_START_ATTEMPTS):
            port = _free_port()
            logged = os.path.getsize(log) if os.path.exists(log) else 0
            # The options are kept in the data directory, so that a restart keeps them.
            options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off " \
                      "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            try:
                _run(_as_server_user([pg_ctl, "-D", data, "-o", options, "-l", log, "-w", "-t", "60",
                                      "start"]), "pg_ctl start")
                break
            except PostgresUnavailable:
                if attempt == _START_ATTEMPTS - 1 or not _port_was_taken(log, logged):
                    raise
                logger.info("PostgreSQL could not bind port %d; trying another", port)
        logger.info("Started a temporary PostgreSQL server on port %d in %s", port, folder)
        yield TemporaryPostgres(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", data, pg_ctl)
    finally:
        # Whenever a server may be running (a start that timed out leaves one), it is stopped
        # before its folder goes.
        if os.path.exists(os.path.join(data, "postmaster.pid")):
            with contextlib.suppress(PostgresUnavailable, subprocess.TimeoutExpired):
                _run(_as_server_user([pg_ctl, "-D", data, "-m", "immediate", "-w", "stop"]),
                     "pg_ctl stop")
        shutil.rmtree(folder, ignore_errors=True)


def _port_was_taken(log: str, offset: int) -> bool:
    """Whether the server log, from ``offset`` on, says the port could not be bound."""
    try:
        with open(log, "rb") as lines:
            lines.seek(offset)
            text = lines.read().decode("utf-8", errors="replace")
    except OSError:
        return False
    return "could not bind" in text or "already in use" in text


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """The server of ``METAHPO_TEST_POSTGRES_URL`` if set, else a :func:`temporary_postgres`."""
    url = os.environ.get(URL_VAR)
    if url:
        yield url
        return
    with temporary_postgres() as temporary_url:
        yield temporary_url


@contextlib.contextmanager
def fresh_schema(server_url: str) -> Iterator[str]:
    """A URL whose connections work in a new, empty schema, dropped afterwards.

    A schema rather than a database: the CI user needs no CREATEDB privilege.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"metahpo_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, poolclass=_null_pool())
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        try:
            with admin.begin() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        finally:
            admin.dispose()


def _null_pool() -> type:
    from sqlalchemy.pool import NullPool

    return NullPool
