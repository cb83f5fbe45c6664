"""Meta-training on rank-warped task losses, and models saved before these options."""

from __future__ import annotations

import numpy as np
import pytest

import metahpo as mh
from metahpo.surrogates.meta import (
    MetaModel,
    MetaTrainingConfig,
    TaskData,
    meta_test_loss,
    meta_train,
)
from metahpo.surrogates.meta._train import warp_task
from metahpo.testing.synthetic import ShiftedBranin


def _tasks(n_tasks: int = 6, tail: float = 0.0) -> list[TaskData]:
    family = ShiftedBranin(n_tasks=n_tasks, seed=2)
    design = family.space.sobol(40, seed=0)
    unit = family.space.to_unit(design)
    tasks = []
    for t in family.tasks:
        y = np.asarray([family.evaluate(t, c) for c in design])
        if tail:
            # The three worst evaluations diverge: far larger losses, the same ranks.
            y[np.argsort(y)[-3:]] += tail
        tasks.append(TaskData(unit, y, t))
    return tasks


def test_the_rank_warp_is_monotone_standard_normal_and_keeps_ties():
    task = TaskData(np.zeros((6, 1)), np.array([0.0, 0.0, 0.3, 5.0, 1e6, 0.2]), "t")
    z = warp_task(task, "rank").y
    assert z[0] == z[1]  # tied losses stay tied
    assert np.all(np.diff(z[np.argsort(task.y, kind="stable")]) >= 0)
    assert z[2] == pytest.approx(-z[5])  # ranks 4 and 3 of 6: symmetric normal quantiles
    assert z.max() < 1.5  # the 1e6 outlier is just the top rank
    assert warp_task(task, "standardize") is task


def test_an_outlier_does_not_change_what_rank_meta_training_sees():
    config = MetaTrainingConfig(meta_steps=15, seed=0)
    clean = meta_train(_tasks(), config)
    tailed = meta_train(_tasks(tail=1e4), config)
    # Same ranks, same warped losses, same training: the diverged values are invisible.
    for key in clean.params:
        np.testing.assert_allclose(clean.params[key].numpy(), tailed.params[key].numpy())
    plain = meta_train(_tasks(tail=1e4), MetaTrainingConfig(meta_steps=15, seed=0, task_transform="standardize"))
    assert any(not np.allclose(clean.params[k].numpy(), plain.params[k].numpy()) for k in clean.params)


def test_meta_test_loss_is_measured_on_the_model_scale():
    model = meta_train(_tasks(), MetaTrainingConfig(meta_steps=10, seed=0))
    clean = meta_test_loss(model, _tasks(), repeats=1)
    tailed = meta_test_loss(model, _tasks(tail=1e4), repeats=1)
    assert np.isfinite(clean) and clean == pytest.approx(tailed)


def test_models_saved_before_task_transforms_read_as_unwarped():
    import json

    from safetensors.torch import save

    model = meta_train(_tasks(), MetaTrainingConfig(meta_steps=2, seed=0, task_transform="standardize"))
    config = model.config.to_dict()
    del config["task_transform"], config["trend"]  # as written before the fields existed
    plain = {k: v for k, v in model.params.items() if not k.startswith("trend_head")}
    data = save(plain, metadata={"n_features": "2", "config": json.dumps(config), "info": "{}"})
    old = MetaModel.from_bytes(data)
    assert old.config.task_transform == "standardize" and old.config.trend is False
    assert old.surrogate(0).fit(np.random.default_rng(0).random((5, 2)), np.arange(5.0)).params_.keys() == plain.keys()
    rank = meta_train(_tasks(), MetaTrainingConfig(meta_steps=2, seed=0))
    assert MetaModel.from_bytes(rank.to_bytes()).config.task_transform == "rank"


@pytest.mark.parametrize("value", ["log", "", None])
def test_a_bad_task_transform_is_refused_by_name(value):
    with pytest.raises(mh.InvalidParameterError, match="task_transform"):
        MetaTrainingConfig(task_transform=value)


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_a_non_bool_trend_is_refused_by_name(value):
    with pytest.raises(mh.InvalidParameterError, match="'trend' parameter of MetaTrainingConfig"):
        MetaTrainingConfig(trend=value)


@pytest.mark.parametrize("field, value", [("trend", False), ("task_transform", "standardize"), ("hidden", 16)])
def test_continuing_a_model_under_another_architecture_is_refused(field, value):
    model = meta_train(_tasks(), MetaTrainingConfig(meta_steps=2, seed=0))
    with pytest.raises(mh.InvalidParameterError, match=f"different '{field}'"):
        meta_train(_tasks(), MetaTrainingConfig(meta_steps=2, **{field: value}), init=model)
    # Its own configuration (config=None), or one that only changes how it trains, is fine.
    assert meta_train(_tasks(), init=model).info["version"] == 2
    again = meta_train(_tasks(), MetaTrainingConfig(meta_steps=3, meta_lr=1e-3), init=model)
    assert again.params.keys() == model.params.keys()
