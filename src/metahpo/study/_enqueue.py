"""Known configs queued ahead of the optimizer: ``study.enqueue(config, budget=None)``.

The storage keeps the queue (the study's ``user_attrs`` under :data:`QUEUE_KEY`, a list
of ``{"id", "config", "budget"}`` entries), so every process sharing the storage sees it.
Appending an entry (:meth:`Storage.enqueue_config`) and creating the trial that takes one
(``create_trial(enqueued=id)``, which marks the entry with the trial's number and records
the entry's id in the trial's ``user_attrs`` under :data:`ENQUEUED_KEY`) are each one
storage transaction: Study objects, threads and processes enqueueing or asking at once
lose no entry and never take one twice. An asker that finds its entry taken meanwhile
takes the next waiting one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from metahpo._validation import describe, is_real_number
from metahpo.exceptions import EnqueuedConfigTakenError, InvalidParameterError
from metahpo.schedulers import Job, Ladder, Scheduler
from metahpo.space import Space
from metahpo.storage import ENQUEUED_KEY, QUEUE_KEY, TAKEN_KEY, Storage
from metahpo.trial import FrozenTrial

__all__ = ["add_to_queue", "check_enqueue_budget", "take_waiting_entry", "trial_fields", "waiting_entries"]


def check_enqueue_budget(budget: Any, scheduler: Scheduler) -> float | None:
    """``budget`` checked against the scheduler's rung budgets, or its range when it has
    no rungs (``None``: the scheduler decides)."""
    if budget is None:
        return None
    # NumPy scalars count (what arithmetic on arrays hands users), as for the other numbers.
    if not is_real_number(budget) or not math.isfinite(budget) or budget <= 0:
        raise InvalidParameterError(
            f"The 'budget' parameter of enqueue must be a finite number > 0 or None. Got {describe(budget)} instead."
        )
    low, high = scheduler.min_budget, scheduler.max_budget
    if high is None:
        raise InvalidParameterError(
            f"The 'budget' parameter of enqueue must be None: the study's scheduler runs every "
            f"trial at full budget. Got {budget!r} instead."
        )
    ladder = getattr(scheduler, "ladder", None)
    if isinstance(ladder, Ladder):
        # A budget off the rungs is no other trial's: its value compares with none, and
        # the study leaves the scheduler's grid. Snapping it to a rung would run a budget
        # other than the one asked for, so it is refused. (A float rung may print as 0.3
        # and be 0.30000000000000004: close is the rung, stored as the rung's own value.)
        rungs = ladder.budgets()
        for rung in rungs:
            if math.isclose(budget, rung, rel_tol=1e-9):
                return rung
        shown = [int(b) if ladder.integer else float(f"{b:.12g}") for b in rungs]  # 0.1, not 0.09999999999999999
        raise InvalidParameterError(
            f"The 'budget' parameter of enqueue must be one of the scheduler's rung budgets "
            f"{shown}, or None to let the scheduler choose. Got {budget!r} instead."
        )
    if not (low or 0.0) <= budget <= high:
        raise InvalidParameterError(
            f"The 'budget' parameter of enqueue must be in [{low!r}, {high!r}], the scheduler's "
            f"budget range. Got {budget!r} instead."
        )
    return float(budget)


def add_to_queue(
    storage: Storage, study_id: int, space: Space, scheduler: Scheduler, config: Any, budget: Any,
) -> int:
    """Validate ``config`` and ``budget`` and append them to the study's queue; the entry's id."""
    clean = space.validate(config, "config")
    return storage.enqueue_config(study_id, clean, check_enqueue_budget(budget, scheduler))


def waiting_entries(
    queue: Sequence[Mapping[str, Any]], trials: Sequence[FrozenTrial]
) -> list[Mapping[str, Any]]:
    """The entries no trial has taken yet, oldest first.

    An entry is taken when the storage marked it, or, in a study stored before entries
    were marked, when a trial names it.
    """
    named = {t.user_attrs.get(ENQUEUED_KEY) for t in trials}
    return [e for e in queue if e.get(TAKEN_KEY) is None and e["id"] not in named]


def take_waiting_entry(
    storage: Storage, study_id: int, name: str, trials: Sequence[FrozenTrial], job: Job
) -> FrozenTrial | None:
    """The trial of the oldest waiting entry, in place of ``job``'s new config; ``None``
    when no entry waits. An entry another asker took meanwhile is passed over, and the
    queue read again: entries added since the last read wait too."""
    tried: set[Any] = set()
    while True:
        queue = storage.get_study(name).user_attrs.get(QUEUE_KEY) or []
        waiting = [e for e in waiting_entries(queue, trials) if e["id"] not in tried]
        if not waiting:
            return None
        for entry in waiting:
            tried.add(entry["id"])
            try:
                return storage.create_trial(study_id, **trial_fields(entry, job))
            except EnqueuedConfigTakenError:
                continue


def trial_fields(entry: Mapping[str, Any], job: Job) -> dict[str, Any]:
    """``create_trial`` arguments for the trial of ``entry`` in place of ``job``'s new config.

    Without a budget of its own, the entry runs where the scheduler placed the new
    config (budget, bracket, rung); with one, at that budget, in the scheduler's slot
    when the budgets agree and outside any bracket otherwise.
    """
    budget = entry.get("budget")
    same = budget is None or (job.budget is not None and math.isclose(budget, job.budget))
    return {
        "enqueued": entry["id"],
        "budget": job.budget if budget is None else budget,
        "bracket": job.bracket if same else None,
        "rung": job.rung if same else None,
        "user_attrs": {"why": {"source": "enqueued", "entry": entry["id"]}},
    }
