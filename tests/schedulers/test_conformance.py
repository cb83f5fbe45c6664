"""Every built-in scheduler passes the same conformance suite (metahpo.testing.schedulers)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import metahpo as mh
from metahpo.schedulers import Job, Scheduler
from metahpo.testing.schedulers import (
    SCHEDULER_CHECKS,
    check_budgets_within_range,
    check_deterministic_replay,
    check_promotions,
    check_scheduler,
    check_should_stop,
    check_spec_round_trip,
)
from metahpo.trial import TrialState

FACTORIES: dict[str, Callable[[], Scheduler]] = {
    "full": mh.FullBudget,
    "successive_halving": lambda: mh.SuccessiveHalving(min_budget=1, max_budget=9, eta=3),
    "hyperband": lambda: mh.Hyperband(min_budget=1, max_budget=9, eta=3),
    "hyperband-float": lambda: mh.Hyperband(min_budget=0.1, max_budget=1.0, eta=2),
    "asha": lambda: mh.ASHA(min_budget=1, max_budget=9, eta=3),
    "asha-stopping": lambda: mh.ASHA(min_budget=1, max_budget=9, eta=3, mode="stopping"),
}


@pytest.mark.parametrize("check", SCHEDULER_CHECKS, ids=lambda check: check.__name__)
@pytest.mark.parametrize("name", list(FACTORIES))
def test_scheduler_conformance(name: str, check: Callable[[Callable[[], Scheduler]], None]) -> None:
    check(FACTORIES[name])


def test_check_scheduler_runs_every_check() -> None:
    made: list[Scheduler] = []

    def make() -> Scheduler:
        made.append(mh.ASHA(min_budget=1, max_budget=9, eta=3))
        return made[-1]

    check_scheduler(make)
    assert len(made) >= len(SCHEDULER_CHECKS)


# --- The suite catches broken schedulers ---------------------------------------------------


class _PromotesTwice(mh.ASHA):
    """Broken: it forgets who was promoted and promotes the rung's best again and again."""

    def next_job(self, history):
        finished = [t for t in history.complete if t.rung == 0]
        if len(finished) >= self.eta:
            best = min(finished, key=lambda t: t.value)
            return Job(budget=self.rung_budget(1), bracket=0, rung=1, parent=best)
        return super().next_job(history)


class _PromotesFailures(mh.ASHA):
    """Broken: it promotes a failed trial of rung 0 as if it had done well."""

    def next_job(self, history):
        promoted = {t.parent for t in history.trials}
        failed = [t for t in history.trials if t.rung == 0 and t.state is TrialState.FAILED
                  and t.number not in promoted]
        if failed:
            return Job(budget=self.rung_budget(1), bracket=0, rung=1, parent=failed[0])
        return super().next_job(history)


class _Overshoots(mh.ASHA):
    """Broken: promotions run at three times the budget they should."""

    def next_job(self, history):
        job = super().next_job(history)
        return job if job.parent is None else Job(job.budget * 3, job.bracket, job.rung, job.parent)


class _Counts(mh.Hyperband):
    """Broken: keeps a call count, so a resumed study or another worker gets other jobs."""

    def next_job(self, history):
        self.calls = getattr(self, "calls", 0) + 1
        job = super().next_job(history)
        return job if self.calls % 5 or job.parent else Job(self.max_budget, 99, 0)


class _ForgetsEta(mh.ASHA):
    """Broken: its stored parameters leave out eta."""

    name = "forgets_eta"

    def get_params(self):
        return {k: v for k, v in super().get_params().items() if k != "eta"}


class _StopsEverything(mh.ASHA):
    """Broken: stops every trial, even one that reported nothing."""

    def should_stop(self, trial, history):
        return True


@pytest.mark.parametrize(
    ("broken", "check", "message"),
    [
        (_PromotesTwice, check_promotions, "it was promoted before"),
        (_PromotesFailures, check_promotions, "the parent is FAILED, not COMPLETE"),
        (_Overshoots, check_budgets_within_range, r"budget 9\.0 outside \[1, 9\]|budget 27"),
        (_Counts, check_deterministic_replay, "replayed from the history"),
        (_ForgetsEta, check_spec_round_trip, "rebuilt from its spec it hands out"),
        (_StopsEverything, check_should_stop, "without reports must be False"),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_the_suite_catches_a_broken_scheduler(broken, check, message) -> None:
    with pytest.raises(AssertionError, match=message):
        check(lambda: broken(min_budget=1, max_budget=9, eta=2 if broken is _ForgetsEta else 3))
