"""Trials run again after their process died, and configs two workers chose at once."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.space import Space
from metahpo.storage import Storage, is_stale_failure
from metahpo.trial import FrozenTrial, TrialState, lineage_parent

logger = logging.getLogger("metahpo.study")


def check_retries(retries: Any, owner: str) -> int:
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InvalidParameterError(
            f"The 'retries' parameter of {owner} must be an int >= 0. Got {describe(retries)} instead."
        )
    return retries


def retry_dead_trial(storage: Storage, study_id: int, number: int, retries: int) -> FrozenTrial | None:
    """A new RUNNING trial with the config and budget of dead trial ``number``, or ``None``
    when that trial was finished late by its own process or was retried ``retries`` times.

    The retry's ``user_attrs["why"]`` is ``{"source": "retry", "retry_of": first,
    "previous": number, "attempt": k}``, ``first`` being the trial first run with the config.
    The retry of a promotion continues the same parent, which ``why["parent"]`` names (see
    :func:`metahpo.trial.lineage_parent`): its ``parent`` field stays ``None``, since the
    storage lets a trial be the parent of one trial only.
    """
    dead = storage.get_trial(study_id, number)
    why = dead.user_attrs.get("why") or {}
    is_retry = isinstance(why, dict) and why.get("source") == "retry"
    attempt = int(why.get("attempt", 0)) + 1 if is_retry else 1
    if not is_stale_failure(dead) or not dead.config or attempt > retries:
        return None
    first = why.get("retry_of", number) if is_retry else number
    retry_why: dict[str, Any] = {"source": "retry", "retry_of": first, "previous": number, "attempt": attempt}
    parent = lineage_parent(dead)
    if parent is not None:
        retry_why["parent"] = parent
    record = storage.create_trial(
        study_id, config=dead.config, budget=dead.budget, bracket=dead.bracket, rung=dead.rung,
        user_attrs={"why": retry_why},
    )
    logger.warning("Trial %d's process died; trial %d runs its config again (retry %d of %d).",
                   number, record.number, attempt, retries)
    return record


def taken_elsewhere(space: Space, configured: Iterable[FrozenTrial], record: FrozenTrial,
                    config: dict[str, Any]) -> bool:
    """Whether a trial other than ``record`` (not a promotion, not FAILED) has ``config`` at
    ``record``'s budget."""
    key = space.config_key(config)
    return any(
        other.number != record.number and lineage_parent(other) is None and other.budget == record.budget
        and other.state is not TrialState.FAILED and space.config_key(other.config) == key
        for other in configured
    )
