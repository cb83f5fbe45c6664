"""Knowledge-base directories: ``manifest.json`` plus one evaluations table per search space.

Layout written by :func:`write_knowledge` and read by :func:`read_knowledge`::

    DIR/manifest.json
        {"format": "metahpo-knowledge", "version": 1,
         "spaces": [{"space": <Space.to_dict()>, "file": "evaluations-0.csv"}, ...],
         "tasks": [{"name": ..., "space": 0, "source": ..., "descriptor": {...} | null,
                    "missing": [...]}, ...]}
    DIR/evaluations-0.csv      (or .parquet)
        task,budget,<one column per parameter>,loss

One row per evaluation. ``budget`` is empty (CSV) or null (Parquet) for a full-budget
evaluation. Categorical values are written as JSON (``"relu"`` is ``"\\"relu\\""`` in the
CSV), and a bare string that is one of the choices is accepted too. Reading validates
every row before returning anything; an error names the file, the row (1-based, header
excluded) and the field.
"""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge._task import Task, check_descriptor
from metahpo.space import Categorical, Float, Int, Param, Space

__all__ = ["FORMAT", "read_knowledge", "write_knowledge"]

FORMAT = "metahpo-knowledge"
VERSION = 1
_RESERVED = ("task", "budget", "loss")


def write_knowledge(tasks: Sequence[Task], path: str | os.PathLike[str]) -> Path:
    """Write ``tasks`` to the directory ``path`` (replaced atomically if it exists)."""
    target = Path(path)
    groups: dict[str, tuple[Space, list[Task]]] = {}
    for task in tasks:
        if task.space is not None:
            groups.setdefault(task.space.fingerprint(), (task.space, []))[1].append(task)
    fingerprints = list(groups)
    for space, _ in groups.values():
        clash = sorted(set(space.names) & set(_RESERVED))
        if clash:
            raise InvalidParameterError(
                f"Parameters named {clash} cannot be written to a knowledge file: those column names are reserved."
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        manifest: dict[str, Any] = {"format": FORMAT, "version": VERSION, "spaces": [], "tasks": []}
        for index, fingerprint in enumerate(fingerprints):
            space, members = groups[fingerprint]
            file_name = f"evaluations-{index}.csv"
            manifest["spaces"].append({"space": space.to_dict(), "file": file_name})
            with open(staging / file_name, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(["task", "budget", *space.names, "loss"])
                for task in members:
                    for row, config in enumerate(task.configs):
                        budget = "" if task.budgets is None else repr(float(task.budgets[row]))
                        cells = [_format_cell(space[name], config[name]) for name in space.names]
                        writer.writerow([task.name, budget, *cells, repr(float(task.losses[row]))])
        for task in tasks:
            manifest["tasks"].append(
                {
                    "name": task.name,
                    "space": None
                    if task.space is None
                    else fingerprints.index(task.space.fingerprint()),
                    "source": task.source,
                    "descriptor": None if task.descriptor is None else dict(task.descriptor),
                    "missing": list(task.missing),
                }
            )
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        if target.exists():
            backup = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            os.replace(target, backup / "old")
            os.replace(staging, target)
            shutil.rmtree(backup, ignore_errors=True)
        else:
            os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def read_knowledge(path: str | os.PathLike[str], source: str | None = None) -> list[Task]:
    """The tasks of a knowledge directory, all validated (nothing returned on any error).

    Args:
        path: the directory holding ``manifest.json``.
        source: the ``source`` given to every task; ``"file:<path>"`` by default.
    """
    folder = Path(path)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise InvalidParameterError(
            f"The 'path' parameter must be a knowledge directory holding manifest.json. "
            f"Got {str(folder)!r}, which has no manifest.json."
        )
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
            f"{manifest_path}: field 'version' must be {VERSION} (written by a newer metahpo?). "
            f"Got {describe(manifest.get('version'))} instead."
        )
    origin = source if source is not None else f"file:{folder}"
    spaces = _read_spaces(manifest, manifest_path)
    entries = _read_task_entries(manifest, manifest_path, len(spaces))
    rows_by_task: dict[str, dict[str, list[Any]]] = {}
    for index, (space, file_path) in enumerate(spaces):
        owned = {e["name"] for e in entries if e["space"] == index}
        for name, columns in _read_table(folder / file_path, space).items():
            if name not in owned:
                raise InvalidParameterError(
                    f"{folder / file_path}: row {columns['rows'][0]}, field 'task': {name!r} is not a task "
                    f"of this space in manifest.json."
                )
            rows_by_task[name] = columns
    tasks = []
    for entry in entries:
        task_space = None if entry["space"] is None else spaces[entry["space"]][0]
        columns = rows_by_task.get(entry["name"], {"configs": [], "losses": [], "budgets": []})
        budgets = columns["budgets"]
        if any(b is not None for b in budgets):
            if any(b is None for b in budgets):
                raise InvalidParameterError(
                    f"{manifest_path}: task {entry['name']!r} mixes rows with and without a budget; "
                    "give every row a budget or none."
                )
            budget_array: np.ndarray | None = np.asarray(budgets, dtype=float)
        else:
            budget_array = None
        try:
            tasks.append(
                Task(
                    name=entry["name"],
                    space=task_space,
                    configs=columns["configs"],
                    losses=np.asarray(columns["losses"], dtype=float),
                    budgets=budget_array,
                    descriptor=entry["descriptor"],
                    source=origin,
                    missing=tuple(entry["missing"]),
                )
            )
        except InvalidParameterError as exc:
            raise InvalidParameterError(f"{manifest_path}: {exc}") from exc
    return tasks


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
            or not isinstance(entry.get("file"), str)
        ):
            raise InvalidParameterError(
                f"{where}: spaces[{i}] must be a dict with 'space' and 'file'. Got {describe(entry)} instead."
            )
        file_name = entry["file"]
        if Path(file_name).name != file_name or not file_name.endswith((".csv", ".parquet")):
            raise InvalidParameterError(
                f"{where}: spaces[{i}].file must be a .csv or .parquet file name in the directory. "
                f"Got {file_name!r} instead."
            )
        try:
            space = Space.from_dict(entry["space"])
        except InvalidParameterError as exc:
            raise InvalidParameterError(f"{where}: spaces[{i}].space: {exc}") from exc
        clash = sorted(set(space.names) & set(_RESERVED))
        if clash:
            raise InvalidParameterError(
                f"{where}: spaces[{i}] names parameters {clash}, which are reserved columns."
            )
        out.append((space, file_name))
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
        out.append({"name": name, "space": index, "descriptor": descriptor, "missing": missing})
    return out


