"""Portfolio configs competing with the acquisition's optima after the warm start."""

from __future__ import annotations

import numpy as np
import torch

import metahpo as mh
from metahpo.history import history_from
from metahpo.optimizers._bo import _first_new
from metahpo.optimizers._taken import Taken
from metahpo.surrogates import Candidates, SpaceEncoding

SPACE = mh.Space({"x": mh.Float(0.0, 1.0)})


def _acquisition(z: torch.Tensor) -> torch.Tensor:
    # Lowest (best) at x = 0.5.
    return (z[:, 0] - 0.5) ** 2


def _choose(known_good: list[dict], taken_configs: list[dict]) -> dict:
    encoding = SpaceEncoding(SPACE)
    optima = np.array([[0.2], [0.9]])
    candidates = Candidates(optima, _acquisition(torch.as_tensor(optima)).numpy(), 0)
    history = history_from(SPACE, [], seed=0)
    return _first_new(SPACE, encoding, candidates, Taken(SPACE, taken_configs), history, _acquisition, known_good)


def test_a_known_good_config_the_acquisition_prefers_is_chosen() -> None:
    assert _choose([{"x": 0.45}, {"x": 0.99}], []) == {"x": 0.45}


def test_a_known_good_config_already_evaluated_is_not() -> None:
    assert _choose([{"x": 0.45}], [{"x": 0.45}]) == {"x": 0.2}


def test_the_optima_win_over_worse_known_good_configs() -> None:
    assert _choose([{"x": 0.0}, {"x": 1.0}], []) == {"x": 0.2}


SMALL = mh.Space({"a": mh.Categorical(["p", "q", "r", "s", "t", "u"]), "b": mh.Int(0, 5)})


def _small_loss(config: dict, shift: float) -> float:
    return ("pqrstu".index(config["a"]) - 2.0 - shift) ** 2 + (config["b"] - 3.0 + shift) ** 2


def _small_metabo() -> mh.MetaBO:
    from metahpo.surrogates.meta import MetaModelProvider, MetaTrainingConfig

    grid = [{"a": a, "b": b} for a in "pqrstu" for b in range(6)]
    kb = mh.KnowledgeBase()
    for i, shift in enumerate([-0.6, -0.3, 0.0, 0.3, 0.6]):
        kb.add_task(SMALL, grid, [_small_loss(c, shift) for c in grid], name=f"t{i}")
    provider = MetaModelProvider(MetaTrainingConfig(meta_steps=20))
    return mh.MetaBO(kb, meta_models=provider, continual_update=False)


def _portfolio_keys(optimizer: mh.MetaBO) -> list:
    return SMALL.config_keys(optimizer._portfolio.portfolio(history_from(SMALL, [], seed=0)))


def test_metabo_names_the_portfolio_rank_of_a_portfolio_config_it_proposes_later() -> None:
    optimizer = _small_metabo()
    study = mh.create_study(space=SMALL, optimizer=optimizer, seed=0)
    study.optimize(lambda t: _small_loss(t.config, 0.1), n_trials=10, show_progress=False)
    keys = _portfolio_keys(optimizer)
    for trial in study.trials[3:]:
        key = SMALL.config_keys([trial.config])[0]
        assert trial.user_attrs["why"].get("portfolio_rank") == (keys.index(key) if key in keys else None)


def test_a_portfolio_config_that_failed_is_not_offered_again() -> None:
    optimizer = _small_metabo()
    broken = _portfolio_keys(optimizer)[3]  # the first one after the warm start

    def objective(trial: mh.Trial) -> float:
        if SMALL.config_keys([trial.config])[0] == broken:
            raise RuntimeError("this config crashes")
        return _small_loss(trial.config, 0.1)

    study = mh.create_study(space=SMALL, optimizer=optimizer, seed=0)
    study.optimize(objective, n_trials=15, show_progress=False)
    keys = SMALL.config_keys([t.config for t in study.trials])
    assert keys.count(broken) <= 1


def test_a_batch_during_the_warm_start_goes_on_down_the_portfolio() -> None:
    optimizer = _small_metabo()
    whys = [s.why for s in optimizer.suggest_explained(history_from(SMALL, [], seed=0), 6)]
    # Nothing to fit a surrogate on yet: the configs after the warm start's are the
    # portfolio's next ones (chosen to complement the first on related tasks), in order.
    assert [w["source"] for w in whys] == ["portfolio"] * 6
    assert [w["rank"] for w in whys] == list(range(6))
