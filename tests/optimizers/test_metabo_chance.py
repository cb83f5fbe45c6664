"""MetaBO's chance that a config stopped early beats the best full-budget loss."""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

import metahpo as mh
from metahpo.history import History
from metahpo.schedulers import BaseScheduler, Job
from metahpo.surrogates.meta import MetaModelProvider, MetaTrainingConfig

SPACE = mh.Space({"x": mh.Float(0.0, 1.0), "y": mh.Float(0.0, 1.0)})
BUDGETS = (1, 3, 9)


def _loss(optimum: np.ndarray, config: dict[str, float], budget: float) -> float:
    """Good configs learn slowly: large y costs at low budgets and pays at the full one."""
    full = (config["x"] - optimum[0]) ** 2 + (config["y"] - optimum[1]) ** 2
    return float(full + 0.8 * config["y"] * (BUDGETS[-1] - budget) / BUDGETS[-1])


def _optimum(seed: int) -> np.ndarray:
    return np.array([0.3, 0.8]) + 0.1 * np.random.default_rng(seed).standard_normal(2)


class LowestBudget(BaseScheduler):
    """Every new config at budget 1, never a promotion: the test sets the trials."""

    name = "lowest"
    min_budget = 1
    max_budget = 9

    def next_job(self, history: History) -> Job:
        del history
        return Job(budget=1, bracket=0, rung=0)


def _study_at_budget_one(n_configs: int, full_budget_first: bool) -> mh.Study:
    design = SPACE.sobol(48, seed=0)
    kb = mh.KnowledgeBase()
    for k in range(6):
        optimum = _optimum(k)
        kb.add_task(SPACE, design * len(BUDGETS), [_loss(optimum, c, b) for b in BUDGETS for c in design],
                    budgets=[b for b in BUDGETS for _ in design], name=f"task{k}")
    provider = MetaModelProvider(MetaTrainingConfig(meta_steps=600, seed=0))
    optimizer = mh.MetaBO(kb, meta_models=provider, continual_update=False)
    study = mh.create_study(space=SPACE, optimizer=optimizer, scheduler=LowestBudget(), seed=0)
    optimum = _optimum(100)
    if full_budget_first:
        study.enqueue({"x": 0.5, "y": 0.5}, budget=9)
    for config in SPACE.sample(np.random.default_rng(1), n_configs):
        study.enqueue(config, budget=1)
    for _ in range(n_configs + full_budget_first):
        handle = study.ask()
        study.tell(handle, _loss(optimum, handle.config, handle.budget))
    return study


def test_the_chance_follows_where_configs_will_end_not_where_they_stand() -> None:
    study = _study_at_budget_one(12, full_budget_first=True)
    history = study.history()
    trials = [t for t in history.complete if t.budget == 1]
    chance = np.asarray(history.chance_to_improve(trials))
    assert chance.shape == (12,) and np.all((chance >= 0) & (chance <= 1))
    optimum = _optimum(100)
    full = [_loss(optimum, t.config, 9) for t in trials]
    assert spearmanr(chance, full)[0] < -0.6  # a higher chance where the full-budget loss is lower
    assert spearmanr(chance, full)[0] < spearmanr([-t.value for t in trials], full)[0] - 0.2
    assert chance.min() < 0.05 < chance.max()  # some are frozen, some continued


def test_everything_has_a_chance_before_a_trial_reaches_the_full_budget() -> None:
    study = _study_at_budget_one(4, full_budget_first=False)
    history = study.history()
    assert list(history.chance_to_improve(history.complete)) == [1.0] * 4


def test_no_chance_without_a_budget() -> None:
    study = mh.create_study(space=SPACE, optimizer=mh.MetaBO(mh.KnowledgeBase()), seed=0)
    study.optimize(lambda t: t.config["x"], n_trials=3, show_progress=False)
    history = study.history()
    assert history.chance_to_improve is None  # a full-budget study: nothing to continue
    assert study.optimizer.chance_to_improve(history, history.complete) is None
