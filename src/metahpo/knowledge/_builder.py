"""Tasks from a meta-dataset directory written by :func:`metahpo.benchmarks.metadata.build_metadata`."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from metahpo.exceptions import InvalidParameterError, MetahpoError
from metahpo.knowledge._descriptors import harmonise_descriptor
from metahpo.knowledge._task import Task

__all__ = ["is_metadata_dir", "read_metadata_tasks"]


def is_metadata_dir(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` looks like a builder output (its manifest has ``format_version``)."""
    import json

    manifest = Path(path) / "manifest.json"
    if not manifest.is_file():
        return False
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and "format_version" in data and "format" not in data


def read_metadata_tasks(path: str | os.PathLike[str], source: str | None = None) -> list[Task]:
    """One task per dataset of the meta-dataset, holding every config at every budget.

    The builder evaluates one fixed Sobol design on every task, so every task has the
    same configs (which makes response similarities and portfolio regrets exact). The
    descriptor is the one the build recorded for the task (``None`` when it has none).
    The loader validates every file first; its errors name the file, row and field.
    """
    from metahpo.benchmarks.metadata import load_metadata

    try:
        data = load_metadata(path)
    except MetahpoError as exc:
        raise InvalidParameterError(str(exc)) from exc
    origin = source if source is not None else f"file:{path}"
    losses = data.loss_array()  # (tasks, configs, budgets)
    n_configs, n_budgets = losses.shape[1], losses.shape[2]
    configs = [dict(c) for _ in range(n_budgets) for c in data.configs]
    budgets = np.repeat(np.asarray(data.budgets, dtype=float), n_configs)
    tasks = []
    for index, name in enumerate(data.tasks):
        # Budget-major order: all configs at the first budget, then the next...
        task_losses = losses[index].T.reshape(-1)
        raw = data.descriptor(name)
        descriptor = harmonise_descriptor(raw) if raw else None
        tasks.append(
            Task(
                name=name,
                space=data.space,
                configs=configs,
                losses=task_losses,
                budgets=budgets,
                descriptor=descriptor,
                source=origin,
            )
        )
    return tasks
