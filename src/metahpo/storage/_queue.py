"""The queue of configs enqueued to run first, as every storage keeps it.

The queue is the list under :data:`QUEUE_KEY` in a study's ``user_attrs``: entries
``{"id", "config", "budget"}`` in the order they were enqueued, ids 0, 1, 2, ... per
study. Taking an entry adds ``"trial"`` (:data:`TAKEN_KEY`), the number of the trial
that runs it, and that trial records the entry's id in its own ``user_attrs`` under
:data:`ENQUEUED_KEY`. Both changes are made by the storage in the transaction that
appends or creates the trial (:meth:`Storage.enqueue_config`, ``create_trial(enqueued=)``),
so that neither a concurrent enqueue nor a concurrent take is lost or doubled.

Studies stored before entries were marked taken hold entries without ``"trial"``; the
trial that took such an entry still names it under :data:`ENQUEUED_KEY`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from metahpo._validation import describe, is_real_number
from metahpo.exceptions import EnqueuedConfigTakenError, InvalidParameterError
from metahpo.storage._checks import check_trial_config

__all__ = [
    "ENQUEUED_KEY",
    "QUEUE_KEY",
    "TAKEN_KEY",
    "check_config_or_enqueued",
    "check_enqueued_config",
    "check_queue_budget",
    "queue_with_entry",
    "queue_with_taken",
]

# The study attribute that holds the queue.
QUEUE_KEY = "enqueued_configs"
# The trial attribute that names the entry a trial runs.
ENQUEUED_KEY = "enqueued"
# The entry field that names the trial which took it.
TAKEN_KEY = "trial"


def check_queue_budget(budget: Any) -> float | None:
    """An entry's budget: a finite number > 0, or ``None`` (the scheduler decides)."""
    if budget is None:
        return None
    if not is_real_number(budget) or not math.isfinite(budget) or budget <= 0:
        raise InvalidParameterError(
            "The 'budget' parameter of enqueue_config must be a finite number > 0 or None. "
            f"Got {describe(budget)} instead."
        )
    return float(budget)


def check_enqueued_config(space: Mapping[str, Any], config: Any) -> dict[str, Any]:
    """An entry's config: a non-empty config of the study's space (an empty one is what a
    trial whose config is not chosen yet holds)."""
    if not isinstance(config, Mapping) or not config:
        raise InvalidParameterError(
            "The 'config' parameter of enqueue_config must be a non-empty dict of parameter "
            f"values. Got {describe(config)} instead."
        )
    return check_trial_config(space, config)


def check_config_or_enqueued(config: Any, enqueued: Any) -> None:
    """Refuse a ``create_trial`` given both a config and the entry whose config it runs."""
    if enqueued is not None and config:
        raise InvalidParameterError(
            "The 'config' parameter of create_trial must be omitted when 'enqueued' is given: "
            f"the trial runs the entry's config. Got {describe(config)} instead."
        )


def queue_with_entry(
    queue: Sequence[Mapping[str, Any]], config: Mapping[str, Any], budget: float | None
) -> tuple[list[Any], int]:
    """``queue`` with a new entry at its end, and the entry's id."""
    entry_id = 1 + max((int(entry["id"]) for entry in queue), default=-1)
    return [*queue, {"id": entry_id, "config": dict(config), "budget": budget}], entry_id


def queue_with_taken(
    queue: Sequence[Mapping[str, Any]], entry_id: Any, number: int
) -> tuple[list[Any], Mapping[str, Any]]:
    """``queue`` with entry ``entry_id`` taken by trial ``number``, and the entry as it was.

    Raises:
        EnqueuedConfigTakenError: a trial took the entry already.
        InvalidParameterError: the queue has no entry ``entry_id``.
    """
    if isinstance(entry_id, bool) or not isinstance(entry_id, int):
        raise InvalidParameterError(
            "The 'enqueued' parameter of create_trial must be the int id of an entry of the "
            f"study's queue or None. Got {describe(entry_id)} instead."
        )
    for index, entry in enumerate(queue):
        if entry["id"] != entry_id:
            continue
        if entry.get(TAKEN_KEY) is not None:
            raise EnqueuedConfigTakenError(
                f"The enqueued config {entry_id} was already taken by trial {entry[TAKEN_KEY]}."
            )
        changed = list(queue)
        changed[index] = {**entry, TAKEN_KEY: number}
        return changed, entry
    ids = [entry["id"] for entry in queue]
    raise InvalidParameterError(
        "The 'enqueued' parameter of create_trial must be the id of an entry of the study's "
        f"queue (ids {describe(ids)}). Got {entry_id!r} instead."
    )
