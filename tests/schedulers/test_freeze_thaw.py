"""FreezeThaw: continue the config the optimizer gives a chance to beat the best, else start one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

import metahpo as mh
from metahpo.history import History
from metahpo.optimizers import BaseOptimizer
from metahpo.schedulers import make_scheduler, scheduler_spec
from metahpo.trial import FrozenTrial

SPACE = mh.Space({"x": mh.Float(0.0, 1.0)})


class FixedChance(BaseOptimizer):
    """Random configs; a config's chance to improve is ``chance(x)``."""

    name: ClassVar[str] = "fixed-chance"

    def __init__(self, chance: Any) -> None:
        self.chance = chance
        self.asked: list[int] = []

    def get_params(self) -> dict[str, Any]:
        return {}  # the chance is a test fixture, not a stored parameter

    def suggest(self, history: History, n: int = 1) -> list[dict[str, Any]]:
        return SPACE.sample(history.rng(), n)

    def chance_to_improve(self, history: History, trials: Sequence[FrozenTrial]) -> Any:
        self.asked.append(len(trials))
        return np.array([self.chance(t.config["x"]) for t in trials])


def _run(optimizer: Any, n_trials: int, scheduler: Any = None) -> list[FrozenTrial]:
    scheduler = scheduler or mh.FreezeThaw(min_budget=1, max_budget=9, eta=3)
    study = mh.create_study(space=SPACE, optimizer=optimizer, scheduler=scheduler, seed=0)
    study.optimize(lambda t: t.config["x"] / t.budget, n_trials=n_trials, show_progress=False)
    return study.trials


def test_a_config_with_a_chance_is_continued_to_the_full_budget_before_a_new_one_starts() -> None:
    trials = _run(FixedChance(lambda x: 0.5), n_trials=6)
    assert [(t.budget, t.parent) for t in trials[:3]] == [(1, None), (3, 0), (9, 1)]
    assert trials[3].budget == 1 and trials[3].parent is None
    assert [(t.budget, t.parent) for t in trials[4:6]] == [(3, 3), (9, 4)]


def test_configs_below_five_percent_are_frozen_and_new_ones_start() -> None:
    trials = _run(FixedChance(lambda x: 0.04), n_trials=8)
    assert all(t.budget == 1 and t.parent is None for t in trials)


def test_the_most_promising_frozen_config_is_thawed_first() -> None:
    # Only configs with x > 0.5 have a chance; among them, the largest x first.
    trials = _run(FixedChance(lambda x: x if x > 0.5 else 0.0), n_trials=30)
    promotions = [t for t in trials if t.parent is not None]
    assert promotions
    by_number = {t.number: t for t in trials}
    assert all(by_number[t.parent].config["x"] > 0.5 for t in promotions)
    first = promotions[0]
    waiting = [t for t in trials[: first.number] if t.parent is None and t.config["x"] > 0.5]
    assert by_number[first.parent].config["x"] == max(t.config["x"] for t in waiting)


def test_without_a_chance_promotions_follow_asha() -> None:
    def jobs(scheduler: Any) -> list[tuple[Any, ...]]:
        trials = _run("random", 30, scheduler)
        return [(t.config["x"], t.budget, t.parent) for t in trials]

    assert jobs(mh.FreezeThaw(min_budget=1, max_budget=9)) == jobs(mh.ASHA(min_budget=1, max_budget=9))


def test_it_is_stored_and_rebuilt_by_name() -> None:
    spec = scheduler_spec(mh.FreezeThaw(min_budget=1, max_budget=27, eta=3))
    assert spec == {"name": "freeze_thaw", "params": {"min_budget": 1, "max_budget": 27, "eta": 3}}
    rebuilt = make_scheduler(spec)
    assert isinstance(rebuilt, mh.FreezeThaw) and rebuilt.ladder.s_max == 3
