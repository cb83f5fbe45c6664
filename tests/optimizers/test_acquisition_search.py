"""How hard the acquisition is searched: thoroughly for an exact GP, as before otherwise."""

from __future__ import annotations

from typing import Any

import pytest

import metahpo as mh
from metahpo.optimizers import _bo
from metahpo.surrogates import AcquisitionOptimizer, ExactGP, SpaceEncoding


@pytest.fixture
def searches(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    made: list[dict[str, Any]] = []

    class Recording(AcquisitionOptimizer):
        def __init__(self, **kwargs: Any) -> None:
            made.append(kwargs)
            super().__init__(**kwargs)

    monkeypatch.setattr(_bo, "AcquisitionOptimizer", Recording)
    return made


def _study(optimizer: Any) -> mh.Study:
    space = mh.Space({"x": mh.Float(0, 1), "y": mh.Float(0, 1)})
    study = mh.create_study(space=space, optimizer=optimizer, seed=0)
    study.optimize(lambda t: (t.config["x"] - 0.3) ** 2 + t.config["y"], n_trials=5,
                   show_progress=False)
    return study


def test_gpbo_searches_its_acquisition_thoroughly(searches: list[dict[str, Any]]) -> None:
    _study(mh.GPBO(n_initial=3))
    assert searches and all(s == _bo.THOROUGH_SEARCH for s in searches)
    defaults = AcquisitionOptimizer()
    assert _bo.THOROUGH_SEARCH["n_raw"] > defaults.n_raw
    assert _bo.THOROUGH_SEARCH["max_iter"] > defaults.max_iter


def test_propose_keeps_the_smaller_search_unless_asked(searches: list[dict[str, Any]]) -> None:
    study = _study("random")
    history = study.history()
    encoding = SpaceEncoding(history.space)
    x_unit, budgets, losses = history.observations()
    gp = ExactGP().fit(encoding.inputs(x_unit, budgets), losses)
    _bo.propose(history, encoding, gp, 1)
    _bo.propose(history, encoding, gp, 1, thorough=True)
    assert searches == [{}, _bo.THOROUGH_SEARCH]
