"""Artefacts: versioned blobs kept beside the studies (meta-models), under their own protocol.

The :class:`~metahpo.storage.Storage` protocol is about studies and trials. What a
storage also keeps for meta-learning — the meta-trained parameters of a surrogate — goes
through the smaller :class:`ArtefactStore` protocol, which a storage offers as its
``artefacts`` attribute (:func:`artefacts_of`), so that everyone sharing a storage shares
its meta-models too.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Protocol, runtime_checkable

from metahpo.storage._checks import (
    check_meta_data,
    check_meta_info,
    check_meta_key,
    check_meta_version,
)

__all__ = ["ArtefactRecord", "ArtefactStore", "InMemoryArtefactStore", "artefacts_of"]


@dataclass(frozen=True)
class ArtefactRecord:
    """One stored version of an artefact.

    ``data`` is the serialised artefact exactly as saved (safetensors for metahpo's own
    meta-models; the store never interprets it), ``info`` a JSON description kept beside
    it so that it can be read without parsing ``data``.
    """

    key: str
    version: int
    data: bytes = field(repr=False)
    info: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None


@runtime_checkable
class ArtefactStore(Protocol):
    """Versioned artefacts by key.

    ``save`` stores serialised bytes (never pickle) as the next version of the key: 1, 2,
    3, ... unique and gap-free across threads and, on SQL storages, across processes, like
    trial numbers. Versions never change once saved. ``load`` returns ``None`` for a key or
    version that was never saved. Every method is atomic and safe to call from several
    threads; errors are :class:`~metahpo.exceptions.StorageError` or, for bad arguments,
    :class:`~metahpo.exceptions.InvalidParameterError`.
    """

    def save(self, key: str, data: bytes, info: Mapping[str, Any] | None = None) -> int:
        """Store ``data`` as the next version of ``key``; returns that version (1, 2, ...)."""
        ...

    def load(self, key: str, version: int | None = None) -> ArtefactRecord | None:
        """Version ``version`` of ``key`` (the latest when ``None``), or ``None`` if absent."""
        ...

    def versions(self, key: str) -> list[int]:
        """The stored versions of ``key``, ascending (empty for an unknown key)."""
        ...


class InMemoryArtefactStore:
    """Artefacts in a dict, for :class:`~metahpo.storage.InMemoryStorage` and tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, list[ArtefactRecord]] = {}

    def save(self, key: str, data: bytes, info: Mapping[str, Any] | None = None) -> int:
        check_meta_key(key, "save")
        data = check_meta_data(data)
        info_json = check_meta_info(info)
        with self._lock:
            versions = self._records.setdefault(key, [])
            now = datetime.now(timezone.utc)
            versions.append(ArtefactRecord(key, len(versions) + 1, data, info_json, now))
            return len(versions)

    def load(self, key: str, version: int | None = None) -> ArtefactRecord | None:
        check_meta_key(key, "load")
        version = check_meta_version(version)
        with self._lock:
            versions = self._records.get(key, [])
            if not versions or (version is not None and version > len(versions)):
                return None
            record = versions[-1] if version is None else versions[version - 1]
        return replace(record, info=check_meta_info(record.info))

    def versions(self, key: str) -> list[int]:
        check_meta_key(key, "versions")
        with self._lock:
            return list(range(1, len(self._records.get(key, [])) + 1))


def artefacts_of(storage: Any) -> ArtefactStore | None:
    """The artefact store a storage offers (its ``artefacts`` attribute), or ``None``."""
    store = getattr(storage, "artefacts", None)
    return store if isinstance(store, ArtefactStore) else None
