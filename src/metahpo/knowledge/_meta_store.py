"""Versioned meta-parameters on disk: one folder per knowledge key, one safetensors file per version.

Meta-training is cached here so that it runs once per knowledge base and search space,
and each continual update after a study adds a version (older ones stay, so an update
can be inspected or rolled back). Files are safetensors with JSON metadata: no pickle.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from metahpo.knowledge._meta_training import MetaModel

__all__ = ["MetaModelStore", "default_store_root", "knowledge_key"]

ENV_VAR = "METAHPO_HOME"
_VERSION = re.compile(r"^v(\d+)\.safetensors$")


def default_store_root() -> Path:
    """``$METAHPO_HOME/meta`` or ``~/.cache/metahpo/meta``."""
    home = os.environ.get(ENV_VAR)
    base = Path(home) if home else Path.home() / ".cache" / "metahpo"
    return base / "meta"


def knowledge_key(*parts: Any) -> str:
    """A short stable key from JSON-able parts (knowledge content, space, encoding, config)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


class MetaModelStore:
    """Meta-models by key and version; writes are atomic (temporary file, then rename)."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root is not None else default_store_root()

    def versions(self, key: str) -> list[int]:
        folder = self.root / key
        if not folder.is_dir():
            return []
        found = (_VERSION.match(p.name) for p in folder.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def latest(self, key: str) -> MetaModel | None:
        versions = self.versions(key)
        return self.load(key, versions[-1]) if versions else None

    def load(self, key: str, version: int) -> MetaModel:
        return MetaModel.from_bytes((self.root / key / f"v{version}.safetensors").read_bytes())

    def save(self, key: str, model: MetaModel) -> int:
        """Store ``model`` as the next version of ``key``; returns the version number."""
        folder = self.root / key
        folder.mkdir(parents=True, exist_ok=True)
        version = (self.versions(key) or [0])[-1] + 1
        data = model.to_bytes()
        handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        target = folder / f"v{version}.safetensors"
        if target.exists():  # Another process took this number first: take the next.
            version = self.versions(key)[-1] + 1
            target = folder / f"v{version}.safetensors"
        os.replace(temporary, target)
        return version
