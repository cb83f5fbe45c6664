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


def test_metabo_names_the_portfolio_rank_of_a_portfolio_config_it_proposes_later() -> None:
    from metahpo.surrogates.meta import MetaModelProvider, MetaTrainingConfig

    space = mh.Space({"a": mh.Categorical(["p", "q", "r", "s", "t", "u"]), "b": mh.Int(0, 5)})
    grid = [{"a": a, "b": b} for a in "pqrstu" for b in range(6)]

    def loss(config: dict, shift: float) -> float:
        return ("pqrstu".index(config["a"]) - 2.0 - shift) ** 2 + (config["b"] - 3.0 + shift) ** 2

    kb = mh.KnowledgeBase()
    for i, shift in enumerate([-0.6, -0.3, 0.0, 0.3, 0.6]):
        kb.add_task(space, grid, [loss(c, shift) for c in grid], name=f"t{i}")
    provider = MetaModelProvider(MetaTrainingConfig(meta_steps=20))
    optimizer = mh.MetaBO(kb, meta_models=provider, continual_update=False)
    study = mh.create_study(space=space, optimizer=optimizer, seed=0)
    study.optimize(lambda t: loss(t.config, 0.1), n_trials=10, show_progress=False)

    keys = space.config_keys(optimizer._portfolio.portfolio(history_from(space, [], seed=0)))
    ranked = [t for t in study.trials[3:] if "portfolio_rank" in t.user_attrs["why"]]
    assert ranked  # 20 of the 36 configs are the portfolio's
    for trial in study.trials[3:]:
        key = space.config_keys([trial.config])[0]
        assert trial.user_attrs["why"].get("portfolio_rank") == (keys.index(key) if key in keys else None)
