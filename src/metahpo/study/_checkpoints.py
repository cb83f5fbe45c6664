"""Where a study's trials keep their checkpoints: one folder per trial, found by number.

The path is derived from the storage, the study record and the trial number alone, so
every thread, process or Dask worker that opens the study finds the same folders — a
promotion finds its parent's. metahpo creates the folders and never deletes them.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from pathlib import Path

from metahpo._home import metahpo_home
from metahpo.storage import Storage, StudyRecord, sqlite_path

# Characters kept from a study name in its folder name; the others become "_".
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_NAME_CHARS = 48


def checkpoint_root(storage: Storage) -> Path:
    """The folder of every study's checkpoints in ``storage``.

    Beside a SQLite file (``runs/metahpo.db`` -> ``runs/metahpo-checkpoints``), so that
    the checkpoints live and move with the database, whether its URL names it as a path or
    as a URI (``sqlite:///file:runs/metahpo.db?uri=true``); for other storages (in memory,
    PostgreSQL), ``$METAHPO_HOME/checkpoints`` (default ``~/.cache/metahpo/checkpoints``).
    """
    url = getattr(storage, "url", None)
    database = sqlite_path(url) if isinstance(url, str) else None
    if database is not None:
        return database.absolute().with_name(f"{database.stem}-checkpoints")
    return (metahpo_home() / "checkpoints").absolute()


def study_checkpoint_dir(storage: Storage, record: StudyRecord) -> Path:
    """``<root>/<name>-<key>``: the study's folder; its trials' are ``<number>`` in it.

    ``key`` hashes the name with the creation time, so a study deleted and created again
    under the same name (or an in-memory study of a fixed name run twice) never finds the
    previous one's checkpoints.
    """
    created = (
        ""
        if record.created_at is None
        else _utc(record.created_at).isoformat(timespec="microseconds")
    )
    key = hashlib.sha256(f"{record.name}\x00{created}".encode()).hexdigest()[:8]
    readable = _UNSAFE.sub("_", record.name)[:_NAME_CHARS].strip("._") or "study"
    return checkpoint_root(storage) / f"{readable}-{key}"


def _utc(moment: datetime) -> datetime:
    # Storages hand back aware UTC times; a naive one is taken to be UTC already.
    return (
        moment.replace(tzinfo=timezone.utc)
        if moment.tzinfo is None
        else moment.astimezone(timezone.utc)
    )
