"""Presets: spaces, builders, objectives, bundled knowledge and ready meta-models."""

from __future__ import annotations

import importlib.util
import math
import warnings

import numpy as np
import pytest

import metahpo as mh
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge import bundled_meta_model, bundled_names
from metahpo.presets import Split

REQUIRED = (
    "hgb-classifier",
    "hgb-regressor",
    "random-forest-classifier",
    "logistic-regression",
    "xgboost-classifier",
    "lightgbm-classifier",
    "mlp-classifier",
)


def installed(preset: str) -> bool:
    extra = mh.presets.get(preset).extra
    return extra is None or importlib.util.find_spec(extra) is not None


def tiny_data(task_type: str, n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 4))
    if task_type == "classification":
        return X, np.where(X[:, 0] + 0.5 * X[:, 1] > 0, "yes", "no")
    return X, X[:, 0] * 3.0 + rng.normal(scale=0.1, size=n)


class StubTrial:
    def __init__(self, config: dict, budget: float | None) -> None:
        self.config = config
        self.budget = budget


def test_names_cover_the_required_families() -> None:
    assert set(REQUIRED) <= set(mh.presets.names())
    rows = {info.name: info for info in mh.presets.list_presets()}
    assert set(rows) == set(mh.presets.names())
    assert rows["xgboost-classifier"].tasks == 44 and rows["xgboost-classifier"].configs == 128
    assert rows["xgboost-classifier"].evaluations == 44 * 128 * 4


def test_bad_name_lists_the_presets() -> None:
    with pytest.raises(
        InvalidParameterError, match=r"'preset' parameter.*lightgbm-classifier.*Got 'lgbm'"
    ):
        mh.presets.get("lgbm")
    with pytest.raises(InvalidParameterError, match="xgboost-classifier"):
        mh.create_study(preset="xgb")


@pytest.mark.parametrize("name", REQUIRED)
def test_space_validates_and_build_fits_at_both_budget_ends(name: str) -> None:
    if not installed(name):
        pytest.skip(f"{name} needs the {mh.presets.get(name).extra!r} extra")
    preset = mh.presets.get(name)
    configs = preset.space.sobol(2, seed=1)
    assert [preset.space.validate(c) for c in configs] == configs
    X, y = tiny_data(preset.task_type)
    if preset.task_type == "classification":
        y = np.unique(y, return_inverse=True)[1]  # XGBoost takes labels 0..K-1 only
    for budget in (preset.min_budget, preset.max_budget):
        model = preset.build(configs[0], budget)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # one L-BFGS iteration does not converge, on purpose
            model.fit(X, y)
        assert len(model.predict(X)) == len(y)


@pytest.mark.parametrize("name", REQUIRED)
def test_objective_is_finite_and_honours_the_budget(name: str) -> None:
    if not installed(name):
        pytest.skip(f"{name} needs the {mh.presets.get(name).extra!r} extra")
    preset = mh.presets.get(name)
    X, y = tiny_data(preset.task_type)
    objective = mh.presets.objective(name, X, y, cv=2)
    config = (
        preset.space.sobol(1, seed=3)[0]
        if name != "mlp-classifier"
        else {
            "learning_rate": 0.01,
            "width": 16,
            "weight_decay": 1e-4,
            "dropout": 0.0,
            "batch_size": 64,
        }
    )
    low = objective(StubTrial(config, preset.min_budget))
    high = objective(StubTrial(config, None))
    assert math.isfinite(low) and math.isfinite(high)
    assert low != high  # the budget changed the model
    assert high == objective(StubTrial(config, preset.max_budget))
    with pytest.raises(InvalidParameterError, match="'budget' parameter"):
        objective(StubTrial(config, preset.max_budget + 1))


def test_staged_losses_equal_fresh_fits() -> None:
    preset = mh.presets.get("hgb-classifier")
    X, y = tiny_data("classification")
    labels = np.unique(y, return_inverse=True)[1]
    split = Split(X[:40], labels[:40], X[40:], labels[40:], "classification", 2)
    config = preset.space.sobol(1, seed=0)[0]
    staged = preset.validation_losses(config, split, [2, 5])
    fresh = [preset.validation_losses(config, split, [b])[0] for b in (2, 5)]
    assert staged == pytest.approx(fresh)


def test_scoring_is_checked() -> None:
    X, y = tiny_data("regression")
    with pytest.raises(InvalidParameterError, match=r"'scoring' parameter.*'1-r2', 'rmse'"):
        mh.presets.objective("hgb-regressor", X, y, scoring="log_loss")


@pytest.mark.parametrize(("task_type", "preset"), [("classification", "logistic-regression"),
                                                   ("regression", "hgb-regressor")])
