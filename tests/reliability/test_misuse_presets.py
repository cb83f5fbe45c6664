"""Data a preset's objective or a task descriptor cannot learn from is refused naming what
is wrong; data they can learn from (rare classes, missing features) is taken."""

from __future__ import annotations

import numpy as np
import pytest

import metahpo as mh
from metahpo.exceptions import InvalidParameterError


@pytest.mark.parametrize(
    ("preset", "y", "match"),
    [
        ("logistic-regression", np.zeros(40, dtype=int), "two classes"),
        ("logistic-regression", np.linspace(0.1, 9.7, 40), "regressor"),
        ("hgb-regressor", np.array(["a", "b"] * 20), "regression target"),
    ],
)
def test_a_preset_objective_refuses_a_target_its_model_cannot_learn(preset, y, match):
    X = np.random.default_rng(0).normal(size=(40, 3))
    with pytest.raises(InvalidParameterError, match=match):
        mh.presets.objective(preset, X, y, cv=3)


def _with(values, index, value):
    out = np.array(values, dtype=object if value is None else float)
    out[index] = value
    return out


_X = np.random.default_rng(0).normal(size=(40, 3))


_Y = np.array([0, 1] * 20)


@pytest.mark.parametrize(
    ("preset", "X", "y", "cv", "match"),
    [
        # Whole-number regression targets read as hundreds of classes of one or two rows.
        ("hgb-classifier", _X, np.arange(40) % 25, 3, r"'y'.*25 classes for 40 rows, fewer than the 3 .* on average"),
        ("hgb-classifier", _X, _Y, 30, r"'y'.*2 classes for 40 rows"),
        ("hgb-classifier", _X[:4], np.array([0, 0, 1, 1]), 3, r"'y'.*2 classes for 4 rows"),
        ("hgb-regressor", _X, _X[:, 0], 41, r"'cv' parameter.*<= 40"),
        ("hgb-classifier", _X, _with(_Y, 3, np.nan), 3, r"'y'.*1 missing values"),
        ("hgb-classifier", _X, _with(_Y, 3, None), 3, r"'y'.*1 missing values"),
        ("hgb-regressor", _X, _with(_X[:, 0], 5, np.nan), 3, r"'y'.*1 missing values"),
        ("hgb-classifier", _with(_X, (2, 1), np.inf), _Y, 3, r"'X'.*infinite"),
        ("mlp-classifier", _with(_X, (2, 1), np.nan), _Y, 3, r"'X'.*1 missing values.*impute"),
        ("logistic-regression", _with(_X, (2, 1), np.nan), _Y, 3, r"'X'.*1 missing values.*impute"),
        ("hgb-classifier", np.full((40, 3), np.nan), _Y, 3, r"'X'.*entirely missing"),
        ("random-forest-classifier", _with(_X, (2, 1), 1e300), _Y, 3, r"'X'.*within ±3\.4e\+38.*RandomForest.*Got 1 values"),
        ("logistic-regression", _with(_X, (2, 1), 1e300), _Y, 3, r"'X'.*within ±1e\+150.*LogisticRegression"),
        ("hgb-regressor", _X, _with(_X[:, 0], 5, np.inf), 3, r"'y'.*finite.*Got 1 infinite"),
        ("hgb-classifier", _X, np.array(["a", 1] * 20, dtype=object), 3, r"'y'.*one type.*\['int', 'str'\]"),
    ],
)
def test_a_preset_objective_refuses_data_no_trial_could_learn_from(preset, X, y, cv, match):
    with pytest.raises(InvalidParameterError, match=match):
        mh.presets.objective(preset, X, y, cv=cv)


@pytest.mark.filterwarnings("ignore:The least populated class")
def test_imbalanced_classes_are_taken():
    X = np.random.default_rng(1).normal(size=(208, 3))
    y = np.array([0] * 200 + [1] * 4 + [2] * 4)  # two classes smaller than the 5 folds
    objective = mh.presets.objective("hgb-classifier", X, y, cv=5)
    trial = mh.create_study(preset="hgb-classifier", optimizer="random", seed=0).ask()
    assert np.isfinite(objective(trial))


@pytest.mark.filterwarnings("ignore:The least populated class")
def test_tree_presets_take_missing_features_and_a_few_rare_classes():
    X = _with(_X, (2, 1), np.nan)
    y = np.array([0, 1] * 19 + [2, 2])  # one class of two rows, fewer than the 3 folds
    objective = mh.presets.objective("hgb-classifier", X, y, cv=3)
    trial = mh.create_study(preset="hgb-classifier", optimizer="random", seed=0).ask()
    assert np.isfinite(objective(trial))


