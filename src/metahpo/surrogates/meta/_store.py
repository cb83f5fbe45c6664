"""Versioned meta-parameters: on disk, or in a storage that a team shares.

Meta-training is kept here so that it runs once per knowledge base and search space, and
each continual update after a study adds a version (older ones stay, so an update can be
inspected or rolled back). Models are safetensors with JSON metadata: no pickle.

:class:`MetaModelStore` keeps one folder per key and one file per version;
:class:`ArtefactMetaModelStore` keeps them in a storage's
:class:`~metahpo.storage.ArtefactStore` (SQLite or PostgreSQL), beside the studies.
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
import json
import numbers
import os
import re
import tempfile
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from metahpo._home import metahpo_home
from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.storage import ArtefactStore
from metahpo.surrogates.meta._model import MetaModel

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self from Python 3.11

__all__ = ["ArtefactMetaModelStore", "MetaModelStore", "default_store_root", "model_key"]

_VERSION = re.compile(r"^v(\d+)\.safetensors$")


def default_store_root() -> Path:
    """``$METAHPO_HOME/meta`` or ``~/.cache/metahpo/meta``."""
    return metahpo_home() / "meta"


def model_key(*parts: Any) -> str:
    """A short stable key from JSON-able parts (knowledge content, space, encoding, config)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


class _ClosingContext(abc.ABC):
    """``with store:`` closes the store on exit (both stores share the interface)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @abc.abstractmethod
    def close(self) -> None:
        """Release what the store holds."""


class MetaModelStore(_ClosingContext):
    """Meta-models by key and version in a folder; each version appears whole or not at all.

    A save writes a temporary file and then hard-links it to the first free version
    name; the link fails instead of replacing a file, so threads and processes saving
    one key at once get distinct versions and none overwrites another's. (On a file
    system without hard links the save falls back to a rename, which two writers racing
    for one number can still clobber.)

    Keys are folder names (``knowledge_key`` gives hexadecimal ones): a key with a path
    separator, ``.`` or ``..`` is refused.
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else default_store_root()

    def __repr__(self) -> str:
        return f"MetaModelStore({str(self.root)!r})"

    def close(self) -> None:
        """Nothing to release (files are closed after each call); here so both stores match."""

    def versions(self, key: str) -> list[int]:
        folder = self.root / _check_folder_key(key)
        if not folder.is_dir():
            return []
        found = (_VERSION.match(p.name) for p in folder.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def latest(self, key: str) -> MetaModel | None:
        versions = self.versions(key)
        return self.load(key, versions[-1]) if versions else None

    def load(self, key: str, version: int) -> MetaModel:
        """Version ``version`` of ``key``; ``KeyError`` when it was never saved."""
        version = _check_version(version, "MetaModelStore.load")
        path = self.root / _check_folder_key(key) / f"v{version}.safetensors"
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise KeyError(f"No meta-model {key!r} version {version!r} in {self.root}.") from exc
        return MetaModel.from_bytes(data)

    def save(self, key: str, model: MetaModel) -> int:
        """Store ``model`` as the next version of ``key``; returns the version number."""
        folder = self.root / _check_folder_key(key)
        folder.mkdir(parents=True, exist_ok=True)
        data = model.to_bytes()
        handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            version = (self.versions(key) or [0])[-1] + 1
            while True:
                target = folder / f"v{version}.safetensors"
                try:
                    # Unlike a rename, a link never replaces a version another writer
                    # saved between the listing and now: it fails, and we take the next.
                    os.link(temporary, target)
                except FileExistsError:
                    version += 1
                    continue
                except OSError:  # No hard links here (some network or FAT file systems).
                    if target.exists():
                        version += 1
                        continue
                    os.replace(temporary, target)
                return version
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)


