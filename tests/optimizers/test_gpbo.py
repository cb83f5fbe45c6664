"""GP-BO behind the Optimizer protocol: design, state, pending trials, budgets, quality."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import wilcoxon

import metahpo as mh
from metahpo.exceptions import InvalidParameterError
from metahpo.history import History, history_from
from metahpo.optimizers import GPBO, Optimizer, make_optimizer, optimizer_spec
from metahpo.trial import FrozenTrial, TrialState

SPACE = mh.Space({"x": mh.Float(-2.0, 2.0), "y": mh.Float(-2.0, 2.0)})


def _quadratic(config: dict) -> float:
    return (config["x"] - 0.7) ** 2 + (config["y"] + 0.4) ** 2


def _run(
    optimizer: Optimizer,
    n_trials: int,
    space: mh.Space = SPACE,
    objective=_quadratic,
    seed: int = 0,
    **history_kwargs,
) -> list[FrozenTrial]:
    trials: list[FrozenTrial] = []
    for number in range(n_trials):
        history = history_from(space, trials, seed=seed, **history_kwargs)
        config = optimizer.suggest(history, 1)[0]
        assert space.contains(config)
        trials.append(
            FrozenTrial(
                number,
                TrialState.COMPLETE,
                config,
                value=objective(config),
                budget=history_kwargs.get("max_budget"),
            )
        )
    return trials


def test_conforms_to_the_protocol_and_registry() -> None:
    assert isinstance(GPBO(), Optimizer)
    assert isinstance(make_optimizer("gpbo"), GPBO)
    spec = optimizer_spec(GPBO(acquisition="lcb", beta=1.5))
    rebuilt = make_optimizer(json.loads(json.dumps(spec)))
    assert isinstance(rebuilt, GPBO) and rebuilt.get_params() == spec["params"]


def test_initial_design_is_the_sobol_sequence() -> None:
    trials = _run(GPBO(), 3)  # d + 1 = 3
    sobol = SPACE.sobol(3, seed=0)
    assert [t.config for t in trials] == sobol


def test_why_tells_the_sobol_design_from_the_gp_proposals() -> None:
    study = mh.create_study(space=SPACE, optimizer="gpbo", seed=0)
    study.optimize(lambda t: _quadratic(t.config), n_trials=5, show_progress=False)
    # d + 1 = 3 design points, then the GP's: `metahpo show --explain` and the history
    # plot said "gpbo" for the design too.
    sources = [t.user_attrs["why"]["source"] for t in study.trials]
    assert sources == ["sobol"] * 3 + ["gpbo"] * 2


def test_state_dict_is_json_and_restores_the_suggestion() -> None:
    first = GPBO()
    trials = _run(first, 8)
    history = history_from(SPACE, trials, seed=0)
    state = json.loads(json.dumps(first.state_dict()))
    assert len(state["hyperparameters"]["lengthscales"]) == 2
    second = GPBO()
    second.load_state_dict(state)
    third = GPBO()
    third.load_state_dict(state)
    assert second.suggest(history, 1) == third.suggest(history, 1)


def test_finds_the_minimum_of_a_quadratic() -> None:
    trials = _run(GPBO(), 15)
    assert min(t.value for t in trials) < 1e-2


def test_pending_configs_are_not_proposed_again_and_a_batch_is_distinct() -> None:
    trials = _run(GPBO(), 10)
    history = history_from(SPACE, trials, seed=0)
    proposal = GPBO().suggest(history, 1)[0]
    running = FrozenTrial(10, TrialState.RUNNING, proposal)
    with_pending = history_from(SPACE, [*trials, running], seed=0)
    second = GPBO().suggest(with_pending, 1)[0]
    distance = np.hypot(second["x"] - proposal["x"], second["y"] - proposal["y"])
    assert distance > 1e-3
    batch = GPBO().suggest(history, 4)
    points = np.array([[c["x"], c["y"]] for c in batch])
    gaps = [np.linalg.norm(points[i] - points[j]) for i in range(4) for j in range(i)]
    assert min(gaps) > 1e-3


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_config_whose_trial_was_pruned_is_not_proposed_again(seed: int) -> None:
    # Six configs; the best is pruned whenever it runs, so the surrogate never sees its
    # loss and, without taking it, would keep asking for it. The losses have no ties,
    # and six trials leave a new config to propose every time.
    space = mh.Space({"b": mh.Int(0, 5)})

    def objective(trial: mh.Trial) -> float:
        if trial.config["b"] == 3:
            raise mh.TrialPruned()
        return (trial.config["b"] - 3.3) ** 2

    study = mh.create_study(space=space, optimizer=GPBO(n_initial=2), seed=seed)
    study.optimize(objective, n_trials=6, show_progress=False)
    assert [t.config["b"] for t in study.trials].count(3) <= 1


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_an_exhausted_space_repeats_a_completed_config_not_a_failed_one(seed: int) -> None:
    # Three configs, one of which crashes: once all three are evaluated a repeat is
    # unavoidable, and it should be of a config that completed.
    space = mh.Space({"c": mh.Categorical(["a", "b", "c"])})

    def objective(trial: mh.Trial) -> float:
        if trial.config["c"] == "a":
            raise RuntimeError("this config always crashes")
        return {"b": 1.0, "c": 2.0}[trial.config["c"]]

    study = mh.create_study(space=space, optimizer=GPBO(n_initial=2), seed=seed)
    study.optimize(objective, n_trials=9, show_progress=False)
    assert len(study.trials) == 9
    assert [t.config["c"] for t in study.trials].count("a") <= 1


def test_an_exhausted_space_repeats_a_completed_config_even_when_few_completed() -> None:
    # 300 configs, all evaluated, two of them completed: a random draw would almost always
    # land on one that failed.
    space = mh.Space({"c": mh.Categorical([f"k{i}" for i in range(300)])})
    study = mh.create_study(space=space, optimizer=GPBO(n_initial=2), seed=0)
    for i in range(300):
        study.enqueue({"c": f"k{i}"})
        trial = study.ask()
        if i in (7, 150):
            study.tell(trial, float(i))
        else:
            study.tell(trial, state="FAILED")
    for _ in range(3):
        trial = study.ask()
        assert trial.config["c"] in ("k7", "k150")
        study.tell(trial, 1.0)


def test_mixed_space_suggestions_are_valid_and_new() -> None:
    space = mh.Space(
        {
            "lr": mh.Float(1e-4, 1.0, log=True),
            "depth": mh.Int(1, 6),
            "act": mh.Categorical(["relu", "tanh", "gelu"]),
        }
    )

    def objective(config: dict) -> float:
        penalty = {"relu": 0.5, "tanh": 0.0, "gelu": 0.3}[config["act"]]
        return (np.log10(config["lr"]) + 2) ** 2 + (config["depth"] - 4) ** 2 / 4 + penalty

    trials = _run(GPBO(), 20, space=space, objective=objective)
    keys = {json.dumps(t.config, sort_keys=True) for t in trials}
    assert len(keys) == len(trials)
    assert min(t.value for t in trials) < 0.3


def test_models_budgets_and_targets_the_maximum_budget() -> None:
    rng = np.random.default_rng(0)
    trials = []
    for number, config in enumerate(SPACE.sample(rng, 12)):
        budget = [1.0, 3.0, 9.0][number % 3]
        trials.append(
            FrozenTrial(
                number,
                TrialState.COMPLETE,
                config,
                budget=budget,
                value=_quadratic(config) + 1.0 / budget,
            )
        )
    history = history_from(SPACE, trials, seed=0, min_budget=1.0, max_budget=9.0)
    optimizer = GPBO()
    config = optimizer.suggest(history, 1)[0]
    assert SPACE.contains(config)
    assert len(optimizer.state_dict()["hyperparameters"]["lengthscales"]) == 3  # x, y, budget


def test_maximize_direction_through_a_study() -> None:
    study = mh.create_study(space=SPACE, optimizer=GPBO(), seed=1, direction="maximize")
    study.optimize(lambda t: -_quadratic(t.config), n_trials=14, show_progress=False)
    assert study.best_value > -0.05


def test_same_seed_same_trajectory() -> None:
    first = [t.config for t in _run(GPBO(), 7, seed=3)]
    second = [t.config for t in _run(GPBO(), 7, seed=3)]
    assert first == second


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"acquisition": "ei"}, "acquisition"),
        ({"n_initial": 0}, "n_initial"),
        ({"beta": -1.0}, "beta"),
        ({"output_transform": "boxcox"}, "output_transform"),
        ({"proximal_penalty": -1.0}, "proximal_penalty"),
    ],
)
def test_rejects_bad_parameters(params: dict, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        GPBO(**params)


def _regret(optimizer: str, problem_name: str, seed: int, n_trials: int = 30) -> float:
    from metahpo.testing.synthetic import Branin, Hartmann6

    problem = {"branin": Branin, "hartmann6": Hartmann6}[problem_name]()
    study = mh.create_study(space=problem.space, optimizer=optimizer, seed=seed)
    study.optimize(
        lambda t: problem.evaluate("0", t.config), n_trials=n_trials, show_progress=False
    )
    return study.best_value - problem.optimum("0")


@pytest.mark.timeout(3600)  # 20 studies of 30 trials; minutes on a busy machine
@pytest.mark.parametrize("problem_name", ["branin", "hartmann6"])
def test_beats_random_search_at_30_trials_over_10_seeds(problem_name: str) -> None:
    gp = np.array([_regret("gpbo", problem_name, seed) for seed in range(10)])
    random = np.array([_regret("random", problem_name, seed) for seed in range(10)])
    # One-sided Wilcoxon signed-rank test over the seeds, plus a clear gap in medians.
    assert wilcoxon(gp, random, alternative="less").pvalue < 0.01
    assert np.median(gp) < 0.5 * np.median(random)


def test_history_without_observations_falls_back_to_sobol() -> None:
    running = FrozenTrial(0, TrialState.RUNNING, SPACE.sobol(1, seed=0)[0])
    history = History(SPACE, (running,), seed=0)
    configs = GPBO(n_initial=1).suggest(history, 2)
    assert len(configs) == 2 and all(SPACE.contains(c) for c in configs)


@pytest.mark.parametrize("scheduler", ["Hyperband", "ASHA", "SuccessiveHalving"])
def test_runs_under_every_scheduler(scheduler: str) -> None:
    from metahpo.testing.synthetic import MultiFidelityBranin

    problem = MultiFidelityBranin()
    scheduler_obj = getattr(mh, scheduler)(
        min_budget=problem.min_budget, max_budget=problem.max_budget, eta=3
    )
    optimizer = GPBO()
    study = mh.create_study(
        space=problem.space, optimizer=optimizer, scheduler=scheduler_obj, seed=0
    )
    study.optimize(
        lambda t: problem.evaluate("0", t.config, t.budget), n_trials=12, show_progress=False
    )
    assert all(problem.space.contains(t.config) for t in study.trials)
    assert all(t.budget is not None for t in study.trials)
    # The GP modelled the budget as an input: one lengthscale per parameter plus one.
    assert len(optimizer.state_dict()["hyperparameters"]["lengthscales"]) == len(problem.space) + 1


def _log_normal_losses(config: dict) -> float:
    return float(np.exp(4.0 * _quadratic(config)))


def test_auto_transform_is_chosen_on_cold_fits_and_kept_by_warm_ones(monkeypatch) -> None:
    from metahpo.surrogates import ExactGP

    fits: list[tuple[int, str, str]] = []
    original = ExactGP.fit

    def recording_fit(self, X, y):
        fitted = original(self, X, y)
        fits.append((len(y), self.output_transform, fitted.transform_.kind))
        return fitted

    monkeypatch.setattr(ExactGP, "fit", recording_fit)
    optimizer = GPBO(output_transform="auto")
    trials = _run(optimizer, 41, objective=_log_normal_losses)
    by_size = {n: (asked, chosen) for n, asked, chosen in fits}
    # Up to 30 observations (and at 40) every fit compares the transforms ...
    assert all(by_size[n][0] == "auto" for n in (3, 20, 30, 40))
    # ... and warm fits in between reuse the last choice instead of comparing again.
    assert by_size[31][0] == by_size[30][1] and by_size[39][0] == by_size[30][1]
    # The losses are log-normal in a smooth function: the log scale wins.
    assert by_size[30][1] == "log"
    state = json.loads(json.dumps(optimizer.state_dict()))
    assert state["output_transform"] == by_size[40][1]
    restored = GPBO(output_transform="auto")
    restored.load_state_dict(state)
    history = history_from(SPACE, trials, seed=0)
    assert restored.suggest(history, 1) == optimizer.suggest(history, 1)


@pytest.mark.parametrize("transform", ["boxcox", "auto", 3])
def test_state_with_an_unknown_output_transform_is_refused(transform: object) -> None:
    # "auto" is a choice among transforms, never the transform a fit used.
    with pytest.raises(InvalidParameterError, match="output_transform"):
        GPBO().load_state_dict({"hyperparameters": None, "output_transform": transform})


@pytest.mark.filterwarnings("error")  # NumPy's overflow RuntimeWarnings among them
@pytest.mark.parametrize("output_transform", ["auto", "standardize", "log", "rank", "none"])
def test_losses_near_the_largest_float_are_modelled_without_overflow(output_transform: str) -> None:
    study = mh.create_study(space=SPACE, optimizer=GPBO(output_transform=output_transform), seed=0)
    for value in (1e307, -1e307, 5e306, 1.7e308, -1.7e308, 2e306, 0.0):
        study.tell(study.ask(), value)
    trial = study.ask()  # pending: a liar at the worst loss joins the next fit
    study.tell(study.ask(), 3e307)
    study.tell(trial, -4e306)
    assert [t.user_attrs["why"]["source"] for t in study.trials[3:]] == ["gpbo"] * 6


@pytest.mark.filterwarnings("error")
def test_huge_losses_suggest_what_the_same_losses_divided_by_a_power_of_two_do() -> None:
    # Standardised, losses and their multiples by 2**1000 (about 1e301) are one model.
    small = _run(GPBO(output_transform="standardize"), 8)
    huge = _run(GPBO(output_transform="standardize"), 8, objective=lambda c: 2.0**1000 * _quadratic(c))
    assert [t.config for t in huge] == [t.config for t in small]
