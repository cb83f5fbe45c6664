"""MetaHPOSampler's ``"auto"`` is create_study's: the same choice, recorded and logged, and a
MetaBO over a bundle that starts from the bundle's ready-trained meta-model."""

from __future__ import annotations

import logging
from typing import Any

import pytest

optuna = pytest.importorskip("optuna")

import metahpo as mh  # noqa: E402
from metahpo.integrations.optuna import MetaHPOSampler  # noqa: E402
from metahpo.study import auto_optimizer  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


class MetaTrained(Exception):
    """Raised instead of a meta-training (tens of seconds on a bundle)."""


@pytest.fixture
def no_meta_training(monkeypatch: pytest.MonkeyPatch, tmp_path) -> type[MetaTrained]:
    """A fresh METAHPO_HOME (no meta-model stored by another run) where meta-training raises."""
    from metahpo.surrogates.meta import _provider

    def no_training(*args: Any, **kwargs: Any) -> None:
        raise MetaTrained

    monkeypatch.setenv("METAHPO_HOME", str(tmp_path))
    monkeypatch.setattr(_provider, "meta_train", no_training)
    return MetaTrained


def _suggest_preset_space(trial: optuna.Trial, space: mh.Space) -> dict[str, Any]:
    """The params of a metahpo space without conditions or grids, asked of an Optuna trial
    as its exact distributions."""
    params: dict[str, Any] = {}
    for name, entry in space.to_dict().items():
        if entry["type"] == "float":
            params[name] = trial.suggest_float(name, entry["low"], entry["high"], log=entry["log"])
        elif entry["type"] == "int":
            params[name] = trial.suggest_int(name, entry["low"], entry["high"], log=entry["log"])
        else:
            params[name] = trial.suggest_categorical(name, entry["choices"])
    return params


def _hgb_objective(trial: optuna.Trial) -> float:
    """A cheap stand-in over the hgb-classifier preset's space: a loss near lr = 0.1."""
    params = _suggest_preset_space(trial, mh.presets.get("hgb-classifier").space)
    return abs(params["learning_rate"] - 0.1) + params["max_features"] / 10.0


def test_auto_over_a_bundle_starts_from_its_ready_trained_meta_model(no_meta_training, caplog) -> None:
    sampler = MetaHPOSampler(optimizer="auto", knowledge="bundled:hgb-classifier", seed=0)
    study = optuna.create_study(sampler=sampler)
    with caplog.at_level(logging.INFO, logger="metahpo.integrations"):
        # Trial 0 is Optuna's independent draw, then the warm start's portfolio configs,
        # then MetaBO's surrogate: meta-training would raise MetaTrained here.
        study.optimize(_hgb_objective, n_trials=6)
    assert len(study.trials) == 6
    # Exactly the preset's distributions (Optuna's intersection search space, in name order).
    space = mh.presets.get("hgb-classifier").space
    assert set(study.trials[-1].distributions) == set(space.names)
    (optimizer,) = sampler._optimizers.values()
    assert optimizer.name == "metabo"
    assert optimizer._provider.initial  # the bundle's models, handed in
    assert len(optimizer._provider._cache) == 1  # a model was asked for: the surrogate proposed
    choice = sampler.optimizer_choice
    assert choice is not None and choice["optimizer"] == "metabo"
    assert "ready-trained" in choice["reason"]
    assert any("'auto' chose metabo" in r.getMessage() for r in caplog.records)
    # The choice is create_study's for the same knowledge, space and kind of problem.
    kb = mh.KnowledgeBase.open("bundled:hgb-classifier")
    assert auto_optimizer(kb, space)[1] == choice
    made = mh.create_study(space=space, knowledge="bundled:hgb-classifier", seed=0)
    assert made.user_attrs["optimizer_choice"] == choice


def test_auto_without_enough_knowledge_records_gpbo() -> None:
    sampler = MetaHPOSampler(optimizer="auto", seed=0)
    assert sampler.optimizer_choice is None
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: (t.suggest_float("x", 0.0, 1.0) - 0.5) ** 2, n_trials=3)
    assert next(iter(sampler._optimizers.values())).name == "gpbo"
    assert sampler.optimizer_choice == {
        "optimizer": "gpbo",
        "reason": "0 related tasks among the 0 tasks of the knowledge (built in memory) (MetaBO needs 3)",
    }
    # An optimizer named, not chosen, records no choice.
    named = MetaHPOSampler(optimizer="sobol", seed=0)
    optuna.create_study(sampler=named).optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=3)
    assert named.optimizer_choice is None
