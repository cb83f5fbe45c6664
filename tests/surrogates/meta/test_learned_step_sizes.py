"""Meta-SGD: the inner loop's per-weight step sizes meta-learned beside θ."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from metahpo.exceptions import InvalidParameterError
from metahpo.surrogates.meta import (
    MetaModel,
    MetaModelProvider,
    MetaTrainingConfig,
    TaskData,
    continual_update,
    meta_train,
)
from metahpo.testing.synthetic import ShiftedBranin


def _tasks() -> list[TaskData]:
    family = ShiftedBranin(n_tasks=6, seed=2)
    design = family.space.sobol(40, seed=0)
    unit = family.space.to_unit(design)
    return [TaskData(unit, np.asarray([family.evaluate(t, c) for c in design]), t) for t in family.tasks]


def test_step_sizes_are_learned_per_weight_and_travel_with_the_model():
    config = MetaTrainingConfig(meta_steps=30, seed=0, learned_step_sizes=True)
    model = meta_train(_tasks()[1:], config)
    assert model.step_sizes is not None and set(model.step_sizes) == set(model.params)
    for name, steps in model.step_sizes.items():
        assert steps.shape == model.params[name].shape and bool((steps > 0).all())
    learned = np.concatenate([s.numpy().ravel() for s in model.step_sizes.values()])
    assert np.ptp(learned) > 0  # moved away from the shared start, each weight its own way
    assert np.allclose(np.median(learned), config.inner_lr, rtol=0.5)
    again = MetaModel.from_bytes(model.to_bytes())
    assert again.step_sizes is not None
    for name, steps in model.step_sizes.items():
        np.testing.assert_array_equal(again.step_sizes[name].numpy(), steps.numpy())
    # A new study's adaptation steps with them: the fit differs from one with the shared size.
    tasks = _tasks()
    X, y = tasks[0].X[:12], tasks[0].y[:12]
    with_learned = model.surrogate(adapt_steps=1).fit(X, y)
    shared = MetaModel(model.n_features, model.config, model.params, model.info).surrogate(adapt_steps=1).fit(X, y)
    assert with_learned.adapted_steps_ == shared.adapted_steps_ == 1
    rest = torch.as_tensor(tasks[0].X[12:], dtype=torch.float64)
    mean_learned, _ = with_learned.predict(rest)
    mean_shared, _ = shared.predict(rest)
    assert not np.allclose(mean_learned.numpy(), mean_shared.numpy())


def test_a_study_adapts_with_at_most_the_steps_the_step_sizes_were_learned_for():
    tasks = _tasks()
    config = MetaTrainingConfig(meta_steps=5, seed=0, learned_step_sizes=True, inner_steps=2)
    model = meta_train(tasks[1:], config)
    X, y = tasks[0].X[:12], tasks[0].y[:12]
    assert model.surrogate(adapt_steps=3).fit(X, y).adapted_steps_ == 2
    assert model.surrogate(adapt_steps=1).fit(X, y).adapted_steps_ == 1
    shared = MetaModel(model.n_features, model.config, model.params, model.info)
    assert shared.surrogate(adapt_steps=3).fit(X, y).adapted_steps_ == 3


def test_a_continual_update_keeps_learning_the_step_sizes():
    tasks = _tasks()
    model = meta_train(tasks[1:], MetaTrainingConfig(meta_steps=10, seed=0, learned_step_sizes=True))
    updated = continual_update(model, tasks[:1], tasks[1:], steps=5)
    assert updated.step_sizes is not None and set(updated.step_sizes) == set(model.step_sizes)
    assert any(not np.allclose(updated.step_sizes[k].numpy(), model.step_sizes[k].numpy()) for k in model.step_sizes)


def test_without_the_option_there_are_no_step_sizes_and_it_cannot_be_switched_on_midway():
    tasks = _tasks()
    plain = meta_train(tasks, MetaTrainingConfig(meta_steps=3, seed=0))
    assert plain.step_sizes is None and plain.inner_lr == plain.config.inner_lr
    with pytest.raises(InvalidParameterError, match="learned_step_sizes"):
        meta_train(tasks, MetaTrainingConfig(meta_steps=3, learned_step_sizes=True), init=plain)
    with pytest.raises(InvalidParameterError, match="'learned_step_sizes' parameter of MetaTrainingConfig must be a bool"):
        MetaTrainingConfig(learned_step_sizes="yes")  # type: ignore[arg-type]


def test_the_default_config_keys_models_as_before_the_option_existed():
    # Stored meta-models are found by a hash of the training config's dict: an option added
    # later must not appear in it at its default, or every stored model would be orphaned.
    assert "learned_step_sizes" not in MetaTrainingConfig().to_dict()
    assert MetaTrainingConfig(learned_step_sizes=True).to_dict()["learned_step_sizes"] is True
    assert MetaTrainingConfig(**MetaTrainingConfig().to_dict()) == MetaTrainingConfig()


def test_a_provider_with_learned_step_sizes_round_trips_through_its_dict():
    # A MetaBO study stores its provider's dict; an option that MetaTrainingConfig leaves
    # out at its default must still be stored when it is set.
    from metahpo.surrogates.meta import MetaModelProvider

    provider = MetaModelProvider(MetaTrainingConfig(meta_steps=30, learned_step_sizes=True))
    data = provider.to_dict()
    assert data["config"] == {"meta_steps": 30, "learned_step_sizes": True}
    assert MetaModelProvider.from_dict(data).config == provider.config


@pytest.mark.parametrize("default", [False, True])
def test_a_stored_configuration_without_the_option_restores_without_it(monkeypatch, default) -> None:
    # Models and studies stored before the option existed must not come back with it, and
    # a provider with it on must come back with it on, whatever the default becomes.
    init = MetaTrainingConfig.__init__
    names = init.__code__.co_varnames[1 : init.__code__.co_argcount]
    defaults = dict(zip(names[-len(init.__defaults__):], init.__defaults__, strict=True))
    monkeypatch.setattr(init, "__defaults__", tuple({**defaults, "learned_step_sizes": default}.values()))
    assert MetaTrainingConfig().learned_step_sizes is default
    on = MetaModelProvider(MetaTrainingConfig(meta_steps=30, learned_step_sizes=True))
    assert MetaModelProvider.from_dict(on.to_dict()).config.learned_step_sizes is True
    plain = MetaTrainingConfig(meta_steps=5, learned_step_sizes=False).to_dict()
    assert "learned_step_sizes" not in plain
    assert MetaTrainingConfig.from_dict(plain).learned_step_sizes is False
    sgd = MetaTrainingConfig(meta_steps=5, learned_step_sizes=True)
    assert MetaTrainingConfig.from_dict(sgd.to_dict()) == sgd
    provider = MetaModelProvider.from_dict({"config": plain, "adapt_steps": 1})
    assert provider.config.learned_step_sizes is False and provider.adapt_steps == 1
