"""Reading one evaluations table of a knowledge directory, validated column by column.

The checks run on whole columns (numpy), and only when one fails is the first bad row
looked up, so a large table reads fast and an error still names the file, the row
(1-based) and the field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from metahpo.exceptions import InvalidParameterError
from metahpo.space import Categorical, Int, Param, Space

__all__ = ["read_table"]


def read_table(file_path: Path, space: Space, owned: Iterable[str]) -> dict[str, dict[str, Any]]:
    """``{task: {"configs", "losses", "budgets"}}`` of the table at ``file_path``.

    ``owned`` are the tasks of this space in the manifest; a row naming another task is
    refused. ``budgets`` is ``None`` for a task whose rows all have a null budget.
    """
    frame = _load(file_path)
    expected = ["task", "budget", *space.names, "loss"]
    header = [str(c) for c in frame.columns]
    absent = [c for c in expected if c not in header]
    if absent:
        raise InvalidParameterError(
            f"{file_path}: missing column {absent[0]!r}; expected the columns {expected}. Got {header}."
        )
    names = _task_names(file_path, frame["task"].to_numpy(dtype=object), set(owned))
    loss = _numbers(file_path, frame["loss"], "loss", allow_null=False)
    budget = _numbers(file_path, frame["budget"], "budget", allow_null=True)
    bad = np.flatnonzero(~np.isnan(budget) & (budget <= 0))
    if bad.size:
        raise InvalidParameterError(
            f"{file_path}: row {bad[0] + 1}, field 'budget' must be a number > 0 or null. "
            f"Got {budget[bad[0]]!r} instead."
        )
    values = {key: _column_of(file_path, space, frame[key], key) for key in space.names}
    out: dict[str, dict[str, Any]] = {}
    order: dict[str, list[int]] = {}
    for row, name in enumerate(names):
        order.setdefault(name, []).append(row)
    for name, rows in order.items():
        index = np.asarray(rows)
        task_budgets = budget[index]
        null = np.isnan(task_budgets)
        if null.any() and not null.all():
            first = rows[int(np.flatnonzero(null != null[0])[0])] + 1
            raise InvalidParameterError(
                f"{file_path}: row {first}, field 'budget': task {name!r} mixes rows with and "
                "without a budget; give every row a budget or none."
            )
        out[name] = {
            # A null cell is a conditional parameter the config leaves out (inactive).
            "configs": [
                {key: values[key][i] for key in space.names if values[key][i] is not _ABSENT}
                for i in rows
            ],
            "losses": loss[index],
            "budgets": None if null.all() else task_budgets,
        }
    return out


def _load(file_path: Path) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not file_path.is_file():
        raise InvalidParameterError(f"{file_path}: table named in manifest.json does not exist.")
    try:
        return pq.read_table(file_path).to_pandas()
    except (pa.ArrowException, OSError) as exc:
        raise InvalidParameterError(f"{file_path}: not a readable Parquet table: {exc}") from exc


def _task_names(file_path: Path, column: np.ndarray, owned: set[str]) -> list[str]:
    names = column.tolist()
    for row, name in enumerate(names, start=1):
        if not isinstance(name, str) or not name:
            raise InvalidParameterError(
                f"{file_path}: row {row}, field 'task' must be a task name. Got {name!r} instead."
            )
        if name not in owned:
            raise InvalidParameterError(
                f"{file_path}: row {row}, field 'task': {name!r} is not a task of this space "
                "in manifest.json."
            )
    return names


def _numbers(file_path: Path, column: Any, field: str, allow_null: bool) -> np.ndarray:
    """A float column with NaN for null; a non-number or non-finite value is refused."""
    raw = column.to_numpy(dtype=object)
    numeric = column.dtype.kind in "fiu"
    values = column.to_numpy(dtype=float, na_value=np.nan) if numeric else None
    if values is None:
        values = np.full(len(raw), np.nan)
        for i, value in enumerate(raw):
            number = _as_number(value, is_int=False)
            if number is not None:
                values[i] = number
            elif value is not None:
                raise InvalidParameterError(
                    f"{file_path}: row {i + 1}, field {field!r} must be a finite number. "
                    f"Got {value!r} instead."
                )
    null = np.array([v is None or (isinstance(v, float) and math.isnan(v)) for v in raw])
    if not allow_null and null.any():
        row = int(np.flatnonzero(null)[0])
        raise InvalidParameterError(
            f"{file_path}: row {row + 1}, field {field!r} must be a finite number. Got {raw[row]!r} instead."
        )
    bad = np.flatnonzero(~null & ~np.isfinite(values))
    if bad.size:
        row = int(bad[0])
        raise InvalidParameterError(
            f"{file_path}: row {row + 1}, field {field!r} must be a finite number. Got {raw[row]!r} instead."
        )
    return values


_ABSENT = object()


def _column_of(file_path: Path, space: Any, column: Any, field: str) -> list[Any]:
    """A parameter column; a conditional parameter's null cells become ``_ABSENT``."""
    if field not in space.conditions:
        return _param_column(file_path, space[field], column, field)
    raw = column.to_numpy(dtype=object).tolist()
    null = [v is None or (isinstance(v, float) and math.isnan(v)) for v in raw]
    present = [i for i, is_null in enumerate(null) if not is_null]
    values = (
        _param_column(file_path, space[field], column.iloc[present], field, present) if present else []
    )
    out: list[Any] = [_ABSENT] * len(raw)
    for i, value in zip(present, values, strict=True):
        out[i] = value
    return out