@pytest.mark.filterwarnings("ignore:The least populated class")
@pytest.mark.parametrize("preset", ["hgb-classifier", "logistic-regression"])
def test_a_fold_that_trains_on_one_class_scores_the_constant_prediction(preset):
    y = np.zeros(40, dtype=int)
    y[0] = 1  # the fold that validates on it trains on class 0 alone
    objective = mh.presets.objective(preset, _X, y, cv=4)
    trial = mh.create_study(preset=preset, optimizer="random", seed=0).ask()
    # The lone member's fold: 9 rows at no cost and one certain miss, floored at 1e-15.
    from metahpo.presets._losses import WORST_LOG_LOSS

    assert objective(trial) >= WORST_LOG_LOSS / 10 / 4


def test_nullable_pandas_columns_and_a_column_never_observed_are_taken():
    import pandas as pd

    frame = pd.DataFrame(_X, columns=["a", "b", "c"])
    frame["count"] = pd.array([1, None, 3, 4] * 10, dtype="Int64")
    frame["empty"] = np.nan  # no value in any row: no fold can learn from it
    for preset in ("hgb-classifier", "random-forest-classifier"):
        trial = mh.create_study(preset=preset, optimizer="random", seed=0).ask()
        assert np.isfinite(mh.presets.objective(preset, frame, _Y, cv=3)(trial))
    assert mh.Task.from_data(frame, _Y).descriptor["n_features"] == 5
    with pytest.raises(InvalidParameterError, match=r"'y'.*Task.from_data.*one type"):
        mh.Task.from_data(_X, np.array(["a", 1] * 20, dtype=object))


def test_huge_features_stay_allowed_for_the_models_that_compute_with_them():
    trial = mh.create_study(preset="hgb-classifier", optimizer="random", seed=0).ask()
    assert np.isfinite(mh.presets.objective("hgb-classifier", _with(_X, (2, 1), 1e300), _Y, cv=3)(trial))


def test_a_preset_study_refuses_a_scheduler_beyond_its_budgets():
    with pytest.raises(InvalidParameterError, match=r"'scheduler'.*'hgb-regressor'.*\[1, 27\].*min_budget=27 and max_budget=81"):
        mh.create_study(preset="hgb-regressor", scheduler=mh.Hyperband(min_budget=27, max_budget=81))
    assert mh.create_study(preset="hgb-regressor", scheduler=mh.Hyperband(min_budget=1, max_budget=27)).scheduler


def test_a_task_of_the_other_type_is_refused_with_a_preset(tmp_path):
    X, y = _X, np.arange(40) % 25 + 100.0  # a whole-number regression target
    with pytest.raises(InvalidParameterError, match=r"'task'.*classification dataset.*task_type='regression'"):
        mh.create_study(preset="hgb-regressor", task=mh.Task.from_data(X, y), storage=f"sqlite:///{tmp_path}/t.db")
    assert not (tmp_path / "t.db").exists()
    task = mh.Task.from_data(X, y, task_type="regression")
    with pytest.raises(InvalidParameterError, match=r"'task'.*regression dataset.*'hgb-classifier'"):
        mh.create_study(preset="hgb-classifier", task=task, storage=mh.InMemoryStorage())
    assert mh.create_study(preset="hgb-regressor", task=task, storage=mh.InMemoryStorage()).space.names


def test_a_1d_x_is_refused_alike_by_the_descriptor_and_the_objective():
    # One reading for both: a study's descriptor and its objective see the same data.
    one_column = _X[:, 0]
    with pytest.raises(InvalidParameterError, match=r"'X'.*Task.from_data.*2-D.*reshape\(-1, 1\)"):
        mh.Task.from_data(one_column, _Y)
    with pytest.raises(InvalidParameterError, match=r"'X'.*2-D.*reshape\(-1, 1\)"):
        mh.presets.objective("hgb-classifier", one_column, _Y, cv=3)
    assert mh.Task.from_data(one_column.reshape(-1, 1), _Y).descriptor["n_features"] == 1


def test_task_from_data_refuses_missing_labels():
    import pandas as pd

    with pytest.raises(InvalidParameterError, match=r"'y' parameter of Task.from_data has 1 missing"):
        mh.Task.from_data(_X, _with(_Y, 0, np.nan))
    labels = pd.Series(["a", "b"] * 20, dtype="string")
    labels[4] = pd.NA
    with pytest.raises(InvalidParameterError, match=r"'y' parameter of Task.from_data has 1 missing"):
        mh.Task.from_data(_X, labels)
    with pytest.raises(InvalidParameterError, match=r"'y'.*1 missing"):
        mh.presets.objective("hgb-classifier", _X, labels, cv=3)


def test_a_preset_objective_refuses_text_features():
    X = np.array([["a", 1.0]] * 20, dtype=object)
    with pytest.raises(InvalidParameterError, match=r"'X'.*numeric"):
        mh.presets.objective("logistic-regression", X, np.array([0, 1] * 10), cv=3)