class ArtefactMetaModelStore(_ClosingContext):
    """Meta-models by key and version in an :class:`~metahpo.storage.ArtefactStore`.

    The same interface as :class:`MetaModelStore`. Versions are numbered by the artefact
    store: 1, 2, 3, ... per key, unique and gap-free even when several processes (or
    machines, on PostgreSQL) save at once. Each version keeps the model's safetensors bytes
    and, beside them, a JSON ``info`` (``n_features``, ``config``, ``sha256``, ``bytes`` and
    the model's own ``info``) that :meth:`info` reads without loading the model.

    Example:
        >>> import metahpo as mh
        >>> from metahpo.surrogates.meta import ArtefactMetaModelStore
        >>> store = ArtefactMetaModelStore(mh.InMemoryStorage().artefacts)
        >>> store.versions("surrogate"), store.latest("surrogate")
        ([], None)
    """

    def __init__(self, artefacts: ArtefactStore) -> None:
        if not isinstance(artefacts, ArtefactStore):
            raise InvalidParameterError(
                "The 'artefacts' parameter of ArtefactMetaModelStore must be an ArtefactStore "
                f"(a storage's 'artefacts' attribute). Got {describe(artefacts)} instead."
            )
        self.artefacts = artefacts

    def __repr__(self) -> str:
        return f"ArtefactMetaModelStore({self.artefacts!r})"

    def close(self) -> None:
        """Nothing to release: the storage that owns the artefacts closes them."""

    def versions(self, key: str) -> list[int]:
        return self.artefacts.versions(key)

    def latest(self, key: str) -> MetaModel | None:
        record = self.artefacts.load(key)
        return None if record is None else MetaModel.from_bytes(record.data)

    def load(self, key: str, version: int) -> MetaModel:
        """Version ``version`` of ``key``; ``KeyError`` when it was never saved."""
        # Checked here: the artefact store would read None as "the latest".
        version = _check_version(version, "ArtefactMetaModelStore.load")
        record = self.artefacts.load(key, version)
        if record is None:
            raise KeyError(f"No meta-model {key!r} version {version!r} in {self.artefacts!r}.")
        return MetaModel.from_bytes(record.data)

    def info(self, key: str, version: int | None = None) -> dict[str, Any] | None:
        """The JSON description saved with a version (the latest when ``None``), or ``None``."""
        record = self.artefacts.load(key, version)
        return None if record is None else dict(record.info)

    def save(self, key: str, model: MetaModel) -> int:
        """Store ``model`` as the next version of ``key``; returns the version number."""
        if not isinstance(model, MetaModel):
            raise InvalidParameterError(
                "The 'model' parameter of ArtefactMetaModelStore.save must be a MetaModel. "
                f"Got {describe(model)} instead."
            )
        data = model.to_bytes()
        return self.artefacts.save(key, data, _describe_model(model, data))


def _describe_model(model: MetaModel, data: bytes) -> dict[str, Any]:
    """The JSON kept beside a model's bytes: readable without torch or safetensors."""
    description: dict[str, Any] = {
        "n_features": model.n_features,
        "config": model.config.to_dict(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
    }
    try:  # The model's own info, when it is strict JSON (no NaN); it also travels in the bytes.
        description["model"] = json.loads(json.dumps(model.info, allow_nan=False))
    except (TypeError, ValueError):
        description["model"] = None
    return description


def _check_version(version: Any, method: str) -> int:
    """A version to load: an int >= 1 (``latest()`` reads the newest)."""
    if isinstance(version, numbers.Integral) and not isinstance(version, bool):
        version = int(version)
        if version >= 1:
            return version
    raise InvalidParameterError(
        f"The 'version' parameter of {method} must be an int >= 1; use latest() for the "
        f"newest version. Got {describe(version)} instead."
    )


def _check_folder_key(key: Any) -> str:
    if (
        not isinstance(key, str)
        or not key.strip()
        or key in (".", "..")
        or any(sep in key for sep in ("/", "\\", "\x00"))
    ):
        raise InvalidParameterError(
            "The 'key' parameter of MetaModelStore must be a non-empty folder name: no path "
            f"separator, NUL, '.' or '..'. Got {describe(key)} instead."
        )
    return key