def _read_table(file_path: Path, space: Space) -> dict[str, dict[str, list[Any]]]:
    expected = ["task", "budget", *space.names, "loss"]
    header, records = _load_rows(file_path)
    absent = [c for c in expected if c not in header]
    if absent:
        raise InvalidParameterError(
            f"{file_path}: missing column {absent[0]!r}; expected the columns {expected}. Got {header}."
        )
    out: dict[str, dict[str, list[Any]]] = {}
    for row, record in enumerate(records, start=1):
        name = record["task"]
        if not isinstance(name, str) or not name:
            raise InvalidParameterError(
                f"{file_path}: row {row}, field 'task' must be a task name. Got {describe(name)}."
            )
        config = {
            key: _parse_cell(space[key], record[key], file_path, row, key) for key in space.names
        }
        loss = _parse_number(record["loss"], file_path, row, "loss", allow_empty=False)
        budget = _parse_number(record["budget"], file_path, row, "budget", allow_empty=True)
        if budget is not None and budget <= 0:
            raise InvalidParameterError(
                f"{file_path}: row {row}, field 'budget' must be a number > 0 or empty. Got {budget!r} instead."
            )
        columns = out.setdefault(name, {"configs": [], "losses": [], "budgets": [], "rows": []})
        columns["configs"].append(config)
        columns["losses"].append(loss)
        columns["budgets"].append(budget)
        columns["rows"].append(row)
    return out


def _load_rows(file_path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    if not file_path.is_file():
        raise InvalidParameterError(f"{file_path}: file named in manifest.json does not exist.")
    if file_path.suffix == ".parquet":
        import pandas as pd

        frame = pd.read_parquet(file_path)
        header = [str(c) for c in frame.columns]
        records = [
            {k: _none_if_nan(v) for k, v in zip(header, values, strict=True)}
            for values in frame.itertuples(index=False, name=None)
        ]
        return header, records
    with open(file_path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        records = []
        for row, values in enumerate(reader, start=1):
            if len(values) != len(header):
                raise InvalidParameterError(
                    f"{file_path}: row {row} has {len(values)} fields; the header has {len(header)}."
                )
            records.append(dict(zip(header, values, strict=True)))
    return header, records


def _none_if_nan(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _parse_number(
    value: Any, file_path: Path, row: int, field: str, allow_empty: bool
) -> float | None:
    if value is None or value == "":
        if allow_empty:
            return None
        raise InvalidParameterError(
            f"{file_path}: row {row}, field {field!r} must be a finite number. Got an empty cell."
        )
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise InvalidParameterError(
                f"{file_path}: row {row}, field {field!r} must be a finite number. Got {value!r} instead."
            ) from None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    else:
        raise InvalidParameterError(
            f"{file_path}: row {row}, field {field!r} must be a finite number. Got {describe(value)} instead."
        )
    if not math.isfinite(number):
        raise InvalidParameterError(
            f"{file_path}: row {row}, field {field!r} must be a finite number. Got {value!r} instead."
        )
    return number


def _parse_cell(param: Param, value: Any, file_path: Path, row: int, field: str) -> Any:
    parsed: Any = value
    if isinstance(param, Categorical):
        if isinstance(value, str):
            try:
                decoded = json.loads(value)
            except json.JSONDecodeError:
                decoded = value
            parsed = decoded if param.contains(decoded) else value
        if param.contains(parsed):
            return param.choices[param.index(parsed)]
        raise InvalidParameterError(
            f"{file_path}: row {row}, field {field!r} must be one of {list(param.choices)!r}. Got {value!r} instead."
        )
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        parsed = (
            int(number)
            if isinstance(param, Int) and math.isfinite(number) and number.is_integer()
            else number
        )
    elif isinstance(param, Int) and isinstance(value, float) and value.is_integer():
        parsed = int(value)
    if param.contains(parsed):
        return float(parsed) if isinstance(param, Float) else int(parsed)
    kind = "an integer" if isinstance(param, Int) else "a number"
    raise InvalidParameterError(
        f"{file_path}: row {row}, field {field!r} must be {kind} in [{param.low!r}, {param.high!r}]. "
        f"Got {value!r} instead."
    )


def _format_cell(param: Param, value: Any) -> str:
    if isinstance(param, Categorical):
        return json.dumps(value)
    return repr(int(value)) if isinstance(param, Int) else repr(float(value))
