"""Where knowledge lives on disk: knowledge directories and the bundled data."""

from __future__ import annotations

import copy
import functools
import importlib.resources
import json
import os
from pathlib import Path
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge._identity import SQL_PREFIXES, check_spec
from metahpo.knowledge._portfolio_file import PORTFOLIO_FILE, parse_portfolio_rule
from metahpo.knowledge._task import Task
from metahpo.storage import sqlite_path

__all__ = [
    "bundled_meta_model",
    "bundled_names",
    "bundled_portfolio_rule",
    "bundled_space_counts",
    "check_bundled_name",
    "check_sources",
    "read_bundled",
    "read_directory",
]

#: The ready-trained meta-model file beside a bundled knowledge directory's manifest.
META_MODEL_FILE = "meta_model.safetensors"
# The model meta-trained with the preset's budget column, for studies under a scheduler.
META_MODEL_BUDGETS_FILE = "meta_model_budgets.safetensors"


def _data_root() -> Any:
    """The bundled data folder (a ``Traversable``: it may live inside a wheel or zip)."""
    return importlib.resources.files("metahpo.knowledge").joinpath("data")


def bundled_names() -> list[str]:
    """Names of the knowledge directories shipped in ``metahpo/knowledge/data/``."""
    root = _data_root()
    if not root.is_dir():
        return []
    return sorted(
        entry.name
        for entry in root.iterdir()
        if entry.is_dir() and entry.joinpath("manifest.json").is_file()
    )


def check_bundled_name(name: Any) -> None:
    """Refuse a name that is not one of :func:`bundled_names`."""
    names = bundled_names()
    if not isinstance(name, str) or name not in names:
        raise InvalidParameterError(
            f"The 'name' parameter of bundled_knowledge must be one of {names}. Got {describe(name)} instead."
        )


def check_sources(spec: Any, creating: str | None = None) -> list[str] | None:
    """The items of a knowledge spec, each checked to name a source that exists, none opened:
    a bundle of :func:`bundled_names`, a SQLite file that exists, or a knowledge directory
    (one holding ``manifest.json``). A PostgreSQL URL is taken as it is: only connecting
    tells whether its database exists.

    Args:
        spec: ``"bundled:NAME"``, a storage URL, a directory, or a list of these.
        creating: the URL of the storage about to be opened to write a study: its SQLite
            file may be named before it exists, as opening that storage creates it.
    """
    from metahpo.knowledge._files import check_knowledge_directory
    from metahpo.knowledge._storage import check_storage_source

    items = check_spec(spec)
    for item in items or []:
        if item.startswith("bundled:"):
            check_bundled_name(item[len("bundled:") :])
        elif item.startswith(SQL_PREFIXES):
            if creating is None or not _same_sqlite_file(item, creating):
                check_storage_source(item)
        elif item.startswith("file:") or Path(item).is_dir():
            check_knowledge_directory(Path(item.removeprefix("file:")))
        else:
            raise InvalidParameterError(
                "A knowledge spec must be 'bundled:NAME', a storage URL ('sqlite:///...', "
                f"'postgresql+psycopg://...') or an existing directory. Got {item!r} instead."
            )
    return items


def _same_sqlite_file(url: str, other: str) -> bool:
    path, other_path = sqlite_path(url), sqlite_path(other)
    return path is not None and other_path is not None and path.resolve() == other_path.resolve()


def read_bundled(name: str) -> list[Task]:
    check_bundled_name(name)
    resource = _data_root().joinpath(name)
    with importlib.resources.as_file(resource) as folder:
        return read_directory(folder, source=f"bundled:{name}")


@functools.cache
def _manifest(name: str) -> dict[str, Any]:
    """The manifest of the bundled knowledge ``name``: package data, read once per process
    (the study's "auto" choice and its ready-trained models each look at it)."""
    return json.loads(_data_root().joinpath(name, "manifest.json").read_text(encoding="utf-8"))


def bundled_space_counts(name: str) -> dict[str, int]:
    """How many tasks of each space (by fingerprint) the bundled knowledge ``name`` holds.

    Read from its manifest alone, without the evaluations: deciding whether a bundle is
    about a study's space must not cost reading every bundle.
    """
    names = bundled_names()
    if not isinstance(name, str) or name not in names:
        raise InvalidParameterError(
            f"The 'name' parameter of bundled_space_counts must be one of {names}. Got {describe(name)} instead."
        )
    manifest = _manifest(name)
    fingerprints = [entry["fingerprint"] for entry in manifest["spaces"]]
    counts: dict[str, int] = {}
    for task in manifest["tasks"]:
        if task.get("space") is not None:
            key = fingerprints[task["space"]]
            counts[key] = counts.get(key, 0) + 1
    return counts


def bundled_meta_model(name: str, budgets: bool = False) -> Any:
    """A ready-trained meta-model shipped beside the bundled knowledge ``name``, or ``None``.

    Without ``budgets`` it is ``MetaModel.to_bytes()`` of a model meta-trained on the
    bundle's full-budget evaluations (``SpaceEncoding(space)`` without a budget column);
    with ``budgets``, the one meta-trained on all of them with the budget column of the
    bundle's budget range (``info["budget_range"]``: its lowest and highest budget), for
    studies under a scheduler over that range. Both are written by ``benchmarks/train_preset_models.py``.

    Example:
        >>> from metahpo.knowledge import bundled_meta_model
        >>> model = bundled_meta_model("xgboost-classifier")
        >>> model.n_features  # the seven parameters of the preset's space
        7
        >>> bundled_meta_model("xgboost-classifier", budgets=True).info["budget_range"]
        [3, 81]
    """
    names = bundled_names()
    if not isinstance(name, str) or name not in names:
        raise InvalidParameterError(
            f"The 'name' parameter of bundled_meta_model must be one of {names}. Got {describe(name)} instead."
        )
    resource = _data_root().joinpath(name, META_MODEL_BUDGETS_FILE if budgets else META_MODEL_FILE)
    if not resource.is_file():
        return None
    from metahpo.surrogates.meta import MetaModel

    model = MetaModel.from_bytes(resource.read_bytes())
    manifest = _manifest(name)
    if len(manifest["spaces"]) == 1:
        # The space it reads: a study of another space (wider bounds, another parameter in
        # the same column) must not start from it, whatever the width of its inputs.
        model.info["space"] = copy.deepcopy(manifest["spaces"][0]["space"])  # the cached manifest stays as read
    return model


def bundled_portfolio_rule(name: str) -> dict[str, int | None]:
    """The portfolio rule shipped beside the bundled knowledge ``name``
    (:func:`~metahpo.knowledge.read_portfolio_rule`'s form)."""
    resource = _data_root().joinpath(name, PORTFOLIO_FILE)
    if not resource.is_file():
        return {}
    return parse_portfolio_rule(resource.read_text(encoding="utf-8"), f"bundled:{name}/{PORTFOLIO_FILE}")


def read_directory(path: str | os.PathLike[str], source: str | None = None) -> list[Task]:
    from metahpo.knowledge._files import read_knowledge

    if not isinstance(path, (str, os.PathLike)):
        raise InvalidParameterError(
            f"The 'path' parameter must be a directory path. Got {describe(path)} instead."
        )
    return list(read_knowledge(path, source=source).tasks)
