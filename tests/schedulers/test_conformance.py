"""Every built-in scheduler passes the same conformance suite (metahpo.testing.schedulers)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import metahpo as mh
from metahpo.schedulers import Scheduler
from metahpo.testing.schedulers import SCHEDULER_CHECKS, check_scheduler

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
