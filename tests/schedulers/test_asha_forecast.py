"""ASHA promoting by the optimizer's full-budget forecast instead of the rung's loss."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pytest

import metahpo as mh
from metahpo.exceptions import InvalidParameterError
from metahpo.history import History
from metahpo.optimizers import BaseOptimizer
from metahpo.schedulers import make_scheduler, scheduler_spec
from metahpo.trial import FrozenTrial

SPACE = mh.Space({"x": mh.Float(0.0, 1.0)})


class LargeXForecast(BaseOptimizer):
    """Random configs; forecasts that the largest x will be best at the full budget."""

    name: ClassVar[str] = "large-x"

    def __init__(self) -> None:
        self.asked: list[int] = []

    def suggest(self, history: History, n: int = 1) -> list[dict[str, Any]]:
        return SPACE.sample(history.rng(), n)

    def forecast(self, history: History, trials: Sequence[FrozenTrial]) -> Any:
        self.asked.append(len(trials))
        return np.array([-t.config["x"] for t in trials])


def _first_promotion(promote_by: str, optimizer: Any) -> tuple[FrozenTrial, list[FrozenTrial]]:
    scheduler = mh.ASHA(min_budget=1, max_budget=9, eta=3, promote_by=promote_by)
    study = mh.create_study(space=SPACE, optimizer=optimizer, scheduler=scheduler, seed=0)
    study.optimize(lambda t: t.config["x"], n_trials=4, show_progress=False)
    first_rung, promotion = study.trials[:3], study.trials[3]
    assert all(t.rung == 0 for t in first_rung) and promotion.rung == 1
    return promotion, first_rung


def test_promote_by_forecast_promotes_the_best_forecast_not_the_best_rung_loss() -> None:
    optimizer = LargeXForecast()
    promotion, first_rung = _first_promotion("forecast", optimizer)
    largest_x = max(first_rung, key=lambda t: t.config["x"])
    assert promotion.parent == largest_x.number
    assert optimizer.asked == [3]  # one forecast of the rung's three finished trials
    by_loss, first_rung = _first_promotion("loss", LargeXForecast())
    assert by_loss.parent == min(first_rung, key=lambda t: t.value).number != largest_x.number


def test_without_a_forecast_it_ranks_by_loss() -> None:
    def trials(promote_by: str) -> list[tuple[Any, ...]]:
        scheduler = mh.ASHA(min_budget=1, max_budget=9, eta=3, promote_by=promote_by)
        study = mh.create_study(space=SPACE, optimizer="random", scheduler=scheduler, seed=3)
        study.optimize(lambda t: t.config["x"] / t.budget, n_trials=30, show_progress=False)
        return [(t.config["x"], t.budget, t.parent) for t in study.trials]

    assert trials("forecast") == trials("loss")


def test_promote_by_is_checked_and_stored() -> None:
    with pytest.raises(InvalidParameterError, match="'promote_by' parameter of ASHA must be 'loss' or 'forecast'"):
        mh.ASHA(min_budget=1, max_budget=9, promote_by="rank")
    spec = scheduler_spec(mh.ASHA(min_budget=1, max_budget=9, promote_by="forecast"))
    assert spec["params"]["promote_by"] == "forecast"
    assert make_scheduler(spec).promote_by == "forecast"
