"""Meta-training that chooses its number of steps on held-out tasks."""

from __future__ import annotations

import numpy as np
import pytest

import metahpo as mh
from metahpo.knowledge._meta_training import MetaTrainingConfig, TaskData, meta_train
from metahpo.testing.synthetic import ShiftedBranin


def _tasks(n_tasks: int = 8) -> list[TaskData]:
    family = ShiftedBranin(n_tasks=n_tasks, seed=1)
    design = family.space.sobol(40, seed=0)
    unit = family.space.to_unit(design)
    return [TaskData(unit, np.asarray([family.evaluate(t, c) for c in design]), t) for t in family.tasks]


def test_the_chosen_step_count_is_on_the_grid_and_recorded():
    config = MetaTrainingConfig(meta_steps=60, validation=0.25, seed=3)
    model = meta_train(_tasks(), config)
    steps = model.info["validated_steps"]
    assert steps % 3 == 0 and 0 <= steps <= 60  # checked every 60 / 20 = 3 steps
    assert model.info["meta_steps"] == steps and model.config.meta_steps == 60
    # Same seed, same choice and same parameters.
    again = meta_train(_tasks(), config)
    assert again.info["validated_steps"] == steps
    assert all(np.array_equal(model.params[k].numpy(), again.params[k].numpy()) for k in model.params)


def test_without_validation_every_step_is_trained():
    model = meta_train(_tasks(), MetaTrainingConfig(meta_steps=20, seed=0))
    assert model.info["meta_steps"] == 20 and "validated_steps" not in model.info


@pytest.mark.parametrize("value", [-0.1, 1.0, float("nan")])
def test_metabo_refuses_a_bad_validation_share(value):
    with pytest.raises(mh.InvalidParameterError, match="meta_validation"):
        mh.MetaBO(meta_validation=value)
