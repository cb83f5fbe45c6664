"""Reading a meta-dataset back: :func:`load_metadata`, which validates every file it reads."""

from __future__ import annotations

import csv
import gzip
import io
import json
import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from metahpo._validation import describe
from metahpo_bench._metadata_format import (
    FORMAT_VERSION,
    LOSS_COLUMNS,
    MANIFEST,
    MetadataFormatError,
    MetaDataset,
)
from metahpo.exceptions import InvalidParameterError
from metahpo.space import Categorical, Space

# --------------------------------------------------------------------------------------
# Read
# --------------------------------------------------------------------------------------


def load_metadata(directory: str | os.PathLike[str]) -> MetaDataset:
    """Read and validate the meta-dataset written by :func:`build_metadata` in ``directory``.

    Raises:
        MetadataFormatError: a file is missing or malformed; the message names the file,
            and for a bad value the row (1 = first data row) and the field.
    """
    import pandas as pd

    base = Path(directory)
    manifest = _read_manifest(base / MANIFEST)
    space = manifest["_space"]
    configs = _read_configs(base / manifest["files"]["configs"], space, manifest["n_configs"])
    losses_path = base / manifest["files"]["losses"]
    if not losses_path.exists():
        raise MetadataFormatError(f"{losses_path}: the losses file is missing.")
    try:
        text = gzip.decompress(losses_path.read_bytes()).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise MetadataFormatError(
            f"{losses_path}: not a gzip-compressed UTF-8 CSV file ({exc})."
        ) from exc
    rows = list(_read_loss_rows(losses_path, text))
    budgets = [float(b) for b in manifest["budgets"]]
    _check_grid(losses_path.name, rows, manifest["tasks"], manifest["n_configs"], budgets)
    frame = pd.DataFrame(rows, columns=list(LOSS_COLUMNS))
    public = {k: v for k, v in manifest.items() if k != "_space"}
    return MetaDataset(
        problem=manifest["problem"],
        space=space,
        tasks=tuple(manifest["tasks"]),
        budgets=tuple(budgets),
        configs=tuple(configs),
        losses=frame,
        manifest=public,
    )


