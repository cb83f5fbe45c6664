"""Known configs queued ahead of the optimizer: ``study.enqueue(config, budget=None)``.

The queue lives in the study's ``user_attrs`` under :data:`QUEUE_KEY`, a list of
``{"id", "config", "budget"}`` entries, so every process sharing the storage sees it.
A trial made from an entry records the entry's id in its own ``user_attrs`` under
:data:`ENQUEUED_KEY`; an entry is waiting while no trial records its id. The trial is
created with its config in one storage call, so a process never hands out an entry
twice; two processes asking at the same instant may both take the same entry (the
entry is then evaluated twice, nothing is lost).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from metahpo._validation import describe, is_real_number
from metahpo.exceptions import InvalidParameterError
from metahpo.schedulers import Job, Scheduler
from metahpo.space import Space
from metahpo.storage import Storage
from metahpo.study._state import ENQUEUED_KEY, QUEUE_KEY
from metahpo.trial import FrozenTrial

__all__ = ["ENQUEUED_KEY", "QUEUE_KEY", "add_to_queue", "check_enqueue_budget", "trial_fields", "waiting_entry"]


def check_enqueue_budget(budget: Any, scheduler: Scheduler) -> float | None:
    """``budget`` checked against the scheduler's range (``None``: the scheduler decides)."""
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
    if not (low or 0.0) <= budget <= high:
        raise InvalidParameterError(
            f"The 'budget' parameter of enqueue must be in [{low!r}, {high!r}], the scheduler's "
            f"budget range. Got {budget!r} instead."
        )
    return float(budget)


def add_to_queue(
    storage: Storage, study_id: int, name: str, space: Space, scheduler: Scheduler,
    config: Any, budget: Any,
) -> dict[str, Any]:
    """Validate ``config`` and ``budget`` and append them to the study's queue."""
    clean = space.validate(config, "config")
    checked = check_enqueue_budget(budget, scheduler)
    queue = list(storage.get_study(name).user_attrs.get(QUEUE_KEY, []))
    entry = {"id": 1 + max((int(e["id"]) for e in queue), default=-1), "config": clean, "budget": checked}
    storage.set_study_user_attrs(study_id, {QUEUE_KEY: [*queue, entry]})
    return entry


def waiting_entry(queue: Sequence[Mapping[str, Any]], trials: Sequence[FrozenTrial]) -> Mapping[str, Any] | None:
    """The oldest queue entry no trial has taken yet."""
    taken = {t.user_attrs.get(ENQUEUED_KEY) for t in trials}
    for entry in queue:
        if entry["id"] not in taken:
            return entry
    return None


def trial_fields(entry: Mapping[str, Any], job: Job) -> dict[str, Any]:
    """``create_trial`` arguments for the trial of ``entry`` in place of ``job``'s new config.

    Without a budget of its own, the entry runs where the scheduler placed the new
    config (budget, bracket, rung); with one, at that budget, in the scheduler's slot
    when the budgets agree and outside any bracket otherwise.
    """
    budget = entry.get("budget")
    same = budget is None or (job.budget is not None and math.isclose(budget, job.budget))
    return {
        "config": dict(entry["config"]),
        "budget": job.budget if budget is None else budget,
        "bracket": job.bracket if same else None,
        "rung": job.rung if same else None,
        "user_attrs": {ENQUEUED_KEY: entry["id"], "why": {"source": "enqueued", "entry": entry["id"]}},
    }
