"""The preset problems of the bundle builder: datasets, held-out lists, agreement with the presets."""

from __future__ import annotations

import math

import numpy as np
import pytest

import metahpo as mh
from metahpo.knowledge import CLASSIFICATION_FEATURES, REGRESSION_FEATURES
from metahpo_bench import get_problem
from metahpo_bench._preset_data import (
    CLASSIFICATION_HELD_OUT,
    REGRESSION_HELD_OUT,
    load_regression,
    regression_tasks,
)


@pytest.mark.parametrize("name", mh.presets.names())
def test_every_preset_is_a_builder_problem_with_held_out_datasets(name: str) -> None:
    problem = get_problem(f"preset:{name}")
    assert problem.space.fingerprint() == mh.presets.get(name).space.fingerprint()
    held = (
        REGRESSION_HELD_OUT
        if mh.presets.get(name).task_type == "regression"
        else CLASSIFICATION_HELD_OUT
    )
    assert len(problem.tasks) >= 40
    assert not set(problem.tasks) & set(held)
    assert problem.held_out == tuple(sorted(held))


def test_regression_datasets_load_offline_standardised_and_capped() -> None:
    assert len(regression_tasks()) >= 48
    for name in ("crabs", "diamonds"):
        x_train, y_train, x_valid, _ = load_regression(name)
        assert len(x_train) <= 2000 and len(x_valid) <= 2000 and x_train.shape[1] >= 3
        assert abs(float(y_train.mean())) < 1e-9 and float(y_train.std()) == pytest.approx(1.0)
        assert np.isfinite(x_valid).all()


def test_builder_losses_are_the_presets_losses_at_each_budget() -> None:
    problem = get_problem("preset:xgboost-classifier")
    config = problem.space.sobol(1, seed=2)[0]
    staged = problem.evaluate_budgets("iris", config, [3, 9])
    split = problem.split("iris")
    preset = mh.presets.get("xgboost-classifier")
    fresh = [preset.validation_losses(config, split, [b])[0] for b in (3, 9)]
    assert staged == pytest.approx(fresh)
    assert problem.evaluate("iris", config, 9) == pytest.approx(fresh[1])


@pytest.mark.parametrize(
    ("name", "task", "names"),
    [
        ("xgboost-classifier", "iris", CLASSIFICATION_FEATURES),
        ("hgb-regressor", "crabs", REGRESSION_FEATURES),
    ],
)
def test_descriptors_are_the_meta_features_of_the_data(name: str, task: str, names: tuple) -> None:
    problem = get_problem(f"preset:{name}")
    values = problem.descriptor(task)
    assert len(values) == len(names) and all(math.isfinite(v) for v in values)
    split = problem.split(task)
    expected = mh.Task.from_data(
        np.vstack([split.x_train, split.x_valid]),
        np.concatenate([split.y_train, split.y_valid]),
        task_type=mh.presets.get(name).task_type,
    ).descriptor
    assert dict(zip(names, values, strict=True)) == pytest.approx(expected)
