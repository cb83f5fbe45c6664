"""Reading rungs off the history: who ran where, who finished, who may be promoted."""

from __future__ import annotations

from collections.abc import Iterable

from metahpo.history import History
from metahpo.trial import FrozenTrial, TrialState


def in_rung(history: History, bracket: int, rung: int) -> list[FrozenTrial]:
    return [t for t in history.trials if t.bracket == bracket and t.rung == rung]


def promoted_parents(history: History) -> set[int]:
    return {t.parent for t in history.trials if t.parent is not None}


def ranked(history: History, trials: Iterable[FrozenTrial]) -> list[FrozenTrial]:
    """COMPLETE trials, best first (ties by number, so every worker ranks alike)."""
    done = [t for t in trials if t.state is TrialState.COMPLETE and t.value is not None]
    return sorted(done, key=lambda t: (history.loss(float(t.value)), t.number))  # type: ignore[arg-type]


def value_at(trial: FrozenTrial, step: float) -> float | None:
    """The last intermediate value reported at or before ``step``."""
    steps = [s for s in trial.intermediate if s <= step + 1e-12]
    return None if not steps else trial.intermediate[max(steps)]
