"""What a study records when it is finished (``Study.finish``, or stored as a finished task).

Kept with the storage so that every layer that writes a finished study (the study itself,
the knowledge base storing its tasks as studies) writes it alike, and every reader (the
dashboard, the commands) tells a finished study from one whose trials merely all ended.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any

from metahpo.trial import FrozenTrial, TrialState

__all__ = ["FINISHED_KEY", "ended_trials", "finished_marker", "imported_from", "is_finished"]

# A name of metahpo's own: a user's "finished" attribute stays theirs.
FINISHED_KEY = "study_finished"


def ended_trials(trials: Iterable[FrozenTrial]) -> int:
    """How many of ``trials`` have ended (COMPLETE, PRUNED or FAILED)."""
    return sum(1 for t in trials if t.state is not TrialState.RUNNING)


def finished_marker(n_ended: int, imported_from: str | None = None) -> dict[str, Any]:
    """``user_attrs[FINISHED_KEY]`` of a study finished with ``n_ended`` ended trials: a trial
    that ends after it (one running at ``finish()``, or a later one) means it was continued.
    ``imported_from`` is the source of a study written from a knowledge task."""
    marker: dict[str, Any] = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "trials": n_ended}
    if imported_from is not None:
        marker["imported_from"] = imported_from
    return marker


def imported_from(user_attrs: Mapping[str, Any]) -> str | None:
    """The source of a study written from a knowledge task (``KnowledgeBase.to_storage``,
    ``metahpo kb import``), or ``None`` for a study that an optimizer ran."""
    marker = user_attrs.get(FINISHED_KEY)
    source = marker.get("imported_from") if isinstance(marker, Mapping) else None
    return source if isinstance(source, str) else None


def is_finished(trials: Iterable[FrozenTrial], user_attrs: Mapping[str, Any]) -> bool:
    """Whether the study was finished and no trial has ended since."""
    marker = user_attrs.get(FINISHED_KEY)
    count = marker.get("trials") if isinstance(marker, Mapping) else None
    return isinstance(count, int) and ended_trials(trials) <= count
