"""Opening a stored study: its record found by name, and the optimizer and scheduler it was
created with rebuilt from their stored specs."""

from __future__ import annotations

import os
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError, StudyNotFoundError
from metahpo.optimizers import Optimizer, optimizer_names
from metahpo.schedulers import Scheduler, make_scheduler, scheduler_names
from metahpo.storage import (
    ENV_VAR,
    Storage,
    StudyRecord,
    get_storage,
    missing_sqlite_file,
    stored_names,
)
from metahpo.study._knowledge import reopened_knowledge
from metahpo.study._optimizer_choice import reopened_optimizer

__all__ = ["reopened_parts", "reopened_scheduler", "stored_study"]


def stored_study(name: Any, storage: Storage | str | None) -> tuple[StudyRecord, Storage]:
    """The record of the stored study ``name``, and the storage it was found in (``storage``,
    a URL, or ``None`` for the one ``METAHPO_STORAGE`` names, else in memory).

    A SQLite file that does not exist is not created: the study is not found.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameterError(
            "The 'name' parameter of load_study must be a non-empty string, the name of a "
            f"stored study. Got {describe(name)} instead."
        )
    url = storage if storage is not None else os.environ.get(ENV_VAR) or None
    missing = missing_sqlite_file(url)
    if missing is not None:
        # Opening it would create an empty database where a typo points.
        raise StudyNotFoundError(
            f"No study named {name!r}: there is no database at {url} (the file "
            f"{missing!r} does not exist); nothing was created."
        )
    store = get_storage(storage)
    try:
        record = store.get_study(name)
    except StudyNotFoundError as exc:
        raise StudyNotFoundError(f"{exc} {stored_names(store)}".rstrip()) from exc
    return record, store


def reopened_parts(
    record: StudyRecord, storage: Storage, knowledge: Any = None, scheduler: Scheduler | None = None
) -> tuple[Optimizer, Scheduler]:
    """The optimizer and scheduler of the stored study ``record``, as
    :meth:`Study.from_record <metahpo.study.Study.from_record>` reopens them: the
    optimizer with its knowledge (:func:`~metahpo.study._knowledge.reopened_knowledge`),
    the scheduler from its spec unless the instance ``scheduler`` is given."""
    name = record.optimizer.get("name")
    if name not in optimizer_names():
        raise InvalidParameterError(
            f"Study {record.name!r} was created with the optimizer {name!r}, which is not "
            f"registered in this process (registered: {optimizer_names()}). Register its "
            f"class before opening the study: metahpo.optimizers.register_optimizer({name!r}, "
            "'module:Class'), or pass an instance to create_study(..., load_if_exists=True)."
        )
    kb = reopened_knowledge(record, storage, knowledge)
    return reopened_optimizer(record, kb), scheduler or reopened_scheduler(record)


def reopened_scheduler(record: StudyRecord) -> Scheduler:
    """The scheduler of a stored study, rebuilt from its spec; a clear error for one that
    is not built in (its class cannot be found by name)."""
    name = record.scheduler.get("name")
    if name not in scheduler_names():
        raise InvalidParameterError(
            f"Study {record.name!r} was created with the scheduler {name!r}, which is not built "
            f"in (built in: {scheduler_names()}). Open it with the same instance: "
            "create_study(..., scheduler=<the instance>, load_if_exists=True)."
        )
    return make_scheduler(dict(record.scheduler))
