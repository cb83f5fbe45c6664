"""Meta-training refuses what would leave the model untrained, naming what was wrong."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

import metahpo as mh
import metahpo.metalearn
from metahpo.surrogates.meta import MetaTrainingConfig, TaskData, meta_train


def _tasks() -> list[TaskData]:
    rng = np.random.default_rng(0)
    return [TaskData(rng.random((12, 2)), rng.random(12), f"t{i}") for i in range(3)]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("query", 0, r"'query' parameter of MetaTrainingConfig must be an int >= 1"),
        ("meta_batch", 0, r"'meta_batch' parameter of MetaTrainingConfig must be an int >= 1"),
        ("hidden", 0, r"'hidden' parameter"),
        ("n_outputs", 2.5, r"'n_outputs' parameter"),
        ("support_min", 0, r"'support_min' parameter"),
        ("inner_steps", -1, r"'inner_steps' parameter of MetaTrainingConfig must be an int >= 0"),
        ("continual_steps", "60", r"'continual_steps' parameter"),
        ("seed", -1, r"'seed' parameter"),
        ("first_order", "no", r"'first_order' parameter of MetaTrainingConfig must be a bool. Got 'no'"),
        ("meta_lr", 0.0, r"'meta_lr' parameter of MetaTrainingConfig must be a finite number > 0"),
        ("inner_lr", -0.1, r"'inner_lr' parameter of MetaTrainingConfig must be a finite number >= 0"),
        ("inner_lr", float("nan"), r"'inner_lr' parameter of MetaTrainingConfig must be a finite number"),
    ],
)
def test_a_config_field_out_of_range_is_refused(field, value, message):
    with pytest.raises(mh.InvalidParameterError, match=message):
        MetaTrainingConfig(**{field: value})


def test_support_sizes_must_be_ordered_and_learned_step_sizes_need_a_positive_start():
    with pytest.raises(mh.InvalidParameterError, match=r"'support_min'.*<= 'support_max'. Got support_min=10"):
        MetaTrainingConfig(support_min=10, support_max=5)
    with pytest.raises(mh.InvalidParameterError, match=r"'inner_lr'.*> 0 with learned_step_sizes=True. Got 0.0"):
        MetaTrainingConfig(inner_lr=0.0, learned_step_sizes=True)
    assert MetaTrainingConfig(inner_lr=0.0).inner_lr == 0.0  # a fixed step of 0: no adaptation


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (np.zeros((12, 2)), np.zeros(5),
         r"an \(n, d\) array and n losses. Got X of shape \(12, 2\) and y of shape \(5,\)"),
        (np.zeros(12), np.zeros(12), r"Got X of shape \(12,\)"),
        (np.zeros((3, 2)), np.array([0.0, np.nan, 1.0]), r"must be finite.*Got 1 non-finite losses"),
        (np.array([[0.0, np.inf], [0.0, 0.0]]), np.zeros(2), r"must be finite.*1 rows of X"),
        (np.zeros((2, 1)), ["a", "b"], r"must be numeric arrays"),
    ],
)
def test_task_data_must_be_rows_and_finite_losses_of_the_same_length(X, y, message):
    with pytest.raises(mh.InvalidParameterError, match=message):
        TaskData(X, y, "t")


def test_task_data_holds_float_arrays():
    task = TaskData([[0, 1], [1, 0]], [1, 2])
    assert task.X.dtype == float and task.y.dtype == float and task.y.shape == (2,)


@pytest.mark.parametrize("fraction", [-0.1, 1.5, "half", float("nan")])
def test_a_replay_fraction_outside_zero_to_one_is_refused(fraction):
    with pytest.raises(mh.InvalidParameterError, match="'replay_fraction' parameter of meta_train"):
        meta_train(_tasks(), MetaTrainingConfig(meta_steps=1), replay=_tasks(), replay_fraction=fraction)


def test_meta_training_that_takes_no_step_says_so(monkeypatch, caplog):
    def not_finite(*args, **kwargs):  # type: ignore[no-untyped-def]
        return torch.tensor(float("nan"), requires_grad=True)

    monkeypatch.setattr(metahpo.metalearn, "maml_loss", not_finite)
    with caplog.at_level(logging.WARNING, logger="metahpo.surrogates"):
        model = meta_train(_tasks(), MetaTrainingConfig(meta_steps=3, hidden=4, n_outputs=2, support_max=6, query=4))
    assert "Meta-training took none of its 3 meta-steps" in caplog.text
    assert model.info["loss_last"] is None
    # No steps asked for: the initialisation is what was asked for.
    assert meta_train(_tasks(), MetaTrainingConfig(meta_steps=0)).info["loss_last"] is None
