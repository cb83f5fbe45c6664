"""Tasks from the studies of a storage, and tasks written back as studies."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from metahpo._validation import check_int, describe
from metahpo.exceptions import InvalidParameterError, MetahpoError, StudyNotFoundError
from metahpo.knowledge._descriptors import task_type_of
from metahpo.knowledge._kind import TASK_TYPE_KEY, stored_task_type
from metahpo.knowledge._task import MIN_TASK_TRIALS, Task, descriptor_of
from metahpo.space import Space
from metahpo.storage import (
    FINISHED_KEY,
    Storage,
    absolute_sqlite_url,
    finished_marker,
    get_storage,
    mask_password,
    missing_sqlite_file,
)
from metahpo.trial import TrialState

__all__ = ["check_storage_source", "read_storage", "read_storage_source", "storage_label", "write_storage"]

logger = logging.getLogger(__name__)


def storage_label(storage: Storage) -> str:
    """The storage's URL with any password masked, or its type name."""
    url = getattr(storage, "url", None)
    if isinstance(url, str):
        return mask_password(url)  # after the user name, or a password= query value
    return type(storage).__name__


def read_storage(
    storage: Storage | str,
    min_trials: int = MIN_TASK_TRIALS,
    exclude: Sequence[str] = (),
) -> list[Task]:
    """One task per study with at least ``min_trials`` COMPLETE trials (all validated first).

    A maximised study's values are negated. Trials without a budget count as run at the
    study's largest budget when other trials have budgets. The descriptor is read from the
    study's ``user_attrs["task"]`` (written by ``create_study(task=...)``) when present,
    with the parameters a written task lacked (:attr:`Task.missing`); the kind of problem
    the study records is the task's :attr:`Task.kind` when the descriptor records none
    (:func:`~metahpo.knowledge.stored_task_type`).
    """
    min_trials = check_int(min_trials, "min_trials", "KnowledgeBase.from_storage", minimum=1)
    store = get_storage(storage)
    label = storage_label(store)
    given = exclude
    if not isinstance(exclude, str) and hasattr(exclude, "__iter__"):
        exclude = list(exclude)  # a generator is read once
    if not isinstance(exclude, list) or not all(isinstance(name, str) for name in exclude):
        # A single name would be read as its letters: set("rich") excludes "r", "i", "c", "h".
        hint = f"; pass [{given!r}] for one study" if isinstance(given, str) else ""
        raise InvalidParameterError(
            "The 'exclude' parameter of KnowledgeBase.from_storage must be a list of study "
            f"names. Got {describe(given)} instead{hint}."
        )
    skipped = set(exclude)
    tasks = []
    for record in store.list_studies():
        if record.name in skipped:
            continue
        done = [
            t
            for t in store.get_trials(record.study_id, {TrialState.COMPLETE})
            if t.value is not None
        ]
        if len(done) < min_trials:
            continue
        where = f"study {record.name!r} in {label}"
        try:
            space = Space.from_dict(record.space)
            recorded = record.user_attrs.get("task")
            descriptor = descriptor_of(recorded)
            filled = recorded.get("filled_in") if isinstance(recorded, dict) else None
            missing = [n for n in filled if n in space] if isinstance(filled, list) else []
            sign = -1.0 if record.direction == "maximize" else 1.0
            raw = [t.budget for t in done]
            budgets = None
            if any(b is not None for b in raw):
                full = max(float(b) for b in raw if b is not None)
                budgets = np.array([full if b is None else float(b) for b in raw], dtype=float)
            tasks.append(
                Task(
                    name=record.name,
                    space=space,
                    configs=[dict(t.config) for t in done],
                    losses=np.array([sign * float(t.value) for t in done], dtype=float),  # type: ignore[arg-type]
                    budgets=budgets,
                    descriptor=descriptor,
                    source=f"study:{record.name}@{label}",
                    missing=tuple(missing),
                    # The kind the study records (its task's, else its preset's) when the
                    # descriptor does not; a descriptor given later (set_user_attr("task",
                    # ...)) says it first.
                    kind=(
                        stored_task_type(record.user_attrs, f"the 'task' of {where}")
                        if task_type_of(descriptor) is None
                        else None
                    ),
                )
            )
        except InvalidParameterError as exc:
            raise InvalidParameterError(f"Cannot import {where}: {exc}") from exc
    return tasks


