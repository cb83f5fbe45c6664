"""MetaBO's full-budget forecast: past tasks' learning curves rank a rung's configs."""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

import metahpo as mh
from metahpo.surrogates.meta import MetaModelProvider, MetaTrainingConfig

SPACE = mh.Space({"x": mh.Float(0.0, 1.0), "y": mh.Float(0.0, 1.0)})
BUDGETS = (1, 3, 9)


def _loss(optimum: np.ndarray, config: dict[str, float], budget: float) -> float:
    """Good configs learn slowly: large y costs at low budgets and pays at the full one."""
    full = (config["x"] - optimum[0]) ** 2 + (config["y"] - optimum[1]) ** 2
    return float(full + 0.8 * config["y"] * (BUDGETS[-1] - budget) / BUDGETS[-1])


def _optimum(seed: int) -> np.ndarray:
    return np.array([0.3, 0.8]) + 0.1 * np.random.default_rng(seed).standard_normal(2)


def test_the_forecast_ranks_low_budget_configs_as_the_full_budget_will() -> None:
    design = SPACE.sobol(48, seed=0)
    kb = mh.KnowledgeBase()
    for k in range(6):
        optimum = _optimum(k)
        kb.add_task(SPACE, design * len(BUDGETS), [_loss(optimum, c, b) for b in BUDGETS for c in design],
                    budgets=[b for b in BUDGETS for _ in design], name=f"task{k}")
    provider = MetaModelProvider(MetaTrainingConfig(meta_steps=600, seed=0))
    optimizer = mh.MetaBO(kb, meta_models=provider, continual_update=False)
    scheduler = mh.ASHA(min_budget=1, max_budget=9, eta=3, promote_by="forecast")
    study = mh.create_study(space=SPACE, optimizer=optimizer, scheduler=scheduler, seed=0)
    optimum = _optimum(100)
    configs = SPACE.sample(np.random.default_rng(1), 12)
    for config in configs:
        study.enqueue(config)
    while len([t for t in study.trials if t.budget == 1]) < len(configs):
        handle = study.ask()  # a new config at budget 1, or a promotion
        study.tell(handle, _loss(optimum, handle.config, handle.budget))
    history = study.history()
    trials = [t for t in history.complete if t.budget == 1]
    forecast = history.forecast(trials)
    full = [_loss(optimum, t.config, 9) for t in trials]
    at_rung = [t.value for t in trials]
    assert spearmanr(forecast, full)[0] > spearmanr(at_rung, full)[0] + 0.2
    assert spearmanr(forecast, full)[0] > 0.6


def test_no_forecast_without_a_budget_or_without_knowledge() -> None:
    study = mh.create_study(space=SPACE, optimizer=mh.MetaBO(mh.KnowledgeBase()), seed=0)
    study.optimize(lambda t: t.config["x"], n_trials=3, show_progress=False)
    history = study.history()
    assert history.forecast is None  # full-budget study: nothing to forecast
    assert study.optimizer.forecast(history, history.complete) is None
