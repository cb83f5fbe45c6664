"""Optuna's own sampler conformance suites, run against MetaHPOSampler.

Skipped from Optuna's suites, and why:

* ``MultiObjectiveSamplerTestCase``: metahpo studies have one objective; the sampler
  raises ``ValueError`` for multi-objective studies (``SingleOnlySamplerTestCase`` checks
  that, and runs).

Every test of ``BasicSamplerTestCase`` and ``RelativeSamplerTestCase`` runs.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

from optuna.testing.pytest_samplers import (  # noqa: E402
    BasicSamplerTestCase,
    RelativeSamplerTestCase,
    SingleOnlySamplerTestCase,
)

from metahpo.integrations.optuna import MetaHPOSampler, knowledge_from_optuna  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


class TestMetaHPOSampler(BasicSamplerTestCase, RelativeSamplerTestCase, SingleOnlySamplerTestCase):
    @pytest.fixture
    def sampler(self):  # type: ignore[no-untyped-def]
        return lambda: MetaHPOSampler(optimizer="auto", seed=0)


def _objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -3.0, 3.0)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    return (x - 1.0) ** 2 + (0.0 if kind == "a" else 1.0)


def _past_knowledge():  # type: ignore[no-untyped-def]
    past = []
    for i in range(3):
        study = optuna.create_study(study_name=f"past-{i}", sampler=optuna.samplers.RandomSampler(seed=i))
        study.optimize(_objective, n_trials=15)
        past.append(study)
    kb = knowledge_from_optuna(past)
    assert kb.names == ["past-0", "past-1", "past-2"]
    return kb


def test_past_optuna_studies_warm_start_a_new_one() -> None:
    kb = _past_knowledge()
    study = optuna.create_study(sampler=MetaHPOSampler(optimizer="portfolio", knowledge=kb, seed=0))
    study.optimize(_objective, n_trials=4)
    # The portfolio's first configs are the past studies' best: near x = 1, kind "a".
    assert study.best_value < 0.5
    # The same seed gives the same proposals.
    again = optuna.create_study(sampler=MetaHPOSampler(optimizer="portfolio", knowledge=kb, seed=0))
    again.optimize(_objective, n_trials=4)
    assert [t.params for t in again.trials] == [t.params for t in study.trials]


@pytest.mark.slow
def test_auto_is_metabo_with_enough_past_studies() -> None:
    sampler = MetaHPOSampler(knowledge=_past_knowledge(), seed=0)
    study = optuna.create_study(sampler=sampler)
    study.optimize(_objective, n_trials=5)
    assert type(next(iter(sampler._proposers.values())).optimizer).__name__ == "MetaBO"
    assert study.best_value < 1.0


def test_maximize_and_stepped_distributions_stay_on_their_grid() -> None:
    study = optuna.create_study(direction="maximize", sampler=MetaHPOSampler(optimizer="gpbo", seed=1))
    study.optimize(lambda t: -abs(t.suggest_float("x", 0, 1, step=0.25) - 0.5) + t.suggest_int("n", 2, 10, step=2), n_trials=10)
    for t in study.trials:
        assert t.params["x"] in (0.0, 0.25, 0.5, 0.75, 1.0) and t.params["n"] in (2, 4, 6, 8, 10)


def test_stepped_distributions_keep_their_grid_values_in_knowledge() -> None:
    from optuna.distributions import FloatDistribution

    from metahpo.integrations.optuna import space_from_distributions

    past = []
    for i in range(3):
        study = optuna.create_study(study_name=f"grid-{i}", sampler=optuna.samplers.RandomSampler(seed=i))
        study.optimize(lambda t: t.suggest_float("dropout", 0.1, 0.5, step=0.1), n_trials=8)
        past.append(study)
    kb = knowledge_from_optuna(past)
    # The grid's values, not its index: 0.5 on the old grid is not index 4 of another.
    for study, name in zip(past, kb.names, strict=True):
        values = [t.params["dropout"] for t in study.trials]
        assert [c["dropout"] for c in kb[name].configs] == pytest.approx(values)
    other = space_from_distributions({"dropout": FloatDistribution(0.0, 0.4, step=0.1)})
    assert kb["grid-0"].space.fingerprint() != other.fingerprint()
    for task in kb.tasks(other):  # rows at 0.5 have no place on the other grid
        assert all(c["dropout"] in (0.1, 0.2, 0.3, 0.4) for c in task.configs)


def test_a_fine_grid_is_searched_over_its_range_and_rounded_onto_it() -> None:
    study = optuna.create_study(sampler=MetaHPOSampler(optimizer="gpbo", seed=0))
    study.optimize(lambda t: (t.suggest_int("m", 0, 1000, step=2) - 500) ** 2, n_trials=8)
    assert all(t.params["m"] % 2 == 0 for t in study.trials)


def test_the_sobol_optimizer_takes_one_sequence_from_trial_to_trial() -> None:
    study = optuna.create_study(sampler=MetaHPOSampler(optimizer="sobol", seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_float("y", 0, 1), n_trials=8)
    # The first trial is Optuna's independent draw; the next seven are Sobol points.
    cells = {int(t.params["x"] * 8) for t in study.trials[1:]}
    assert len(cells) == 7


def test_choices_metahpo_cannot_hold_are_sampled_independently() -> None:
    import warnings

    study = optuna.create_study(sampler=MetaHPOSampler(optimizer="gpbo", seed=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna's own warning about tuple choices
        study.optimize(lambda t: t.suggest_float("x", 0, 1) + len(t.suggest_categorical("h", [(50,), (100, 50)]))
                       + t.suggest_categorical("r", [1, 1.0, 2]), n_trials=5, catch=())
    assert len(study.trials) == 5 and all(t.state.name == "COMPLETE" for t in study.trials)


def test_an_unknown_optimizer_is_refused_before_a_trial_runs() -> None:
    from metahpo.exceptions import InvalidParameterError

    with pytest.raises(InvalidParameterError, match=r"'optimizer' parameter of MetaHPOSampler.*'tpe'"):
        MetaHPOSampler(optimizer="tpe")


@pytest.mark.parametrize(("seed", "shown"), [(-1, "-1"), (2**32, "4294967296"), (2.5, "2.5"), ("3", "'3'"),
                                             (True, "True")])
def test_a_bad_seed_is_refused_naming_the_parameter(seed, shown) -> None:
    from metahpo.exceptions import InvalidParameterError

    # Before: NumPy's "expected non-negative integer", or a failure at the first trial.
    with pytest.raises(InvalidParameterError, match=rf"The 'seed' parameter of MetaHPOSampler must be an "
                       rf"int >= 0.* Got {re.escape(shown)} instead"):
        MetaHPOSampler(optimizer="random", seed=seed)
    assert MetaHPOSampler(optimizer="random", seed=np.int64(2**32 - 1)).seed == 2**32 - 1


@pytest.mark.parametrize("optimizer", ["sobol", "gpbo"])
def test_failed_and_pruned_trials_are_not_proposed_again(optimizer: str) -> None:
    study = optuna.create_study(sampler=MetaHPOSampler(optimizer=optimizer, seed=0))

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        if trial.number in (2, 3):
            raise optuna.TrialPruned()
        if trial.number == 4:
            raise ValueError("diverged")
        return x

    study.optimize(objective, n_trials=8, catch=(ValueError,))
    xs = [t.params["x"] for t in study.trials]
    assert len(set(xs)) == len(xs)  # each failure or prune was not the next draw again


def test_a_finished_trial_outside_todays_range_is_passed_over() -> None:
    study = optuna.create_study(sampler=MetaHPOSampler(optimizer="gpbo", seed=0))
    with pytest.warns(UserWarning, match="out of range"):
        study.enqueue_trial({"x": 5.0})  # last project's best, outside today's range
        study.optimize(lambda t: (t.suggest_float("x", 0, 1) - 0.3) ** 2, n_trials=4)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.COMPLETE] * 4


@pytest.mark.parametrize("optimizer", ["sobol", "gpbo"])
def test_under_hyperband_pruning_each_bracket_does_not_replay_the_same_configs(optimizer: str) -> None:
    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        for step in range(9):
            trial.report((x - 0.3) ** 2 + 1 / (step + 1), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return (x - 0.3) ** 2

    pruner = optuna.pruners.HyperbandPruner(min_resource=1, max_resource=9)
    study = optuna.create_study(sampler=MetaHPOSampler(optimizer=optimizer, seed=0), pruner=pruner)
    study.optimize(objective, n_trials=16)
    xs = [t.params["x"] for t in study.trials]
    assert len(set(xs)) == len(xs)


def test_one_sampler_serves_one_study_after_another() -> None:
    sampler = MetaHPOSampler(optimizer="gpbo", seed=0)
    for name in ("x", "lr"):
        study = optuna.create_study(sampler=sampler)
        study.optimize(lambda t, name=name: (t.suggest_float(name, 0, 1) - 0.9) ** 2, n_trials=6)
        assert set(sampler.infer_relative_search_space(study, study.trials[-1])) == {name}


def test_a_parallel_trial_whose_params_are_not_all_stored_yet_is_pending_for_the_next() -> None:
    sampler = MetaHPOSampler(optimizer="gpbo", seed=0)
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: (t.suggest_float("x", -2, 2) - 0.5) ** 2 + (t.suggest_float("y", -2, 2) + 0.3) ** 2,
                   n_trials=6)
    histories = []
    history_of = sampler._history
    sampler._history = lambda *args: histories.append(history_of(*args)) or histories[-1]  # type: ignore[method-assign]
    # Optuna stores a relative proposal's params one by one, as the objective asks: the
    # first trial holds x only when the second is proposed.
    first = study.ask()
    first.suggest_float("x", -2, 2)
    second = study.ask()
    second.suggest_float("x", -2, 2)
    pending = [t for t in histories[-1].trials if t.state.name == "RUNNING"]
    assert len(pending) == 1 and pending[0].config["x"] == first.params["x"]
    assert first.suggest_float("y", -2, 2) == pending[0].config["y"]  # the proposal it holds


def test_a_trial_another_process_has_in_flight_is_pending_too(tmp_path) -> None:
    # Two processes on one RDB study: each has its own sampler and reads the other's
    # trials from the database, where a proposal's params are not stored yet.
    url = f"sqlite:///{tmp_path / 'optuna.db'}"

    def objective(t):
        return (t.suggest_float("x", -2, 2) - 0.5) ** 2 + (t.suggest_float("y", -2, 2) + 0.3) ** 2

    optuna.create_study(study_name="s", storage=url, sampler=MetaHPOSampler(optimizer="gpbo", seed=0)).optimize(
        objective, n_trials=6)
    one = optuna.load_study(study_name="s", storage=url, sampler=MetaHPOSampler(optimizer="gpbo", seed=0))
    other_sampler = MetaHPOSampler(optimizer="gpbo", seed=0)
    other = optuna.load_study(study_name="s", storage=url, sampler=other_sampler)
    histories = []
    history_of = other_sampler._history
    other_sampler._history = lambda *args: histories.append(history_of(*args)) or histories[-1]  # type: ignore[method-assign]
    first = one.ask()
    first.suggest_float("x", -2, 2)  # proposed x and y; y is stored when the objective asks
    second = other.ask()
    second.suggest_float("x", -2, 2)
    pending = [t for t in histories[-1].trials if t.state.name == "RUNNING"]
    assert len(pending) == 1 and pending[0].config["x"] == first.params["x"]
    assert first.suggest_float("y", -2, 2) == pending[0].config["y"]  # the proposal it holds