@pytest.mark.parametrize("seed", [-1, 2**32, 0.5])
def test_the_seed_is_checked(task_type: str, preset: str, seed: object) -> None:
    # A NumPy ValueError from inside scikit-learn's splitter, as a traceback from the CLI.
    X, y = tiny_data(task_type)
    with pytest.raises(InvalidParameterError, match=r"'seed' parameter of the .* preset's objective"):
        mh.presets.objective(preset, X, y, seed=seed)


@pytest.mark.parametrize("name", REQUIRED)
def test_bundle_size_descriptors_and_meta_model(name: str) -> None:
    preset = mh.presets.get(name)
    assert preset.knowledge_name in bundled_names()
    size = preset.knowledge_size()
    assert size["tasks"] >= 40
    assert len(size["budgets"]) >= 3
    assert size["configs"] >= 128
    assert size["evaluations"] == size["tasks"] * size["configs"] * len(size["budgets"])
    tasks = preset.knowledge().tasks(preset.space)
    assert len(tasks) == size["tasks"]
    assert all(task.descriptor and "n_samples" in task.descriptor for task in tasks)
    model = preset.meta_model()
    assert model is not None
    from metahpo.surrogates import SpaceEncoding

    assert model.n_features == SpaceEncoding(preset.space).n_features
    # The trend weight's prior ships with the model, measured on the bundle's tasks.
    mean, std = model.info["trend_prior"]
    assert np.isfinite(mean) and 0.0 < std < 1.0
    # The one for studies under a scheduler: a budget column over the bundle's budgets.
    with_budgets = bundled_meta_model(preset.knowledge_name, budgets=True)
    low, high = min(size["budgets"]), max(size["budgets"])
    assert with_budgets.info["budget_range"] == [low, high]
    assert with_budgets.n_features == SpaceEncoding(preset.space, low, high).n_features
    assert np.isfinite(with_budgets.info["trend_prior"][0])


def test_create_study_with_a_preset_uses_its_space_and_bundle() -> None:
    X, y = tiny_data("classification")
    study = mh.create_study(preset="hgb-classifier", task=mh.Task.from_data(X, y), seed=0)
    preset = mh.presets.get("hgb-classifier")
    assert study.space.fingerprint() == preset.space.fingerprint()
    assert study.optimizer.name == "metabo"
    assert study.optimizer.knowledge.spec in (
        f"bundled:{preset.knowledge_name}",
        [f"bundled:{preset.knowledge_name}"],
    )
    assert study.optimizer._provider.initial is not None  # the shipped meta-model
    gp = mh.create_study(preset="hgb-classifier", optimizer="gpbo", seed=0)
    assert gp.optimizer.name == "gpbo"


def test_a_scheduler_over_the_bundles_budgets_starts_from_the_shipped_model(no_meta_training, tmp_path) -> None:
    X, y = tiny_data("classification")
    objective = mh.presets.objective("hgb-classifier", X, y, cv=2)
    url = f"sqlite:///{tmp_path / 's.db'}"

    def study(min_budget: int) -> mh.Study:
        study = mh.create_study(name=f"hb{min_budget}", storage=url, preset="hgb-classifier",
                                task=mh.Task.from_data(X, y), seed=0,
                                scheduler=mh.Hyperband(min_budget=min_budget, max_budget=81, eta=3))
        study.optimize(objective, n_trials=3, show_progress=False)  # the warm start
        return study

    # The bundle's budgets are 3 to 81: the shipped model with a budget column, also for
    # the study reopened from its storage (its spec does not hold the models).
    study(3)
    reopened = mh.load_study("hb3", storage=url)
    stored = reopened.storage.get_study("hb3").optimizer
    assert reopened.optimizer.state_dict() == stored["state"]  # rebuilt with its stored state
    reopened.optimize(objective, n_trials=1, show_progress=False)
    assert reopened.trials[-1].user_attrs["why"]["source"] == "surrogate"
    # Another range: the budget column would mean other budgets, so it meta-trains.
    other = study(9)
    with pytest.raises(no_meta_training):
        other.ask()


