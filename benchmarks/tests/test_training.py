"""The real training problems: spaces, determinism, nested budgets, data preparation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from metahpo.exceptions import InvalidParameterError
from metahpo.space import Float, Int
from metahpo_bench import get_problem
from metahpo_bench._training_losses import PROBABILITY_FLOOR, validation_log_loss
from metahpo_bench.training import (
    HGB_SPACE,
    MAX_TRAIN_ROWS,
    MLP_SPACE,
    KeelHGB,
    KeelMLP,
    SklearnHGB,
    SklearnMLP,
    load_task,
)

# Small, quick configs: a few leaves, a wide batch.
HGB_CONFIG = {
    "learning_rate": 0.1,
    "max_leaf_nodes": 8,
    "min_samples_leaf": 5,
    "l2_regularization": 1e-3,
    "max_features": 0.5,
    "max_bins": 32,
}
MLP_CONFIG = {
    "learning_rate": 1e-2,
    "width": 32,
    "weight_decay": 1e-4,
    "dropout": 0.2,
    "batch_size": 64,
}


def test_hgb_space_is_the_documented_one():
    assert HGB_SPACE["learning_rate"] == Float(1e-3, 1.0, log=True)
    assert HGB_SPACE["max_leaf_nodes"] == Int(4, 256, log=True)
    assert HGB_SPACE["min_samples_leaf"] == Int(1, 128, log=True)
    assert HGB_SPACE["l2_regularization"] == Float(1e-8, 10.0, log=True)
    assert HGB_SPACE["max_features"] == Float(0.1, 1.0)
    assert HGB_SPACE["max_bins"] == Int(4, 255, log=True)
    assert set(MLP_SPACE) == {"learning_rate", "width", "weight_decay", "dropout", "batch_size"}


def test_problems_are_registered_and_list_their_tasks():
    assert isinstance(get_problem("keel-hgb"), KeelHGB)
    assert isinstance(get_problem("keel-mlp"), KeelMLP)
    assert isinstance(get_problem("sklearn-hgb"), SklearnHGB)
    assert isinstance(get_problem("sklearn-mlp"), SklearnMLP)
    assert len(KeelHGB().tasks) >= 40
    assert set(SklearnHGB().tasks) == {"breast_cancer", "digits", "iris", "wine"}
    problem = KeelHGB()
    assert (problem.min_budget, problem.max_budget, problem.integer_budget) == (1.0, 81.0, True)


@pytest.mark.parametrize(("problem", "task"), [(SklearnHGB(), "wine"), (KeelHGB(), "led7digit")])
def test_hgb_staged_losses_equal_fresh_fits(problem, task):
    budgets = [1, 3, 9, 27]
    configs = [HGB_CONFIG, *problem.space.sobol(2, seed=3)]
    for config in configs:
        staged = problem.evaluate_budgets(task, config, budgets)
        fresh = [problem.evaluate(task, config, budget) for budget in budgets]
        assert staged == fresh
        assert len(set(staged)) > 1  # the budget changes the loss


def test_hgb_is_deterministic_and_budget_none_is_the_maximum():
    problem = SklearnHGB()
    first = problem.evaluate("iris", HGB_CONFIG, 81)
    assert problem.evaluate("iris", HGB_CONFIG, 81) == first
    assert problem.evaluate("iris", HGB_CONFIG, None) == first
    assert 0.0 < first < math.log(3)  # better than the uniform guess


def test_hgb_loss_improves_with_rounds_for_a_sane_config():
    problem = SklearnHGB()
    losses = problem.evaluate_budgets("breast_cancer", HGB_CONFIG, [1, 27])
    assert losses[1] < losses[0]


def test_mlp_staged_losses_equal_fresh_runs_and_leave_torch_rng_alone():
    problem = SklearnMLP()
    torch.manual_seed(123)
    before = torch.get_rng_state()
    staged = problem.evaluate_budgets("iris", MLP_CONFIG, [1, 3])
    fresh = [problem.evaluate("iris", MLP_CONFIG, budget) for budget in [1, 3]]
    assert staged == fresh
    assert staged[1] < staged[0]
    assert torch.equal(torch.get_rng_state(), before)


def test_keel_mlp_runs_on_a_keel_task():
    loss = KeelMLP().evaluate("iris", MLP_CONFIG, 2)
    assert 0.0 < loss < 5.0


@pytest.mark.parametrize("budget", [2.5, 0, 82])
def test_bad_budgets_are_refused(budget):
    with pytest.raises(InvalidParameterError, match="'budget' parameter"):
        SklearnHGB().evaluate("iris", HGB_CONFIG, budget)


def test_bad_task_and_config_are_refused_by_evaluate_budgets():
    with pytest.raises(InvalidParameterError, match="'task' parameter"):
        SklearnHGB().evaluate_budgets("mnist", HGB_CONFIG, [1])
    with pytest.raises(InvalidParameterError, match="max_leaf_nodes"):
        SklearnHGB().evaluate_budgets("iris", {**HGB_CONFIG, "max_leaf_nodes": 1000}, [1])
    with pytest.raises(InvalidParameterError, match="at least one budget"):
        SklearnHGB().evaluate_budgets("iris", HGB_CONFIG, [])


def test_descriptor_holds_size_classes_and_entropy():
    descriptor = SklearnHGB().descriptor("iris")
    assert descriptor[:3].tolist() == [112.0, 4.0, 3.0]
    assert descriptor[3] == pytest.approx(math.log(3), abs=1e-3)


def test_large_keel_task_is_capped_with_every_class_kept():
    task = load_task("keel", "letter")
    assert len(task.y_train) == MAX_TRAIN_ROWS
    assert set(np.unique(task.y_train)) == set(range(task.n_classes)) and task.n_classes == 26
    # Standardised with the training part's statistics.
    assert np.allclose(task.x_train.mean(axis=0), 0.0, atol=1e-9)
    assert task.x_train.dtype == np.float64


def test_validation_log_loss_handles_labels_unseen_in_training():
    proba = np.array([[0.75, 0.25], [0.5, 0.5]])
    # The model saw labels 0 and 2 only; the second row's true label 1 gets the floor.
    loss = validation_log_loss(proba, np.array([0, 2]), np.array([0, 1]), n_classes=3)
    assert loss == pytest.approx((-math.log(0.75) - math.log(PROBABILITY_FLOOR)) / 2)
