"""How many meta-training steps a config gives: its own count, or one scaled with the knowledge."""

from __future__ import annotations

import numpy as np
import pytest

import metahpo as mh
from metahpo.surrogates.meta import MetaModelProvider, MetaTrainingConfig, TaskData, meta_train
from metahpo.surrogates.meta._config import meta_steps_for


def test_the_default_scales_with_the_tasks_between_its_bounds():
    config = MetaTrainingConfig()
    assert config.meta_steps is None
    assert meta_steps_for(config, 3) == 250  # three small studies: few steps (no learning by heart)
    assert meta_steps_for(config, 6) == 480
    assert meta_steps_for(config, 12) == 960
    assert meta_steps_for(config, 44) == 2000  # a preset's bundle: the full training
    assert meta_steps_for(MetaTrainingConfig(meta_steps=7), 44) == 7  # a count set is kept


def test_meta_training_records_the_steps_it_took():
    rng = np.random.default_rng(0)
    tasks = [TaskData(rng.random((8, 2)), rng.random(8), f"t{i}") for i in range(3)]
    model = meta_train(tasks, MetaTrainingConfig(meta_steps=None, meta_batch=2, query=4, support_max=6))
    assert model.info["meta_steps"] == 250
    assert meta_train(tasks, MetaTrainingConfig(meta_steps=5)).info["meta_steps"] == 5


def test_a_provider_left_at_the_default_stores_no_step_count():
    # A reloaded study rebuilds the provider from what it stored: the default, not a number.
    assert MetaModelProvider().to_dict()["config"] == {}
    assert MetaModelProvider(MetaTrainingConfig(meta_steps=2000)).to_dict()["config"] == {"meta_steps": 2000}


@pytest.mark.parametrize("bad", [-1, 2.5, "100", True])
def test_a_bad_step_count_is_refused_with_its_value(bad):
    with pytest.raises(mh.InvalidParameterError, match="'meta_steps' parameter of MetaTrainingConfig"):
        MetaTrainingConfig(meta_steps=bad)


def test_a_numpy_step_count_is_kept_as_an_int():
    steps = MetaTrainingConfig(meta_steps=np.int64(40)).meta_steps
    assert steps == 40 and type(steps) is int


def test_ready_models_must_be_meta_models_and_the_wrong_one_is_named():
    model = meta_train([TaskData(np.random.default_rng(0).random((6, 2)), np.arange(6.0), "t")],
                       MetaTrainingConfig(meta_steps=1))
    assert MetaModelProvider(initial=(model,))._initials == [model]
    with pytest.raises(mh.InvalidParameterError, match=r"'initial' parameter of MetaModelProvider.*instead \(item 1 is None\)"):
        MetaModelProvider(initial=[model, None])
    with pytest.raises(mh.InvalidParameterError, match="'initial' parameter of MetaModelProvider"):
        MetaModelProvider(initial=5)