def test_a_shipped_model_starts_only_a_study_of_the_space_it_was_trained_on(no_meta_training) -> None:
    X, y = tiny_data("classification")
    objective = mh.presets.objective("hgb-classifier", X, y, cv=2)
    space = mh.presets.get("hgb-classifier").space.to_dict()
    narrower = mh.Space.from_dict({**space, "learning_rate": {**space["learning_rate"], "low": 0.01, "high": 0.3}})
    studies = {
        # The regressor's model has as many inputs; its last one is another parameter. (A
        # study of the space, with no task and no preset, records no kind of problem: the
        # regressor's tasks count.)
        "another bundle": dict(space=mh.Space.from_dict(space), knowledge="bundled:hgb-regressor", task=None),
        # Same names and width; the learning rate's column means other values.
        "other bounds": dict(space=narrower, knowledge="bundled:hgb-classifier", task=mh.Task.from_data(X, y)),
    }
    for name, settings in studies.items():
        study = mh.create_study(seed=0, optimizer="auto", **settings)
        assert study.optimizer.name == "metabo", name
        assert "ready-trained" not in study.user_attrs["optimizer_choice"]["reason"], name
        study.optimize(objective, n_trials=3, show_progress=False)  # the warm start
        with pytest.raises(no_meta_training):
            study.ask()
    same = mh.create_study(preset="hgb-classifier", task=mh.Task.from_data(X, y), seed=0)
    assert "ready-trained" in same.user_attrs["optimizer_choice"]["reason"]
    same.optimize(objective, n_trials=4, show_progress=False)
    assert same.trials[-1].user_attrs["why"]["source"] == "surrogate"


def test_a_preset_study_resumes_with_auto_whichever_optimizer_it_was_created_with(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    for optimizer in ("random", "metabo"):
        made = mh.create_study(name=optimizer, preset="logistic-regression", storage=url,
                               optimizer=optimizer, seed=0)
        made.tell(made.ask(), 0.5)
        # "auto" stands for the stored optimizer, which keeps its own knowledge: the random
        # search was refused the preset's knowledge it had never had.
        again = mh.create_study(name=optimizer, preset="logistic-regression", storage=url,
                                load_if_exists=True)
        assert again.optimizer.name == optimizer
        if optimizer == "metabo":
            assert again.optimizer.knowledge.spec == made.optimizer.knowledge.spec
        again.tell(again.ask(), 0.25)
        assert [t.value for t in again.trials] == [0.5, 0.25]


def test_create_study_refuses_another_space_with_a_preset() -> None:
    other = mh.Space({"x": mh.Float(0.0, 1.0)})
    with pytest.raises(InvalidParameterError, match=r"'space' parameter.*'hgb-classifier' preset"):
        mh.create_study(preset="hgb-classifier", space=other)
    same = mh.presets.get("hgb-classifier").space
    assert mh.create_study(preset="hgb-classifier", space=same, optimizer="random").space == same


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from metahpo.presets._boosting import import_extra

    monkeypatch.setitem(sys.modules, "lightgbm", None)  # makes `import lightgbm` fail
    with pytest.raises(ImportError, match=r"metahpo\[lightgbm\]"):
        import_extra("lightgbm", "lightgbm")
    with pytest.raises(ImportError, match=r"metahpo\[lightgbm\]"):
        mh.presets.get("lightgbm-classifier").build(
            mh.presets.get("lightgbm-classifier").space.sobol(1, seed=0)[0], 3
        )
    # Before any trial: each failed on the import, and the study held only FAILED trials.
    X, y = tiny_data("classification")
    with pytest.raises(ImportError, match=r"metahpo\[lightgbm\]"):
        mh.presets.objective("lightgbm-classifier", X, y)


def test_values_the_model_would_overflow_on_are_refused_before_any_trial() -> None:
    X, y = tiny_data("classification")
    # The MLP standardises its features (squaring them): at 1e155 every one became 0.
    with pytest.raises(InvalidParameterError, match=r"'X' parameter .* within ±1e\+150"):
        mh.presets.objective("mlp-classifier", X * 1e155, y, cv=2)
    X, target = tiny_data("regression")
    # The regression loss squares the errors: every trial scored NaN.
    with pytest.raises(InvalidParameterError, match=r"'y' parameter .* within ±1e\+150"):
        mh.presets.objective("hgb-regressor", X, target * 1e160, cv=2)
    mh.presets.objective("hgb-regressor", X, target * 1e100, cv=2)  # large, and fine


def test_task_from_data_names_an_infinite_target_whatever_the_task_type() -> None:
    X, target = tiny_data("regression")
    target[3] = np.inf
    with pytest.raises(InvalidParameterError, match=r"'y' parameter of Task\.from_data must be finite\. Got 1"):
        mh.Task.from_data(X, target)


@pytest.mark.parametrize("budgets", [[], 9, "9"])
def test_validation_losses_names_budgets_that_are_not_a_list(budgets: object) -> None:
    X, y = tiny_data("classification")
    preset = mh.presets.get("hgb-classifier")
    split = Split(X[:40], (y[:40] == "yes").astype(int), X[40:], (y[40:] == "yes").astype(int),
                  "classification", 2)
    config = preset.space.sobol(1, seed=0)[0]
    with pytest.raises(InvalidParameterError, match=r"'budgets' parameter of Preset\.validation_losses"):
        preset.validation_losses(config, split, budgets)  # type: ignore[arg-type]
