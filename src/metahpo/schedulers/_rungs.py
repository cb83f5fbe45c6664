"""Reading rungs off the history: who ran where, who finished, who may be promoted."""

from __future__ import annotations

from collections.abc import Iterable

from metahpo.history import History
from metahpo.storage import is_stale_failure
from metahpo.trial import FrozenTrial, TrialState, retried_trial


def in_rung(history: History, bracket: int, rung: int) -> list[FrozenTrial]:
    return [t for t in history.trials if t.bracket == bracket and t.rung == rung]


def first_attempt(trial: FrozenTrial) -> int:
    """The number of the trial first run with ``trial``'s config in its rung: its own, or
    for a retry of a trial whose process died, the ``retry_of`` its ``why`` records."""
    first = retried_trial(trial)
    return trial.number if first is None else first


def one_per_config(trials: Iterable[FrozenTrial]) -> list[FrozenTrial]:
    """The trials of a rung, one per config: a trial and its retries hold one place.

    A trial taken for dead may still be told late by its process, beside its retry. The
    place goes to the last attempt that is COMPLETE, else to the last one that is not a
    stale failure (RUNNING, PRUNED or FAILED by its objective), else to the last stale
    failure; places come in the order of their first attempts.
    """
    attempts: dict[int, list[FrozenTrial]] = {}
    for trial in trials:
        attempts.setdefault(first_attempt(trial), []).append(trial)
    places = []
    for group in attempts.values():
        complete = [t for t in group if t.state is TrialState.COMPLETE]
        alive = [t for t in group if not is_stale_failure(t)]
        places.append(max(complete or alive or group, key=lambda t: t.number))
    return places


def promoted_configs(history: History) -> set[int]:
    """The :func:`first_attempt` of every trial promoted: a config is promoted once, from
    whichever of its attempts holds its place."""
    by_number = {t.number: t for t in history.trials}
    return {
        first_attempt(by_number[t.parent]) if t.parent in by_number else t.parent
        for t in history.trials if t.parent is not None
    }


def ranked(history: History, trials: Iterable[FrozenTrial]) -> list[FrozenTrial]:
    """COMPLETE trials, best first (ties by number, so every worker ranks alike)."""
    done = [t for t in trials if t.state is TrialState.COMPLETE and t.value is not None]
    return sorted(done, key=lambda t: (history.loss(float(t.value)), t.number))  # type: ignore[arg-type]


def value_at(trial: FrozenTrial, step: float) -> float | None:
    """The last intermediate value reported at or before ``step``."""
    steps = [s for s in trial.intermediate if s <= step + 1e-12]
    return None if not steps else trial.intermediate[max(steps)]
