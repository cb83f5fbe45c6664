"""Artefacts in SQL: the ``metahpo_meta_models`` table beside :class:`SQLStorage`'s studies.

A new version is the key's largest version plus one, read and inserted in one write
transaction. SQLite runs one writer at a time (``BEGIN IMMEDIATE``), so that is enough
there; on PostgreSQL the writers of one key first queue on a transaction-scoped advisory
lock, so each reads the version its predecessor committed. The unique ``(key, version)``
constraint backs both: a writer that still lost a race is retried by
:meth:`~metahpo.storage._sql_engine.Database.run`, and a rolled-back save leaves no gap.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, func, insert, inspect, select, text

from metahpo.exceptions import StorageError
from metahpo.storage._artefacts import ArtefactRecord
from metahpo.storage._base import utcnow
from metahpo.storage._checks import (
    check_meta_data,
    check_meta_info,
    check_meta_key,
    check_meta_version,
)
from metahpo.storage._sql_engine import Database
from metahpo.storage._sql_schema import meta_models

__all__ = ["SQLArtefactStore"]

# The first of the two keys of pg_advisory_xact_lock(int, int) ("mhpM"); the second is a
# hash of the meta-model key. The two-key form never collides with the one-key schema lock.
_META_LOCK_SPACE = 0x6D68704D
_INT32 = 2**31 - 1


def save_meta_model(db: Database, key: str, data: bytes, info: Mapping[str, Any] | None) -> int:
    check_meta_key(key, "ArtefactStore.save")
    data = check_meta_data(data)
    info_json = check_meta_info(info)
    created_at = utcnow()

    def work(connection: Connection) -> int:
        if not _has_table(db, connection):
            raise StorageError(
                f"The database at {db.describe()} has no {meta_models.name} table and this "
                "connection may not create it, so the meta-model cannot be saved. Open the "
                "database once with write access and CREATE rights on its schema, or store "
                "meta-models elsewhere."
            )
        if db.backend == "postgresql":
            connection.execute(
                text("SELECT pg_advisory_xact_lock(:space, :key)"),
                {"space": _META_LOCK_SPACE, "key": _int32_hash(key)},
            )
        latest = connection.execute(
            select(func.max(meta_models.c.version)).where(meta_models.c.key == key)
        ).scalar_one_or_none()
        version = (latest or 0) + 1
        connection.execute(
            insert(meta_models).values(
                key=key, version=version, data=data, info=info_json, created_at=created_at
            )
        )
        return version

    return db.run(work, write=True)


def load_meta_model(db: Database, key: str, version: int | None) -> ArtefactRecord | None:
    check_meta_key(key, "ArtefactStore.load")
    version = check_meta_version(version)
    if version is not None and version > _INT32:  # No version is that large.
        return None

    def work(connection: Connection) -> ArtefactRecord | None:
        if not _has_table(db, connection):
            return None
        query = select(meta_models).where(meta_models.c.key == key)
        if version is None:
            query = query.order_by(meta_models.c.version.desc()).limit(1)
        else:
            query = query.where(meta_models.c.version == version)
        row = connection.execute(query).first()
        if row is None:
            return None
        return ArtefactRecord(row.key, row.version, bytes(row.data), row.info, row.created_at)

    return db.run(work, write=False)


def meta_model_versions(db: Database, key: str) -> list[int]:
    check_meta_key(key, "ArtefactStore.versions")

    def work(connection: Connection) -> list[int]:
        if not _has_table(db, connection):
            return []
        query = (
            select(meta_models.c.version)
            .where(meta_models.c.key == key)
            .order_by(meta_models.c.version)
        )
        return [int(v) for v in connection.execute(query).scalars()]

    return db.run(work, write=False)


class SQLArtefactStore:
    """The :class:`~metahpo.storage.ArtefactStore` of a :class:`~metahpo.storage.SQLStorage`:
    its ``artefacts`` attribute, sharing the storage's engine and error mapping."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __repr__(self) -> str:
        return f"SQLArtefactStore({self._db.describe()!r})"

    def save(self, key: str, data: bytes, info: Mapping[str, Any] | None = None) -> int:
        return save_meta_model(self._db, key, data, info)

    def load(self, key: str, version: int | None = None) -> ArtefactRecord | None:
        return load_meta_model(self._db, key, version)

    def versions(self, key: str) -> list[int]:
        return meta_model_versions(self._db, key)


def _has_table(db: Database, connection: Connection) -> bool:
    """Whether the meta-model table exists, looked up again while it did not at opening.

    A connection that could not create it when it opened the database (see
    :meth:`Database.initialize`) finds it once another connection has.
    """
    if not db.has_meta_models:
        db.has_meta_models = inspect(connection).has_table(meta_models.name)
    return db.has_meta_models


def _int32_hash(key: str) -> int:
    """A signed 32-bit hash of ``key``, the same in every process (unlike ``hash``)."""
    value = zlib.crc32(key.encode("utf-8"))
    return value - 2**32 if value > _INT32 else value
