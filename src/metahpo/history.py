"""What an optimizer or a scheduler sees of a study: its space, its trials, its goal.

Optimizers and schedulers hold no storage reference; the study hands them a
:class:`History` on every call, so their decisions depend only on what it holds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from metahpo.space import Space
from metahpo.trial import FrozenTrial, TrialState, lineage_parent, retried_trial

__all__ = ["DIRECTIONS", "History"]

DIRECTIONS = ("minimize", "maximize")

# The steps where runs were stopped at which the runs that went on are observed too: a
# scheduler's rungs are fewer than this (ASHA from 1 to 81 with eta 2 has 7), and an
# objective that stops itself at any epoch would otherwise multiply the observations
# (and an exact GP's cost) by the number of distinct epochs it stopped at.
MAX_STOP_STEPS = 8


@dataclass(frozen=True)
class History:
    """The trials of a study before the next suggestion, in trial-number order.

    Attributes:
        space: the search space.
        trials: every trial so far, RUNNING ones included (their configs are pending).
        direction: ``"minimize"`` or ``"maximize"``; :meth:`loss` turns values into losses.
        seed: the study's seed for this component; with the number of trials it keys
            every random draw, so a study replayed with the same seed makes the same draws.
        min_budget, max_budget: the scheduler's budget range (``None`` without budgets).
        descriptor: the study's task descriptor (``create_study(task=...)``: named
            meta-features), which meta-learning optimizers compare tasks by; ``None`` without.
        task_type: the study's kind of problem, ``"classification"`` or ``"regression"``, as
            its descriptor or its preset records it (``None`` when neither does): past tasks
            of another kind are no knowledge for it.
    """

    space: Space
    trials: tuple[FrozenTrial, ...]
    direction: str = "minimize"
    seed: int = 0
    min_budget: float | None = None
    max_budget: float | None = None
    descriptor: Mapping[str, Any] | None = None
    task_type: str | None = None

    def loss(self, value: float) -> float:
        """The value to minimise: ``value`` itself, or its negation when maximising."""
        return value if self.direction == "minimize" else -value

    @property
    def complete(self) -> list[FrozenTrial]:
        return [t for t in self.trials if t.state is TrialState.COMPLETE and t.value is not None]

    @property
    def pending(self) -> list[FrozenTrial]:
        return [t for t in self.trials if t.state is TrialState.RUNNING]

    def new_config_count(self) -> int:
        """How many trials started a new config: promotions continue an old one, and a
        trial run again after its process died (:func:`~metahpo.trial.retried_trial`)
        runs the config of the trial it retries, which counts once."""
        # Counted by first attempt, so a retry whose first attempt is not in this history
        # (a history of some trials only) still counts its config.
        firsts = {t.number if (first := retried_trial(t)) is None else first
                  for t in self.trials if lineage_parent(t) is None}
        return len(firsts)

    def observations(
        self, budget: float | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Unit-cube inputs, budgets and losses of the COMPLETE trials, and of the stopped ones.

        With ``budget`` given, only the observations at that budget. Budgets of trials run
        without one are reported as ``max_budget`` (or 1.0), since they ran in full. When
        the study has budgets, a PRUNED trial is an observation at the last step it reported
        (its value there), since a surrogate that takes the budget as an input learns from
        a stopped run as from a low-budget one; without budgets its steps have no budget
        meaning and it is left out. A run that went on past a step where another was
        stopped is an observation there too (the value it reported at that step; at the
        ``MAX_STOP_STEPS`` steps where the most runs were stopped): the stopped runs alone
        would show a surrogate only the worse runs at the low budgets, while side by side
        with the survivors they show how those budgets rank configs and how their values
        carry on to the full budget.
        """
        seen = self._runs()
        seen += self._where_others_stopped(seen)
        seen.sort(key=lambda row: (row[0].number, row[1]))
        chosen = [row for row in seen if budget is None or _same(row[1], budget)]
        x = (self.space.to_unit([t.config for t, _, _ in chosen]) if chosen
             else np.empty((0, len(self.space))))
        budgets = np.array([b for _, b, _ in chosen], dtype=float)
        losses = np.array([self.loss(float(v)) for _, _, v in chosen], dtype=float)
        return x, budgets, losses

    def observed_count(self) -> int:
        """How many trials the observations come from (a run seen at several budgets counts once)."""
        return len(self._runs())

    def _runs(self) -> list[tuple[FrozenTrial, float, Any]]:
        """Each COMPLETE trial at its budget and each stopped one at the step it reached."""
        full = self.max_budget if self.max_budget is not None else 1.0
        runs = [(t, full if t.budget is None else t.budget, t.value) for t in self.complete]
        runs += [(t, step, t.value) for t in self.trials if (step := self._stopped_at(t)) is not None]
        return runs

    def _where_others_stopped(
        self, runs: list[tuple[FrozenTrial, float, Any]]
    ) -> list[tuple[FrozenTrial, float, Any]]:
        """``runs`` at the steps below their own where other runs were stopped (at most
        ``MAX_STOP_STEPS``, those where the most were), with the values they reported there.
        A promotion is not observed at or below its parent's budget: the parent is."""
        stopped: dict[float, int] = {}
        for trial, step, _ in runs:
            if trial.state is TrialState.PRUNED:
                # One step however it was rounded (a ladder's 100 * 3**-3, a reported 100 / 27).
                step = next((known for known in stopped if _same(known, step)), step)
                stopped[step] = stopped.get(step, 0) + 1
        if not stopped:  # every study that stops nothing: no work on its hot path
            return []
        stops = sorted(stopped, key=lambda step: (-stopped[step], step))[:MAX_STOP_STEPS]
        budgets = {t.number: t.budget for t in self.trials}
        extra = []
        for trial, reached, _ in runs:
            parent = lineage_parent(trial)
            start = budgets.get(parent) if parent is not None else None
            for step in stops:
                if not _below(step, reached) or (start is not None and not _below(start, step)):
                    continue
                if (value := _reported_at(trial, step)) is not None:
                    extra.append((trial, step, value))
        return extra

    def _stopped_at(self, trial: FrozenTrial) -> float | None:
        """The budget a PRUNED trial reached: its last reported step, if that lies within
        the budget range (a step outside it is in other units, and says nothing of budgets)."""
        if (trial.state is not TrialState.PRUNED or trial.value is None or not trial.intermediate
                or self.max_budget is None or not math.isfinite(trial.value)):
            return None
        step = float(max(trial.intermediate))
        low = self.min_budget if self.min_budget is not None else 0.0
        tolerance = 1e-9 * self.max_budget
        return step if low - tolerance <= step <= self.max_budget + tolerance else None

    def best(self) -> FrozenTrial | None:
        """The COMPLETE trial with the lowest loss at the largest budget reached."""
        done = self.complete
        if not done:
            return None
        top = max((t.budget or math.inf) for t in done)
        at_top = [t for t in done if (t.budget or math.inf) == top]
        return min(at_top, key=lambda t: self.loss(float(t.value)))  # type: ignore[arg-type]

    def rng(self, salt: int = 0) -> np.random.Generator:
        """A generator keyed by (seed, number of trials, salt): replayable, distinct per trial."""
        return np.random.default_rng(np.random.SeedSequence([self.seed, len(self.trials), salt]))


def _reported_at(trial: FrozenTrial, step: float) -> float | None:
    """The finite value ``trial`` reported at ``step``, if it reported one there."""
    for reported, value in trial.intermediate.items():
        if _same(float(reported), step) and value is not None and math.isfinite(value):
            return float(value)
    return None


def _below(a: float, b: float) -> bool:
    """``a < b``, and not equal but for rounding."""
    return a < b and not _same(a, b)


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9)


def history_from(
    space: Space,
    trials: Sequence[FrozenTrial],
    direction: str = "minimize",
    seed: int = 0,
    **kwargs: Any,
) -> History:
    """Build a :class:`History`, sorting trials by number."""
    return History(space, tuple(sorted(trials, key=lambda t: t.number)), direction, seed, **kwargs)
