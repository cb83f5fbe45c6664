"""What identifies a knowledge base across processes: its spec, without credentials."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError

__all__ = ["SQL_PREFIXES", "check_spec", "spec_identity", "spec_with_credentials", "spec_without_passwords"]

# Any driver of the two databases the storage speaks ("sqlite+pysqlite:", "postgresql+psycopg:").
SQL_PREFIXES = ("sqlite:", "sqlite+", "postgresql:", "postgresql+")
# libpq also takes credentials from the query (postgresql://alice@host/db?password=...);
# these keys hold secrets as the URL's own password does (mask_password hides the same ones).
_SECRET_QUERY_KEYS = ("password", "sslpassword")


def check_spec(spec: Any) -> list[str] | None:
    """A knowledge spec as a list of strings (``None`` stays ``None``)."""
    if spec is None:
        return None
    if isinstance(spec, str):
        return [spec]
    if isinstance(spec, Sequence) and all(isinstance(s, str) for s in spec):
        return list(spec)
    raise InvalidParameterError(
        f"A knowledge spec must be a string, a list of strings or None. Got {describe(spec)} instead."
    )


def spec_identity(spec: str | Sequence[str] | None) -> Any:
    """``spec`` as it identifies knowledge: storage URLs without user, password or driver.

    Teammates reach one database with their own roles (and perhaps another driver); the
    knowledge, and so the meta-model key, is the same for all of them. Host, port,
    database and query (e.g. a schema in ``options``) still tell databases apart; a user
    or password given in the query (``?user=``, ``?password=``, ``?sslpassword=``) does not.
    """
    from sqlalchemy.engine import URL, make_url

    def identity(item: str) -> str:
        if not item.startswith(SQL_PREFIXES):
            return item
        url = make_url(item)
        query = _query_without(url.query, ("user", *_SECRET_QUERY_KEYS))
        bare = URL.create(
            url.get_backend_name(), host=url.host, port=url.port, database=url.database, query=query
        )
        return bare.render_as_string(hide_password=False)

    if spec is None or isinstance(spec, str):
        return None if spec is None else identity(spec)
    return [identity(item) for item in spec]


def spec_without_passwords(spec: str | Sequence[str] | None) -> Any:
    """``spec`` with the password of every storage URL left out (the user name stays), the
    ``password=`` and ``sslpassword=`` query values included.

    This is the spec that is stored with a study and shown: a password is never written
    anywhere. Reopening it finds the password again (:func:`spec_with_credentials`).
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    def bare(item: str) -> str:
        if not item.startswith(SQL_PREFIXES):
            return item
        try:
            url = make_url(item)
        except ArgumentError:  # not a URL, so no password: opening it says what is wrong
            return item
        query = _query_without(url.query, _SECRET_QUERY_KEYS)
        if url.password is None and len(query) == len(url.query):
            return item  # as given: nothing to leave out
        # URL.set() keeps the password when given None; a new URL without one drops it.
        return _url_with(url, None, query)

    if spec is None or isinstance(spec, str):
        return None if spec is None else bare(spec)
    return [bare(item) for item in spec]


def spec_with_credentials(spec: Any, known_urls: Sequence[str]) -> Any:
    """``spec`` with the password of each storage URL that has none taken from the first of
    ``known_urls`` on the same server with the same user (the study's own storage URL). A
    URL naming the same database as a known URL (:func:`spec_identity`) is that URL, with
    its user: whoever opens the study reads its own database's knowledge as themselves.

    The password comes back where the known URL holds it: after the user name, or as
    ``password=`` and ``sslpassword=`` query values (:func:`spec_without_passwords` leaves
    out both). A URL that still has no password connects as PostgreSQL clients do: with
    ``PGPASSWORD`` or the ``~/.pgpass`` file (libpq's rules, which psycopg follows).

    A PostgreSQL URL without a port is compared as the port libpq connects it to
    (``PGPORT`` when set, else 5432): ``db/x`` and ``db:5432/x`` are one database.
    """
    from sqlalchemy.engine import make_url

    def user(url: Any) -> Any:
        return url.username if url.username is not None else url.query.get("user")

    def server(url: Any) -> tuple[Any, ...]:
        # The query too: libpq also takes the host to connect to from it (host=,
        # hostaddr=, service=), and a password must not follow a stored URL elsewhere.
        target = sorted((k, str(v)) for k, v in _query_without(url.query, ("user", *_SECRET_QUERY_KEYS)).items())
        return (url.get_backend_name(), url.host, _port(url), user(url), tuple(target))

    def secrets(url: Any) -> dict[str, Any]:
        return {key: value for key, value in url.query.items() if key.lower() in _SECRET_QUERY_KEYS}

    known = []
    for item in known_urls:
        if isinstance(item, str) and item.startswith(SQL_PREFIXES):
            url = make_url(item)
            if url.password is not None or secrets(url):
                known.append(url)

    def complete(item: Any) -> Any:
        if not isinstance(item, str) or not item.startswith(SQL_PREFIXES):
            return item
        url = make_url(item)
        if url.password is not None or secrets(url):
            return item
        # The knowledge of the study's own database is read as the study is opened: a
        # teammate with a role of their own reads it with theirs, not the creator's.
        same = next((k for k in known_urls if isinstance(k, str) and k.startswith(SQL_PREFIXES)
                     and _database(make_url(k)) == _database(url)), None)
        if same is not None:
            return same
        if user(url) is None:
            return item
        match = next((k for k in known if server(k) == server(url)), None)
        if match is None:
            return item
        return _url_with(url, match.password, {**url.query, **secrets(match)})

    if spec is None or isinstance(spec, str):
        return complete(spec)
    return [complete(item) for item in spec]


def _port(url: Any) -> Any:
    """The port ``url`` connects to: a PostgreSQL URL without one goes where libpq sends
    it, to ``PGPORT`` when set, else 5432 (so ``db/x`` and ``db:5432/x`` are one server)."""
    if url.port is not None or url.get_backend_name() != "postgresql":
        return url.port
    default = os.environ.get("PGPORT") or "5432"
    # A PGPORT that is not one number (a list, for several hosts) is compared as written.
    return int(default) if default.isascii() and default.isdigit() else default


def _database(url: Any) -> tuple[Any, ...]:
    """What names the database ``url`` reaches: :func:`spec_identity`'s parts, with the port
    a URL leaves out filled in (:func:`_port`)."""
    query = sorted((k, str(v)) for k, v in _query_without(url.query, ("user", *_SECRET_QUERY_KEYS)).items())
    return (url.get_backend_name(), url.host, _port(url), url.database, tuple(query))


def _query_without(query: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    # libpq's keywords are lower case; any case is left out, as mask_password hides any case.
    return {key: value for key, value in query.items() if key.lower() not in keys}


def _url_with(url: Any, password: Any, query: Mapping[str, Any]) -> str:
    from sqlalchemy.engine import URL

    new = URL.create(url.drivername, username=url.username, password=password, host=url.host,
                     port=url.port, database=url.database, query=query)
    return new.render_as_string(hide_password=False)
