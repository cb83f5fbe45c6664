"""The one on-disk knowledge format: ``manifest.json`` plus one Parquet table per search space.

Written by :func:`write_knowledge` (and :meth:`KnowledgeBase.save`), read by
:func:`read_knowledge` (and :meth:`KnowledgeBase.from_files`, the bundled data, and the
benchmark harness's meta-dataset builder, whose final output is this format)::

    DIR/manifest.json
        {"format": "metahpo-knowledge", "version": 2,
         "spaces": [{"space": <Space.to_dict()>, "fingerprint": <Space.fingerprint()>,
                     "table": "evaluations-0.parquet"}, ...],
         "tasks": [{"name": ..., "space": 0 | null, "descriptor": {...} | null,
                    "missing": [...], "kind": "regression"}, ...],   # "kind": optional
         "provenance": {...}}           # free JSON: who wrote the data and how
    DIR/portfolio.json                  # optional: which tasks each space's portfolio is
                                        # chosen on (metahpo.knowledge._portfolio_file)
    DIR/evaluations-0.parquet
        task: string, budget: float64 (null = full budget), one column per parameter
        (float64 for Float, int64 for Int, the JSON text of the value for Categorical),
        loss: float64

One row per evaluation, each task's rows in its own order. Reading validates every row
before returning anything; an error names the file, the row (1-based) and the field.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metahpo._validation import check_string_keys, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge._descriptors import TASK_TYPES
from metahpo.knowledge._files_read import read_table
from metahpo.knowledge._portfolio_file import PORTFOLIO_FILE, portfolio_rule_text
from metahpo.knowledge._task import CheckedConfigs, Task, check_descriptor
from metahpo.space import Categorical, Int, Space

__all__ = [
    "FORMAT",
    "VERSION",
    "KnowledgeFiles",
    "check_knowledge_directory",
    "check_provenance",
    "read_knowledge",
    "write_knowledge",
]

FORMAT = "metahpo-knowledge"
VERSION = 2
MANIFEST = "manifest.json"
_RESERVED = ("task", "budget", "loss")


@dataclass(frozen=True)
class KnowledgeFiles:
    """What a knowledge directory holds: its tasks and the provenance its writer recorded."""

    tasks: tuple[Task, ...]
    provenance: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------
# Write
# --------------------------------------------------------------------------------------


def write_knowledge(
    tasks: Sequence[Task],
    path: str | os.PathLike[str],
    provenance: Mapping[str, Any] | None = None,
    portfolio_rules: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``tasks`` to the directory ``path``.

    An existing directory's manifest, tables and portfolio rule are replaced atomically
    (the directory is swapped for a new one); other files in it, such as a builder's work
    files, are kept.

    Args:
        tasks: the tasks, written in this order.
        path: the directory to write.
        provenance: JSON-able facts about the data (problem, command, seed...), kept in
            the manifest and returned by :func:`read_knowledge`.
        portfolio_rules: per space fingerprint, the portfolio rule record to write as
            ``portfolio.json`` (see :func:`~metahpo.knowledge.write_portfolio_rule`); only
            the spaces of ``tasks`` are kept.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    # Absolute and without "." or "..": the swap below moves the directory as a whole, and
    # its staging folder is made beside it, in its parent.
    target = Path(path).resolve()
    _check_replaceable(target, path)
    extra = check_provenance(provenance, "write_knowledge")
    if portfolio_rules is not None:
        # Refused before anything is written.
        portfolio_rule_text(portfolio_rules, "The 'portfolio_rules' parameter of write_knowledge")
    # One table per space as described, not per fingerprint: the fingerprint leaves out
    # defaults and parameter order, and each task must come back with its own space.
    groups: dict[str, tuple[Space, list[Task]]] = {}
    for task in tasks:
        if task.space is not None:
            groups.setdefault(_description(task.space), (task.space, []))[1].append(task)
    descriptions = list(groups)
    for space, _ in groups.values():
        clash = sorted(set(space.names) & set(_RESERVED))
        if clash:
            raise InvalidParameterError(
                f"Parameters named {clash} cannot be written to a knowledge file: those column names are reserved."
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    kept_files: list[str] = []  # the user's files moved into staging, put back on a failure
    swapped_out: Path | None = None  # where the old directory is while the new one moves in
    try:
        manifest: dict[str, Any] = {"format": FORMAT, "version": VERSION, "spaces": [], "tasks": []}
        for index, description in enumerate(descriptions):
            space, members = groups[description]
            table_name = f"evaluations-{index}.parquet"
            manifest["spaces"].append(
                {"space": space.to_dict(), "fingerprint": space.fingerprint(), "table": table_name}
            )
            columns, schema = _columns(space, members)
            table = pa.Table.from_pydict(columns, schema=pa.schema(schema))
            pq.write_table(table, staging / table_name, compression="zstd")
        for task in tasks:
            manifest["tasks"].append(
                {
                    "name": task.name,
                    "space": None
                    if task.space is None
                    else descriptions.index(_description(task.space)),
                    "descriptor": None if task.descriptor is None else dict(task.descriptor),
                    "missing": list(task.missing),
                    **({} if task.kind is None else {"kind": task.kind}),
                }
            )
        manifest["provenance"] = extra
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        fingerprints = {space.fingerprint() for space, _ in groups.values()}
        kept = {f: r for f, r in dict(portfolio_rules or {}).items() if f in fingerprints}
        if kept:
            (staging / PORTFOLIO_FILE).write_text(portfolio_rule_text(kept), encoding="utf-8")
        if target.is_dir():
            # Keep what is not ours (a builder's resumable work files) across the swap.
            for entry in target.iterdir():
                if not _owned(entry.name):
                    os.replace(entry, staging / entry.name)
                    kept_files.append(entry.name)
        if target.exists():
            swapped_out = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            os.replace(target, swapped_out / "old")
            os.replace(staging, target)
            shutil.rmtree(swapped_out, ignore_errors=True)
        else:
            os.replace(staging, target)
    except BaseException:
        # Nothing of the user's may go with the staging folder: the old directory and the
        # files carried over come back where they were.
        if swapped_out is not None:
            if (swapped_out / "old").exists() and not target.exists():
                os.replace(swapped_out / "old", target)
            if not (swapped_out / "old").exists():
                shutil.rmtree(swapped_out, ignore_errors=True)
        for name in kept_files:
            if (staging / name).exists() or (staging / name).is_symlink():
                os.replace(staging / name, target / name)
        raise
    finally:
        # (Kept only when a user's file could not be put back: better left than lost.)
        if staging.exists() and not any((staging / name).exists() for name in kept_files):
            shutil.rmtree(staging, ignore_errors=True)
    return Path(path)


def _description(space: Space) -> str:
    """``space`` as written, defaults and parameter order included."""
    return json.dumps(space.to_dict())


def _check_replaceable(target: Path, given: str | os.PathLike[str]) -> None:
    """Refuse a path whose replacement would lose what is not knowledge: a file (swapped
    for the directory), the working directory or one holding it (the directory is moved
    as a whole), or another program's ``manifest.json`` (a web app's, say)."""
    if target.exists() and not target.is_dir():
        raise InvalidParameterError(
            f"The 'path' of a knowledge directory must be a directory or a new path. Got "
            f"{str(given)!r}, which is a file; it was left unchanged."
        )
    here = Path.cwd().resolve()
    if here == target or target in here.parents:
        raise InvalidParameterError(
            f"The 'path' of a knowledge directory must not be the working directory or one "
            f"holding it, since the directory is replaced as a whole. Got {str(given)!r} "
            f"({str(target)!r}); it was left unchanged. Give a folder of its own, e.g. "
            "'./knowledge'."
        )
    manifest = target / MANIFEST
    if not manifest.is_file():
        return
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        data = None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InvalidParameterError(
            f"The 'path' of a knowledge directory must be a new directory or a knowledge "
            f"directory. Got {str(target)!r}, whose {MANIFEST} is not a metahpo knowledge "
            "manifest; it was left unchanged. Choose another directory."
        )


def _owned(name: str) -> bool:
    """Whether a file name belongs to the format (replaced on write) rather than to its user."""
    return name in (MANIFEST, PORTFOLIO_FILE) or (
        name.startswith("evaluations-") and name.endswith(".parquet")
    )


_ABSENT = object()


def _columns(space: Space, members: list[Task]) -> tuple[dict[str, list[Any]], list[Any]]:
    import pyarrow as pa

    columns: dict[str, list[Any]] = {"task": [], "budget": []}
    columns.update({name: [] for name in space.names})
    columns["loss"] = []
    for task in members:
        n = task.n_evaluations
        columns["task"] += [task.name] * n
        columns["budget"] += [None] * n if task.budgets is None else [float(b) for b in task.budgets]
        for name in space.names:
            param = space[name]
            # An inactive conditional parameter is absent from the config: a null cell.
            values = [config.get(name, _ABSENT) for config in task.configs]
            if isinstance(param, Categorical):
                columns[name] += [None if v is _ABSENT else json.dumps(v) for v in values]
            elif isinstance(param, Int):
                columns[name] += [None if v is _ABSENT else int(v) for v in values]
            else:
                columns[name] += [None if v is _ABSENT else float(v) for v in values]
        columns["loss"] += [float(v) for v in task.losses]
    schema = [("task", pa.string()), ("budget", pa.float64())]
    for name in space.names:
        param = space[name]
        kind = (
            pa.string()
            if isinstance(param, Categorical)
            else pa.int64()
            if isinstance(param, Int)
            else pa.float64()
        )
        schema.append((name, kind))
    schema.append(("loss", pa.float64()))
    return columns, schema


def check_provenance(provenance: Mapping[str, Any] | None, caller: str) -> dict[str, Any]:
    """``provenance`` as the manifest keeps it; one that is not a JSON-able dict with string
    keys is refused, naming the ``provenance`` parameter of ``caller`` (the function the
    user called: ``"write_knowledge"``, ``"KnowledgeBase.save"``)."""
    if provenance is None:
        return {}
    if isinstance(provenance, Mapping):
        # JSON would store {0: "a"} as {"0": "a"}, which reading back by 0 then misses.
        check_string_keys(dict(provenance), "provenance", caller)
    try:
        if not isinstance(provenance, Mapping):
            raise TypeError
        return dict(json.loads(json.dumps(dict(provenance), allow_nan=False)))
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"The 'provenance' parameter of {caller} must be a JSON-able dict. "
            f"Got {describe(provenance)} instead."
        ) from exc


# --------------------------------------------------------------------------------------
# Read
# --------------------------------------------------------------------------------------


def read_knowledge(path: str | os.PathLike[str], source: str | None = None) -> KnowledgeFiles:
    """The tasks of a knowledge directory, all validated (nothing returned on any error).

    Args:
        path: the directory holding ``manifest.json``.
        source: the ``source`` given to every task; ``"file:<path>"`` by default.
    """
    folder = Path(path)
    manifest_path = folder / MANIFEST
    manifest = _read_manifest(folder, manifest_path)
    origin = source if source is not None else f"file:{folder}"
    spaces = _read_spaces(manifest, manifest_path)
    entries = _read_task_entries(manifest, manifest_path, len(spaces))
    rows_by_task: dict[str, dict[str, Any]] = {}
    for index, (space, table_name) in enumerate(spaces):
        owned = {e["name"] for e in entries if e["space"] == index}
        rows_by_task.update(read_table(folder / table_name, space, owned))
    tasks = []
    for entry in entries:
        task_space = None if entry["space"] is None else spaces[entry["space"]][0]
        columns = rows_by_task.get(entry["name"], {"configs": [], "losses": [], "budgets": None})
        configs = columns["configs"]
        if task_space is not None and not task_space.conditions:
            # read_table checked each column's values; without conditions that is the whole check.
            configs = CheckedConfigs(task_space, configs)
        try:
            tasks.append(
                Task(
                    name=entry["name"],
                    space=task_space,
                    configs=configs,
                    losses=np.asarray(columns["losses"], dtype=float),
                    budgets=columns["budgets"],
                    descriptor=entry["descriptor"],
                    source=origin,
                    missing=tuple(entry["missing"]),
                    kind=entry["kind"],
                )
            )
        except InvalidParameterError as exc:
            raise InvalidParameterError(f"{manifest_path}: {exc}") from exc
    provenance = manifest.get("provenance") or {}
    if not isinstance(provenance, Mapping):
        raise InvalidParameterError(
            f"{manifest_path}: field 'provenance' must be a dict. Got {describe(provenance)} instead."
        )
    return KnowledgeFiles(tuple(tasks), dict(provenance))


def check_knowledge_directory(folder: Path) -> None:
    """Refuse a folder that is no knowledge directory: one without ``manifest.json``."""
    if not (folder / MANIFEST).is_file():
        raise InvalidParameterError(
            f"The 'path' parameter must be a knowledge directory holding {MANIFEST}. "
            f"Got {str(folder)!r}, which has no {MANIFEST}."
        )


def _read_manifest(folder: Path, manifest_path: Path) -> Mapping[str, Any]:
    check_knowledge_directory(folder)
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidParameterError(f"{manifest_path}: not valid JSON: {exc}") from exc
    if not isinstance(manifest, Mapping) or manifest.get("format") != FORMAT:
        raise InvalidParameterError(
            f"{manifest_path}: field 'format' must be {FORMAT!r}. "
            f"Got {describe(manifest.get('format') if isinstance(manifest, Mapping) else manifest)} instead."
        )
    if manifest.get("version") != VERSION:
        raise InvalidParameterError(
            f"{manifest_path}: field 'version' must be {VERSION} (version 1 directories were CSV: "
            f"read them with metahpo 0.1 and save again). Got {describe(manifest.get('version'))} instead."
        )
    return manifest


def _read_spaces(manifest: Mapping[str, Any], where: Path) -> list[tuple[Space, str]]:
    spaces = manifest.get("spaces")
    if not isinstance(spaces, list):
        raise InvalidParameterError(
            f"{where}: field 'spaces' must be a list. Got {describe(spaces)} instead."
        )
    out = []
    for i, entry in enumerate(spaces):
        if (
            not isinstance(entry, Mapping)
            or "space" not in entry
            or not isinstance(entry.get("table"), str)
        ):
            raise InvalidParameterError(
                f"{where}: spaces[{i}] must be a dict with 'space', 'fingerprint' and 'table'. "
                f"Got {describe(entry)} instead."
            )
        table_name = entry["table"]
        if Path(table_name).name != table_name or not table_name.endswith(".parquet"):
            raise InvalidParameterError(
                f"{where}: spaces[{i}].table must be a .parquet file name in the directory. "
                f"Got {table_name!r} instead."
            )
        try:
            space = Space.from_dict(entry["space"])
        except InvalidParameterError as exc:
            raise InvalidParameterError(f"{where}: spaces[{i}].space: {exc}") from exc
        if entry.get("fingerprint") != space.fingerprint():
            raise InvalidParameterError(
                f"{where}: spaces[{i}].fingerprint must be the fingerprint of spaces[{i}].space "
                f"({space.fingerprint()}). Got {describe(entry.get('fingerprint'))} instead."
            )
        clash = sorted(set(space.names) & set(_RESERVED))
        if clash:
            raise InvalidParameterError(
                f"{where}: spaces[{i}] names parameters {clash}, which are reserved columns."
            )
        out.append((space, table_name))
    return out


def _read_task_entries(
    manifest: Mapping[str, Any], where: Path, n_spaces: int
) -> list[dict[str, Any]]:
    tasks = manifest.get("tasks")
    if not isinstance(tasks, list):
        raise InvalidParameterError(
            f"{where}: field 'tasks' must be a list. Got {describe(tasks)} instead."
        )
    out = []
    seen: set[str] = set()
    for i, entry in enumerate(tasks):
        if (
            not isinstance(entry, Mapping)
            or not isinstance(entry.get("name"), str)
            or not entry["name"]
        ):
            raise InvalidParameterError(
                f"{where}: tasks[{i}] must be a dict with a non-empty 'name'. Got {describe(entry)}."
            )
        name = entry["name"]
        if name in seen:
            raise InvalidParameterError(f"{where}: tasks[{i}].name {name!r} appears twice.")
        seen.add(name)
        index = entry.get("space")
        if index is not None and (
            isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n_spaces
        ):
            raise InvalidParameterError(
                f"{where}: tasks[{i}].space must be null or an index into 'spaces' (0 .. {n_spaces - 1}). "
                f"Got {describe(index)} instead."
            )
        try:
            descriptor = check_descriptor(entry.get("descriptor"), f"tasks[{i}] ({name!r})")
        except InvalidParameterError as exc:
            raise InvalidParameterError(f"{where}: {exc}") from exc
        missing = entry.get("missing") or []
        if not isinstance(missing, list) or not all(isinstance(m, str) for m in missing):
            raise InvalidParameterError(
                f"{where}: tasks[{i}].missing must be a list of parameter names."
            )
        kind = entry.get("kind")
        if kind is not None and kind not in TASK_TYPES:
            raise InvalidParameterError(
                f"{where}: tasks[{i}].kind must be one of {list(TASK_TYPES)} or absent. Got {describe(kind)} instead."
            )
        out.append({"name": name, "space": index, "descriptor": descriptor, "missing": missing, "kind": kind})
    return out
