"""Trial states and the frozen record of one evaluation."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

__all__ = ["RESUMED_KEY", "FrozenTrial", "TrialState", "lineage_parent", "resumed", "retried_trial"]

# Written on a promotion when its objective asks for the parent's checkpoint
# (``TrialHandle.parent_checkpoint_dir``): whether it was handed one to resume from.
RESUMED_KEY = "resumed_parent_checkpoint"


class TrialState(str, enum.Enum):
    """Where a trial is in its life.

    RUNNING trials are being evaluated; the other three are final.
    """

    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    PRUNED = "PRUNED"
    FAILED = "FAILED"

    @property
    def is_finished(self) -> bool:
        return self is not TrialState.RUNNING


@dataclass(frozen=True)
class FrozenTrial:
    """One evaluation of one configuration at one budget.

    A promotion to a larger budget is a new record whose ``parent`` is the
    number of the trial it continues; ``bracket`` and ``rung`` say where the
    scheduler placed it (``None`` for a full-budget study).
    """

    number: int
    state: TrialState
    config: Mapping[str, Any]
    budget: float | None = None
    value: float | None = None
    intermediate: Mapping[float, float] = field(default_factory=dict)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    user_attrs: Mapping[str, Any] = field(default_factory=dict)
    parent: int | None = None
    bracket: int | None = None
    rung: int | None = None

    @property
    def duration(self) -> float | None:
        """Seconds between start and end, or ``None`` while running."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def evolve(self, **changes: Any) -> FrozenTrial:
        """A copy with some fields changed (records are immutable)."""
        return replace(self, **changes)


def lineage_parent(trial: FrozenTrial) -> int | None:
    """The number of the trial that ``trial`` continues, or ``None`` for a new config.

    That is its ``parent``, or for the retry of a promotion whose process died, the
    promotion's parent, which the retry's ``user_attrs["why"]["parent"]`` names: the
    storage lets a trial be the parent of one trial only, so the retry's own ``parent``
    stays ``None`` (see :meth:`metahpo.Study.ask`'s ``retries``). Read lineage through this,
    not through ``parent``.
    """
    return trial.parent if trial.parent is not None else _named_by_retry(trial, "parent")


def resumed(trial: FrozenTrial) -> bool | None:
    """Whether a promotion's objective was handed its parent's checkpoint to resume from.

    ``True`` when it asked for it (``parent_checkpoint_dir``) and the parent had saved
    one, ``False`` when it asked and there was none (it trained from scratch), ``None``
    when it never asked: then only its reported steps can tell.
    """
    value = trial.user_attrs.get(RESUMED_KEY)
    return value if isinstance(value, bool) else None


def retried_trial(trial: FrozenTrial) -> int | None:
    """The number of the trial first run with ``trial``'s config, when ``trial`` runs it
    again after that trial's process died (``user_attrs["why"]["retry_of"]``); ``None``
    for a trial that is no retry. A retry and the trials it retries are one config."""
    return _named_by_retry(trial, "retry_of")


def _named_by_retry(trial: FrozenTrial, key: str) -> int | None:
    """The trial number a retry's ``why`` names under ``key``, or ``None``."""
    why = trial.user_attrs.get("why")
    if isinstance(why, dict) and why.get("source") == "retry":
        number = why.get(key)
        if isinstance(number, int) and not isinstance(number, bool):
            return number
    return None