_MANIFEST_FIELDS: dict[str, type | tuple[type, ...]] = {
    "format_version": int,
    "problem": str,
    "space": dict,
    "space_fingerprint": str,
    "n_configs": int,
    "budgets": list,
    "tasks": list,
    "loss": str,
    "seed": int,
    "metahpo_version": str,
    "command": str,
    "files": dict,
    "descriptors": dict,
}


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise MetadataFormatError(f"{path}: the manifest is missing.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MetadataFormatError(f"{path}: not valid JSON ({exc}).") from exc
    if not isinstance(manifest, dict):
        raise MetadataFormatError(
            f"{path}: must hold a JSON object. Got {describe(manifest)} instead."
        )
    for name, kind in _MANIFEST_FIELDS.items():
        if name not in manifest:
            raise MetadataFormatError(f"{path}: field {name!r} is missing.")
        value = manifest[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise MetadataFormatError(
                f"{path}: field {name!r} must be a {getattr(kind, '__name__', kind)}. Got {describe(value)} instead."
            )
    if manifest["format_version"] != FORMAT_VERSION:
        raise MetadataFormatError(
            f"{path}: field 'format_version' must be {FORMAT_VERSION}. Got {manifest['format_version']!r} instead."
        )
    try:
        space = Space.from_dict(manifest["space"])
    except InvalidParameterError as exc:
        raise MetadataFormatError(f"{path}: field 'space' is not a valid space ({exc}).") from exc
    if space.fingerprint() != manifest["space_fingerprint"]:
        raise MetadataFormatError(
            f"{path}: field 'space_fingerprint' does not match field 'space'."
        )
    if manifest["n_configs"] < 1:
        raise MetadataFormatError(
            f"{path}: field 'n_configs' must be >= 1. Got {manifest['n_configs']!r} instead."
        )
    budgets = manifest["budgets"]
    if not budgets or not all(_is_number(b) for b in budgets) or sorted(set(budgets)) != budgets:
        raise MetadataFormatError(
            f"{path}: field 'budgets' must be a non-empty ascending list of distinct numbers. Got {describe(budgets)} instead."
        )
    tasks = manifest["tasks"]
    if (
        not tasks
        or not all(isinstance(t, str) and t for t in tasks)
        or len(set(tasks)) != len(tasks)
    ):
        raise MetadataFormatError(
            f"{path}: field 'tasks' must be a non-empty list of distinct task names. Got {describe(tasks)} instead."
        )
    for key in ("configs", "losses"):
        name = manifest["files"].get(key)
        if (
            not isinstance(name, str)
            or not name
            or "/" in name
            or "\\" in name
            or name.startswith(".")
        ):
            raise MetadataFormatError(
                f"{path}: field 'files.{key}' must be a file name in the same directory. Got {describe(name)} instead."
            )
    manifest["_space"] = space
    return manifest


def _read_configs(path: Path, space: Space, n_configs: int) -> list[dict[str, Any]]:
    if not path.exists():
        raise MetadataFormatError(f"{path}: the configs file is missing.")
    reader = csv.reader(io.StringIO(path.read_text(encoding="utf-8")))
    header = next(reader, None)
    expected = ["config_id", *space.names]
    if header != expected:
        raise MetadataFormatError(f"{path}: the header must be {expected}. Got {header!r} instead.")
    configs: list[dict[str, Any]] = []
    for row_number, row in enumerate(reader, start=1):
        if len(row) != len(expected):
            raise MetadataFormatError(
                f"{path}: row {row_number} must have {len(expected)} fields. Got {len(row)} instead."
            )
        if row[0] != str(row_number - 1):
            raise MetadataFormatError(
                f"{path}: row {row_number}, field 'config_id' must be {row_number - 1}. Got {row[0]!r} instead."
            )
        config: dict[str, Any] = {}
        for name, text in zip(space.names, row[1:], strict=True):
            param = space[name]
            value = _parse_param(param, text)
            if value is None or not param.contains(value):
                raise MetadataFormatError(
                    f"{path}: row {row_number}, field {name!r} must be a value of {param}. Got {text!r} instead."
                )
            config[name] = value
        configs.append(config)
    if len(configs) != n_configs:
        raise MetadataFormatError(
            f"{path}: must hold {n_configs} configs (manifest 'n_configs'). Got {len(configs)} instead."
        )
    return configs


def _parse_param(param: Any, text: str) -> Any:
    if isinstance(param, Categorical):
        for choice in param.choices:
            if str(choice) == text:
                return choice
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    if param.contains(value):
        return value
    if value.is_integer() and param.contains(int(value)):
        return int(value)
    return None


def _read_loss_rows(path: Path, text: str) -> Iterator[tuple[str, int, float, float]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header != list(LOSS_COLUMNS):
        raise MetadataFormatError(
            f"{path}: the header must be {list(LOSS_COLUMNS)}. Got {header!r} instead."
        )
    for row_number, row in enumerate(reader, start=1):
        if len(row) != len(LOSS_COLUMNS):
            raise MetadataFormatError(
                f"{path}: row {row_number} must have {len(LOSS_COLUMNS)} fields. Got {len(row)} instead."
            )
        task, config_text, budget_text, loss_text = row
        try:
            config_id = int(config_text)
        except ValueError:
            config_id = -1
        if config_id < 0:
            raise MetadataFormatError(
                f"{path}: row {row_number}, field 'config_id' must be an int >= 0. Got {config_text!r} instead."
            )
        budget = _parse_float(budget_text)
        if budget is None:
            raise MetadataFormatError(
                f"{path}: row {row_number}, field 'budget' must be a finite number. Got {budget_text!r} instead."
            )
        loss = _parse_float(loss_text)
        if loss is None:
            raise MetadataFormatError(
                f"{path}: row {row_number}, field 'loss' must be a finite number. Got {loss_text!r} instead."
            )
        yield task, config_id, budget, loss


def _check_grid(
    name: str | Path,
    rows: list[tuple[str, int, float, float]],
    tasks: Sequence[str],
    n_configs: int,
    budgets: Sequence[float],
) -> None:
    """Every (task, config, budget) exactly once, nothing else."""
    known_tasks = set(tasks)
    known_budgets = set(budgets)
    seen: set[tuple[str, int, float]] = set()
    for row_number, (task, config_id, budget, _) in enumerate(rows, start=1):
        if task not in known_tasks:
            raise MetadataFormatError(
                f"{name}: row {row_number}, field 'task' must be one of the manifest's tasks. Got {task!r} instead."
            )
        if config_id >= n_configs:
            raise MetadataFormatError(
                f"{name}: row {row_number}, field 'config_id' must be < {n_configs}. Got {config_id} instead."
            )
        if budget not in known_budgets:
            raise MetadataFormatError(
                f"{name}: row {row_number}, field 'budget' must be one of {list(budgets)}. Got {budget!r} instead."
            )
        key = (task, config_id, budget)
        if key in seen:
            raise MetadataFormatError(
                f"{name}: row {row_number} repeats task {task!r}, config_id {config_id}, budget {budget!r}."
            )
        seen.add(key)
    expected = len(tasks) * n_configs * len(budgets)
    if len(seen) != expected:
        raise MetadataFormatError(
            f"{name}: must hold {expected} rows ({len(tasks)} tasks x {n_configs} configs x "
            f"{len(budgets)} budgets). Got {len(seen)} instead."
        )


def _parse_float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
