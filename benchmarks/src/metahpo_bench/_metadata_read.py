"""Reading a meta-dataset back (:func:`load_metadata`) and checking the builder's part files."""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo_bench._metadata_format import (
    LOSS_COLUMNS,
    MANIFEST,
    MetadataFormatError,
    MetaDataset,
)


def load_metadata(directory: str | os.PathLike[str]) -> MetaDataset:
    """Read a meta-dataset written by :func:`build_metadata` in ``directory``.

    The directory is a metahpo knowledge directory (read and validated by
    :func:`metahpo.knowledge.read_knowledge`, whose errors name the file, row and field);
    this adds the checks of a meta-dataset: one space, and every task evaluating the same
    design at every budget exactly once.

    Raises:
        MetadataFormatError: a file is missing or malformed, or the tasks are not a full grid.
    """
    import pandas as pd

    from metahpo.knowledge import read_knowledge

    base = Path(directory)
    try:
        files = read_knowledge(base)
    except InvalidParameterError as exc:
        raise MetadataFormatError(str(exc)) from exc
    where = base / MANIFEST
    problem = files.provenance.get("problem")
    if not isinstance(problem, str) or not problem:
        raise MetadataFormatError(
            f"{where}: field 'provenance.problem' must name the problem. Got {describe(problem)} instead."
        )
    tasks = [task for task in files.tasks if task.has_evaluations]
    if not tasks:
        raise MetadataFormatError(f"{where}: holds no task with evaluations.")
    space = tasks[0].space
    if space is None or any(task.space != space for task in tasks):
        raise MetadataFormatError(f"{where}: every task of a meta-dataset must share one space.")
    budget_columns = [task.budgets for task in tasks]
    if any(column is None for column in budget_columns):
        raise MetadataFormatError(f"{where}: every row of a meta-dataset must have a budget.")
    budgets = sorted({float(b) for column in budget_columns for b in column})
    first = tasks[0]
    first_keys = first.config_keys()
    key_ids = {key: i for i, key in enumerate(dict.fromkeys(first_keys))}
    configs: list[dict[str, Any]] = [{} for _ in key_ids]
    for key, config in zip(first_keys, first.configs, strict=True):
        configs[key_ids[key]] = dict(config)
    rows: list[tuple[str, int, float, float]] = []
    for task, column in zip(tasks, budget_columns, strict=True):
        for key, budget, loss in zip(task.config_keys(), column, task.losses, strict=True):
            if key not in key_ids:
                raise MetadataFormatError(
                    f"{where}: task {task.name!r} evaluates a config outside the design of "
                    f"task {first.name!r}."
                )
            rows.append((task.name, key_ids[key], float(budget), float(loss)))
    names = [task.name for task in tasks]
    _check_grid(where, rows, names, len(key_ids), budgets)
    return MetaDataset(
        problem=problem,
        space=space,
        tasks=tuple(names),
        budgets=tuple(budgets),
        configs=tuple(configs),
        losses=pd.DataFrame(rows, columns=list(LOSS_COLUMNS)),
        descriptors={
            task.name: None if task.descriptor is None else dict(task.descriptor) for task in tasks
        },
        provenance=dict(files.provenance),
    )


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