def _param_column(
    file_path: Path, param: Param, column: Any, field: str, rows: list[int] | None = None
) -> list[Any]:
    """The column as metahpo values (Python int, float or the categorical choice itself).

    ``rows`` are the table rows (0-based) of the column's cells when it is a subset (the
    rows where a conditional parameter is active); errors name the row of the file."""
    raw = column.to_numpy(dtype=object).tolist()

    def file_row(i: int) -> int:
        return (i if rows is None else rows[i]) + 1

    if isinstance(param, Categorical):
        decoded: dict[Any, Any] = {}
        out = []
        for row, value in enumerate(raw):
            if value not in decoded:
                decoded[value] = _choice(param, value)
            choice = decoded[value]
            if choice is _INVALID:
                raise InvalidParameterError(
                    f"{file_path}: row {file_row(row)}, field {field!r} must be one of {list(param.choices)!r} "
                    f"(as JSON text). Got {value!r} instead."
                )
            out.append(choice)
        return out
    is_int = isinstance(param, Int)
    kind = "an integer" if is_int else "a number"
    numeric = column.dtype.kind in ("iu" if is_int else "fiu")
    if numeric:
        values = column.to_numpy(dtype=float)
        ok = np.isfinite(values) & (values >= param.low) & (values <= param.high)
        if is_int:
            ok &= values == np.round(values)
        if ok.all():
            return [int(v) for v in raw] if is_int else [float(v) for v in raw]
        row = int(np.flatnonzero(~ok)[0])
        bad = raw[row]
    else:
        row = 0
        bad = raw[0] if raw else None
        for row, value in enumerate(raw):  # noqa: B007 - the row is reported below
            number = _as_number(value, is_int)
            if number is None or not param.contains(number):
                bad = value
                break
        else:
            return [_as_number(v, is_int) for v in raw]
    raise InvalidParameterError(
        f"{file_path}: row {file_row(row)}, field {field!r} must be {kind} in [{param.low!r}, {param.high!r}]. "
        f"Got {bad!r} instead."
    )


def _as_number(value: Any, is_int: bool) -> int | float | None:
    if isinstance(value, str):  # a column written as text by another tool
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        return None
    if is_int:
        if isinstance(value, (float, np.floating)) and not float(value).is_integer():
            return None
        return int(value)
    return float(value)


class _Invalid:
    pass


_INVALID = _Invalid()


def _choice(param: Categorical, value: Any) -> Any:
    if not isinstance(value, str):
        return _INVALID
    try:
        decoded = json.loads(value)
    except json.JSONDecodeError:
        return _INVALID
    if not param.contains(decoded):
        return _INVALID
    return param.choices[param.index(decoded)]
