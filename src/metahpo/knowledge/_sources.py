"""Where knowledge lives on disk: knowledge directories and the bundled data."""

from __future__ import annotations

import importlib.resources
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge._task import Task

__all__ = [
    "PORTFOLIO_FILE",
    "bundled_meta_model",
    "bundled_names",
    "read_bundled",
    "read_directory",
    "read_portfolio_rule",
    "write_portfolio_rule",
]

#: The ready-trained meta-model file beside a bundled knowledge directory's manifest.
META_MODEL_FILE = "meta_model.safetensors"
#: The portfolio rule beside a knowledge directory's manifest: how many nearest tasks the
#: portfolio of each space is chosen on (:func:`~metahpo.knowledge.choose_portfolio_neighbours`).
PORTFOLIO_FILE = "portfolio.json"


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


def read_bundled(name: str) -> list[Task]:
    names = bundled_names()
    if not isinstance(name, str) or name not in names:
        raise InvalidParameterError(
            f"The 'name' parameter of bundled_knowledge must be one of {names}. Got {describe(name)} instead."
        )
    resource = _data_root().joinpath(name)
    with importlib.resources.as_file(resource) as folder:
        return read_directory(folder, source=f"bundled:{name}")


def bundled_meta_model(name: str) -> Any:
    """The ready-trained meta-model shipped beside the bundled knowledge ``name``, or ``None``.

    It is ``MetaModel.to_bytes()`` of a model meta-trained on the bundle's full-budget
    evaluations (``SpaceEncoding(space)`` without a budget column), written by
    ``benchmarks/train_preset_models.py``.

    Example:
        >>> from metahpo.knowledge import bundled_meta_model
        >>> model = bundled_meta_model("xgboost-classifier")
        >>> model.n_features  # the seven parameters of the preset's space
        7
    """
    names = bundled_names()
    if not isinstance(name, str) or name not in names:
        raise InvalidParameterError(
            f"The 'name' parameter of bundled_meta_model must be one of {names}. Got {describe(name)} instead."
        )
    resource = _data_root().joinpath(name, META_MODEL_FILE)
    if not resource.is_file():
        return None
    from metahpo.surrogates.meta import MetaModel

    return MetaModel.from_bytes(resource.read_bytes())


def bundled_portfolio_rule(name: str) -> dict[str, int]:
    """The portfolio rule shipped beside the bundled knowledge ``name`` (see :func:`read_portfolio_rule`)."""
    resource = _data_root().joinpath(name, PORTFOLIO_FILE)
    if not resource.is_file():
        return {}
    return _parse_portfolio_rule(resource.read_text(encoding="utf-8"), f"bundled:{name}/{PORTFOLIO_FILE}")


def read_portfolio_rule(folder: str | os.PathLike[str]) -> dict[str, int]:
    """``{space fingerprint: k}`` from a knowledge directory's :data:`PORTFOLIO_FILE`:
    the portfolio for that space is chosen on the ``k`` nearest tasks (empty without the
    file: the nearest task's cluster)."""
    path = Path(folder) / PORTFOLIO_FILE
    if not path.is_file():
        return {}
    return _parse_portfolio_rule(path.read_text(encoding="utf-8"), str(path))


def write_portfolio_rule(folder: str | os.PathLike[str], rules: Mapping[str, Any]) -> Path:
    """Write :data:`PORTFOLIO_FILE` into a knowledge directory.

    Args:
        folder: the knowledge directory (it must hold a manifest).
        rules: per space fingerprint, a JSON-able record with ``"k_nearest"`` (an int, or
            ``None`` for the nearest task's cluster) and the evidence it was chosen on.
    """
    path = Path(folder) / PORTFOLIO_FILE
    text = json.dumps({"spaces": dict(rules)}, indent=1, allow_nan=False)
    _parse_portfolio_rule(text, str(path))
    path.write_text(text + "\n", encoding="utf-8")
    return path


def _parse_portfolio_rule(text: str, where: str) -> dict[str, int]:
    try:
        spaces = json.loads(text)["spaces"]
        if not isinstance(spaces, Mapping):
            raise TypeError
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidParameterError(
            f"{where} must be a JSON object with a 'spaces' object. Got {text[:80]!r} instead."
        ) from exc
    rules = {}
    for fingerprint, record in spaces.items():
        k = record.get("k_nearest") if isinstance(record, Mapping) else record
        if k is None:
            continue
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise InvalidParameterError(
                f"{where}: field 'k_nearest' of space {fingerprint!r} must be an int >= 1 or null. "
                f"Got {describe(k)} instead."
            )
        rules[str(fingerprint)] = k
    return rules


def read_directory(path: str | os.PathLike[str], source: str | None = None) -> list[Task]:
    from metahpo.knowledge._files import read_knowledge

    if not isinstance(path, (str, os.PathLike)):
        raise InvalidParameterError(
            f"The 'path' parameter must be a directory path. Got {describe(path)} instead."
        )
    return list(read_knowledge(path, source=source).tasks)
