"""Open a storage only to read it: nothing may be created or changed."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from metahpo.exceptions import StorageError
from metahpo.storage._base import Storage
from metahpo.storage._checks import mask_password
from metahpo.storage._url import get_storage, sqlite_file

__all__ = ["check_existing_sqlite", "check_not_foreign_sqlite", "existing_storage", "stored_names"]

# Study names an error about a missing study lists, at most.
_NAMES_SHOWN = 5


def existing_storage(storage: Any) -> Storage:
    """:func:`get_storage` for readers (plots, the dashboard, listings): a SQLite URL must name
    an existing metahpo database. Opening a storage creates its tables, which would turn a
    mistyped path into an empty database or write metahpo's tables into another program's
    SQLite file."""
    if isinstance(storage, str):
        check_existing_sqlite(storage)
    return get_storage(storage)


def check_existing_sqlite(url: str) -> None:
    """Refuse a SQLite URL whose file does not exist or holds no metahpo tables, reading the
    file without writing to it; other URLs pass."""
    database = sqlite_file(url)
    if database is None:
        return
    shown = mask_password(url)
    path = Path(database)
    if not path.exists():
        raise StorageError(
            f"There is no database at {shown} (the file {database!r} does not exist); "
            "nothing was created. Check the path, or run a study first."
        )
    tables = _table_names(path)
    if "metahpo_studies" not in tables:
        raise StorageError(
            f"{shown} is not a metahpo database (it has no metahpo_studies table); it was left "
            f"unchanged.{_optuna_hint(tables)}"
        )


def check_not_foreign_sqlite(url: str) -> None:
    """Refuse a SQLite URL whose file holds another program's tables and none of metahpo's,
    reading the file without writing to it: a command that stores studies would add its
    tables to that program's database. A missing or empty file, a metahpo database and
    other URLs pass."""
    database = sqlite_file(url)
    if database is None or not Path(database).exists():
        return
    tables = _table_names(Path(database))
    if tables and "metahpo_studies" not in tables:
        raise StorageError(
            f"{mask_password(url)} is another program's SQLite database (it has "
            f"{len(tables)} tables and no metahpo_studies table); metahpo writes only to its "
            f"own database or a new file, and left this one unchanged.{_optuna_hint(tables)} "
            "Give another path, e.g. sqlite:///metahpo.db."
        )


# Tables every Optuna RDB storage has.
_OPTUNA_TABLES = frozenset({"studies", "trials", "version_info"})


def _optuna_hint(tables: set[str]) -> str:
    # Pointing metahpo at optuna.db is the natural first try: say what reads it.
    if tables >= _OPTUNA_TABLES:
        return " It is an Optuna storage: `metahpo kb import-optuna URL` imports its studies."
    return ""


def _table_names(path: Path) -> set[str]:
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    except sqlite3.DatabaseError as exc:
        # A WAL database whose folder is read-only cannot be opened by SQLite at all.
        hint = (" If it is on a read-only filesystem, open it with "
                f"sqlite:///file:{path}?immutable=1&uri=true."
                if "unable to open" in str(exc) else "")
        raise StorageError(f"{str(path)!r} is not a readable SQLite database: {exc}.{hint}") from exc
    return {name for (name,) in rows}


def stored_names(storage: Storage) -> str:
    """A sentence naming the studies ``storage`` holds (at most a handful), for an error
    about a study it does not hold; empty when they cannot be read (the error at hand is
    the one to report, not a second one from listing)."""
    try:
        names = [record.name for record in storage.list_studies()]
    except Exception:  # a failed listing must not replace the not-found error
        return ""
    if not names:
        return "The storage holds no study."
    shown = ", ".join(map(repr, names[:_NAMES_SHOWN]))
    more = len(names) - _NAMES_SHOWN
    return f"The storage holds {shown}{f' and {more} more' if more > 0 else ''}."