def check_storage_source(storage: Storage | str) -> None:
    """Refuse a SQLite URL naming a file that does not exist: reading it must not create an
    empty database where a typo or a moved file points."""
    if isinstance(storage, str) and missing_sqlite_file(storage):
        raise InvalidParameterError(
            f"The knowledge storage {storage!r} does not exist (no file "
            f"{missing_sqlite_file(storage)!r}); nothing was created. Check the path."
        )


def read_storage_source(
    storage: Storage | str, min_trials: int = MIN_TASK_TRIALS, exclude: Sequence[str] = ()
) -> tuple[list[Task], str | None]:
    """The tasks of :func:`read_storage`, and the spec that reads them again: the URL made
    absolute when a URL was given and the default choice of studies kept, else ``None``.

    A SQLite URL naming a file that does not exist is an error; nothing is created.
    """
    check_storage_source(storage)
    tasks = read_storage(storage, min_trials=min_trials, exclude=exclude)
    if isinstance(storage, str) and min_trials == 5 and not exclude:
        # Absolute, so that a study reopened from another folder learns from the same file.
        return tasks, absolute_sqlite_url(storage)
    return tasks, None


def write_storage(tasks: Sequence[Task], storage: Storage | str) -> list[str]:
    """Store each task with evaluations as a finished study of the same name.

    Every evaluation becomes a COMPLETE trial (value = loss, direction ``"minimize"``);
    the descriptor and :attr:`Task.missing` go to ``user_attrs["task"]``, where
    :func:`read_storage` finds them.
    Refuses if a study of one of the names exists; if writing fails midway, the studies
    written so far are deleted again.
    """
    store = get_storage(storage)
    chosen = [t for t in tasks if t.has_evaluations]
    existing = {r.name for r in store.list_studies()}
    clash = sorted(t.name for t in chosen if t.name in existing)
    if clash:
        raise InvalidParameterError(
            f"Cannot write tasks {clash[:5]}{f' and {len(clash) - 5} more' if len(clash) > 5 else ''} "
            f"to {storage_label(store)}: studies of those names exist."
        )
    # What a study of random search at full budget stores (optimizers and schedulers sit
    # above the knowledge layer, so their specs are written out here).
    optimizer: dict[str, Any] = {"name": "random", "params": {}, "state": {}}
    scheduler: dict[str, Any] = {"name": "full", "params": {}}
    written: list[str] = []
    try:
        for task in chosen:
            attrs: dict[str, Any] = {
                "task": {
                    "name": task.name,
                    "source": task.source,
                    "descriptor": None if task.descriptor is None else dict(task.descriptor),
                    # Parameters the source task lacked: their stored values were filled in.
                    # Not "missing", the key of Task.to_dict, which create_study(task=...)
                    # stores for a study whose own values are all observed.
                    **({"filled_in": list(task.missing)} if task.missing else {}),
                },
                # The kind a descriptor does not record, read back by stored_task_type.
                **({TASK_TYPE_KEY: task.kind} if task.kind is not None else {}),
            }
            record = store.create_study(
                task.name,
                space=task.space.to_dict(),  # type: ignore[union-attr]
                direction="minimize",
                seed=0,
                optimizer=optimizer,
                scheduler=scheduler,
                user_attrs=attrs,
            )
            written.append(task.name)
            for row, config in enumerate(task.configs):
                budget = None if task.budgets is None else float(task.budgets[row])
                trial = store.create_trial(record.study_id, config=dict(config), budget=budget)
                store.finish_trial(
                    record.study_id, trial.number, TrialState.COMPLETE, float(task.losses[row])
                )
            # A task is a study that is over: the dashboard shows it finished, not idle.
            marker = finished_marker(len(task.configs), imported_from=task.source)
            store.set_study_user_attrs(record.study_id, {FINISHED_KEY: marker})
    except MetahpoError:
        for name in written:
            try:
                store.delete_study(name)
            except StudyNotFoundError:
                logger.warning("Could not roll back study %r: it is already gone.", name)
        raise
    return written

