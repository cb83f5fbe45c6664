"""The portfolio optimizer: warm-start configs in order, then random draws; JSON-able and replayable."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import metahpo as mh
from metahpo.exceptions import InvalidParameterError
from metahpo.history import history_from
from metahpo.knowledge import KnowledgeBase, Task, greedy_portfolio
from metahpo.optimizers import Portfolio, make_optimizer, optimizer_names, optimizer_spec
from metahpo.testing.synthetic import ShiftedBranin
from metahpo.trial import FrozenTrial, TrialState

FAMILY = ShiftedBranin(n_tasks=12, seed=0)
SPACE = FAMILY.space


def _kb(names: list[str] | None = None) -> KnowledgeBase:
    configs = SPACE.sobol(64, seed=0)
    names = names or [str(i) for i in range(10)]
    return KnowledgeBase(
        [Task(n, SPACE, configs, FAMILY.evaluate_batch(n, configs)) for n in names]
    )


def _history(configs: list[dict], **kwargs) -> mh.history.History:  # type: ignore[name-defined]
    trials = [FrozenTrial(i, TrialState.COMPLETE, c, value=float(i)) for i, c in enumerate(configs)]
    return history_from(SPACE, trials, seed=5, **kwargs)


def test_registered_under_its_name() -> None:
    assert "portfolio" in optimizer_names()
    assert isinstance(make_optimizer("portfolio"), Portfolio)


def test_proposes_the_portfolio_in_order_then_random_draws() -> None:
    kb = _kb()
    expected = greedy_portfolio(kb.tasks(SPACE), 4)
    optimizer = Portfolio(kb, size=4)
    assert optimizer.suggest(_history([]), n=4) == expected
    assert optimizer.suggest(_history(expected[:2]), n=1) == [expected[2]]
    after = optimizer.suggest(_history(expected), n=2)
    assert all(SPACE.contains(c) for c in after) and not any(c in expected for c in after)


def test_skips_configs_already_tried() -> None:
    kb = _kb()
    expected = greedy_portfolio(kb.tasks(SPACE), 4)
    optimizer = Portfolio(kb, size=4)
    # The user tried the third portfolio config by hand first.
    assert optimizer.suggest(_history([expected[2]]), n=3) == [
        expected[0],
        expected[1],
        expected[3],
    ]


def test_deterministic_given_the_history() -> None:
    kb = _kb()
    done = greedy_portfolio(kb.tasks(SPACE), 3)
    first = Portfolio(kb, size=3).suggest(_history(done), n=3)
    second = Portfolio(kb, size=3).suggest(_history(done), n=3)
    assert first == second
    other_seed = history_from(SPACE, _history(done).trials, seed=6)
    assert Portfolio(kb, size=3).suggest(other_seed, n=3) != first


def test_get_params_stores_the_spec_not_the_tasks(tmp_path: Path) -> None:
    kb = _kb()
    assert Portfolio(kb, size=3).get_params() == {"knowledge": None, "size": 3, "k_nearest": None}
    kb.save(tmp_path / "kb")
    opened = KnowledgeBase.from_files(tmp_path / "kb")
    optimizer = Portfolio(opened, size=3, k_nearest=2)
    spec = json.loads(json.dumps(optimizer_spec(optimizer)))
    assert spec["params"] == {"knowledge": str(tmp_path / "kb"), "size": 3, "k_nearest": 2}
    rebuilt = make_optimizer(spec, knowledge=KnowledgeBase.open(spec["params"]["knowledge"]))
    history = _history([])
    assert rebuilt.suggest(history, 3) == optimizer.suggest(history, 3)


def test_study_with_a_storage_spec_reloads_its_knowledge(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    _kb(["0", "1", "2"]).to_storage(url)
    study = mh.create_study(
        name="new", space=SPACE, storage=url, optimizer=Portfolio(KnowledgeBase.open(url), size=2), seed=0
    )
    first = study.ask()
    study.tell(first, FAMILY.evaluate("11", first.config))
    reloaded = mh.load_study("new", storage=url)
    assert reloaded.optimizer.get_params()["knowledge"] == url
    second = reloaded.ask()
    expected = greedy_portfolio(KnowledgeBase.from_storage(url, exclude=["new"]).tasks(SPACE), 2)
    assert [first.config, second.config] == expected


def test_create_study_hands_design_knowledge_to_the_portfolio() -> None:
    # How the benchmark runner feeds a design evaluated on the meta-train tasks.
    configs = tuple(SPACE.sobol(32, seed=0))
    losses = {n: tuple(FAMILY.evaluate_batch(n, configs)) for n in ("0", "1", "2")}
    kb = KnowledgeBase.from_design(SPACE, configs, losses)
    study = mh.create_study(space=SPACE, optimizer="portfolio", knowledge=kb, seed=0)
    assert study.ask().config == greedy_portfolio(kb.tasks(SPACE), 1)[0]


def test_the_descriptor_selects_the_nearest_tasks() -> None:
    configs = SPACE.sobol(64, seed=0)
    kb = KnowledgeBase(
        [
            Task(
                n, SPACE, configs, FAMILY.evaluate_batch(n, configs), descriptor={"size": float(i)}
            )
            for i, n in enumerate(["0", "1", "2", "3", "4", "5"])
        ]
    )
    optimizer = Portfolio(kb, size=1, k_nearest=1)
    for name, size in (("0", 0.0), ("5", 5.0)):
        history = _history([], descriptor={"size": size})
        assert optimizer.suggest(history) == [kb[name].best_config()]


def test_without_knowledge_it_is_random_search() -> None:
    history = _history([])
    drawn = Portfolio(size=3).suggest(history, 2)
    assert len(drawn) == 2 and all(SPACE.contains(c) for c in drawn)
    assert drawn == Portfolio(size=3).suggest(history, 2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"size": 0}, "'size'"), ({"k_nearest": 0}, "'k_nearest'"), ({"knowledge": 3}, "'knowledge'")],
)
def test_bad_parameters_are_refused(kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        Portfolio(**kwargs)


def test_warm_start_beats_random_on_a_held_out_task() -> None:
    kb = _kb()
    regrets = {}
    for name, optimizer in (("portfolio", Portfolio(kb, size=5)), ("random", "random")):
        per_seed = []
        for seed in range(5):
            study = mh.create_study(space=SPACE, optimizer=optimizer, seed=seed)
            study.optimize(
                lambda t: FAMILY.evaluate("11", t.config), n_trials=5, show_progress=False
            )
            per_seed.append(study.best_value - FAMILY.optimum("11"))
        regrets[name] = float(np.mean(per_seed))
    assert regrets["portfolio"] < 0.2 * regrets["random"], regrets


def test_resumed_study_keeps_its_portfolio_when_it_joined_the_knowledge(tmp_path: Path) -> None:
    def objective(trial: mh.TrialHandle) -> float:  # type: ignore[name-defined]
        return float(FAMILY.evaluate("11", trial.config))

    trajectories = []
    for run, stop_after in (("straight", None), ("resumed", 6)):
        url = f"sqlite:///{tmp_path / (run + '.db')}"
        _kb(["0", "1", "2", "3"]).to_storage(url)
        study = mh.create_study(
            name="new", space=SPACE, storage=url, optimizer="portfolio", knowledge=url, seed=0
        )
        study.optimize(objective, n_trials=stop_after or 9, show_progress=False)
        if stop_after is not None:
            # The study now has 6 COMPLETE trials: the reloaded optimizer's knowledge holds it.
            assert "new" in KnowledgeBase.from_storage(url).names
            study = mh.load_study("new", storage=url)
            study.optimize(objective, n_trials=9 - stop_after, show_progress=False)
        trajectories.append([t.config for t in study.trials])
    assert trajectories[0] == trajectories[1]


def test_suggestions_say_why_and_studies_store_it() -> None:
    kb = _kb(["0", "1", "2"])
    optimizer = Portfolio(kb, size=2)
    explained = optimizer.suggest_explained(_history([]), n=3)
    assert [s.why["source"] for s in explained] == ["portfolio", "portfolio", "random"]
    # The second config is named for the tasks whose best regret it lowered, not all of them.
    from metahpo.knowledge import regret_matrix

    first, second = (s.config for s in explained[:2])
    regrets = regret_matrix(kb.tasks(SPACE), [first, second])
    helped = [kb.tasks(SPACE)[j].name for j in np.argsort(regrets[1] - regrets[0], kind="stable")
              if regrets[1, j] < regrets[0, j] - 1e-12]
    assert explained[1].why == {
        "source": "portfolio", "rank": 1, "tasks": helped, "n_tasks": len(helped), "chosen_among": 3,
    }
    assert 0 < len(helped) < 3
    assert explained[0].why["tasks"] and explained[0].why["n_tasks"] <= 3
    assert [s.config for s in explained] == optimizer.suggest(_history([]), n=3)
    study = mh.create_study(space=SPACE, optimizer=optimizer, seed=0)
    handle = study.ask()
    study.tell(handle, 1.0)
    assert study.trials[0].user_attrs["why"]["source"] == "portfolio"
