"""Turn what users pass as ``storage=`` into a storage object."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.storage._base import Storage
from metahpo.storage._checks import mask_password
from metahpo.storage._memory import InMemoryStorage

ENV_VAR = "METAHPO_STORAGE"
CLI_DEFAULT_URL = "sqlite:///metahpo.db"
SQL_SCHEMES = ("sqlite", "postgresql")


def get_storage(storage: Any) -> Storage:
    """A storage from ``None``, a URL or a storage object.

    ``None`` means the URL in ``METAHPO_STORAGE`` if set, else in-memory storage.
    URLs: ``sqlite:///path.db`` or ``postgresql+psycopg://user:pass@host/db``.
    """
    if storage is None:
        storage = os.environ.get(ENV_VAR) or None
        if storage is None:
            return InMemoryStorage()
    if isinstance(storage, Storage):
        return storage
    if isinstance(storage, str):
        scheme = storage.split(":", 1)[0].split("+", 1)[0]
        if scheme in SQL_SCHEMES and "://" in storage:
            from metahpo.storage._sql import SQLStorage

            return SQLStorage(storage)
    shown = describe(mask_password(storage) if isinstance(storage, str) else storage)
    missing = _missing_members(storage)
    if missing:
        raise InvalidParameterError(
            f"The 'storage' parameter must be a Storage object. Got {shown} instead, which lacks "
            f"{', '.join(missing)} of the metahpo.storage.Storage protocol "
            "(metahpo.testing.storage checks a storage class against it)."
        )
    raise InvalidParameterError(
        "The 'storage' parameter must be None, a Storage object or a URL starting with "
        f"'sqlite:///' or 'postgresql+psycopg://'. Got {shown} instead."
    )


def _missing_members(storage: Any) -> list[str]:
    """The members of the Storage protocol that an object meant as a storage lacks (a
    storage class of one's own written before operations were added to the protocol); none
    for an object without ``create_study`` and ``get_study``, which was not meant as one."""
    if not all(callable(getattr(storage, name, None)) for name in ("create_study", "get_study")):
        return []
    methods = sorted(name for name, member in vars(Storage).items()
                     if not name.startswith("_") and callable(member))
    missing = [name for name in methods if not callable(getattr(storage, name, None))]
    return missing + [name for name in Storage.__annotations__ if not hasattr(storage, name)]


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (any driver: ``sqlite+pysqlite:///`` names the same file as
    ``sqlite:///``), a URI URL (``sqlite:///file:/path/x.db?uri=true``) included, or
    ``None`` for other URLs and in-memory SQLite."""
    database = sqlite_file(url)
    if database is None:
        database = _sqlite_uri_file(url)
    return None if database is None else Path(database)


def _sqlite_uri_file(url: str) -> str | None:
    """The file a SQLite URI URL names, read as SQLite reads a URI filename
    (https://www.sqlite.org/uri.html), or ``None`` for in-memory and malformed ones."""
    database = _sqlite_database(url)
    if not database or not database.startswith("file:"):
        return None
    from urllib.parse import unquote

    from sqlalchemy.engine import make_url
    from sqlalchemy.util import asbool

    query = make_url(url).query
    try:
        # Only with uri=true does SQLAlchemy hand the name to SQLite as a URI.
        if not asbool(query.get("uri", False)):
            return None
    except ValueError:
        return None
    if query.get("mode") == "memory" or query.get("vfs") == "memdb":
        return None
    path = database.removeprefix("file:").split("#", 1)[0]
    if path.startswith("//"):  # file://localhost/abs/x.db or file:///abs/x.db
        authority, slash, rest = path[2:].partition("/")
        if authority not in ("", "localhost") or not slash:
            return None
        path = "/" + rest
    # SQLAlchemy decoded the URL once; SQLite decodes %HH in the URI name once more.
    path = unquote(path)
    return None if path in ("", ":memory:") else path


def _sqlite_database(url: Any) -> str | None:
    """The database part of a SQLite URL (any driver; ``""`` when it has none), or ``None``
    for other URLs and text that is not a URL."""
    if not isinstance(url, str) or not url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).database or ""
    except ArgumentError:
        return None


def sqlite_file(url: Any) -> str | None:
    """The file a SQLite URL (any driver) names, or ``None`` for other URLs, in-memory
    databases and ``file:`` URIs."""
    database = _sqlite_database(url)
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def is_memory_sqlite(url: Any) -> bool:
    """Whether ``url`` is an in-memory SQLite database (``sqlite://``, ``sqlite:///:memory:``)."""
    return _sqlite_database(url) in ("", ":memory:")


def missing_sqlite_file(url: Any) -> str | None:
    """The file a SQLite URL names when it does not exist, else ``None``."""
    database = sqlite_file(url)
    return database if database is not None and not Path(database).exists() else None


def missing_sqlite_folder(url: Any) -> str | None:
    """The folder of the file a SQLite URL names when that folder does not exist, else ``None``
    (SQLite creates a missing file, not a missing folder)."""
    database = sqlite_file(url)
    if database is None:
        return None
    folder = Path(database).parent
    return None if folder.is_dir() else str(folder)


def absolute_sqlite_url(url: str) -> str:
    """``url`` with a relative SQLite file made absolute against the current folder, so
    that the URL names the same database whichever folder reads it later (a study stores
    its knowledge's URLs); other URLs are returned unchanged."""
    database = sqlite_file(url)
    if database is None or Path(database).is_absolute():
        return url
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=str(Path(database).resolve())).render_as_string(hide_password=False)
