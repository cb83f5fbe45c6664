"""MetaHPOSampler's ``"auto"`` is create_study's: the same choice, recorded and logged, and a
MetaBO over a bundle that starts from the bundle's ready-trained meta-model; a MetaBO named
starts from it under the same rule, as create_study's named MetaBO does."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

optuna = pytest.importorskip("optuna")

import metahpo as mh  # noqa: E402
from metahpo.integrations.optuna import MetaHPOSampler  # noqa: E402
from metahpo.study import auto_optimizer  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


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


def _three_tasks_of_x() -> mh.KnowledgeBase:
    """Knowledge built in memory: three past tasks of one parameter ``x`` (MetaBO's minimum)."""
    design = mh.Space({"x": mh.Float(0.0, 1.0)}).sobol(8, seed=0)
    kb = mh.KnowledgeBase()
    for i in range(3):
        kb.add_task(mh.Space({"x": mh.Float(0.0, 1.0)}), design, [(c["x"] - 0.3 * i) ** 2 for c in design], name=f"x-{i}")
    return kb


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
    (optimizer,) = [proposer.optimizer for proposer in sampler._proposers.values()]
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


def test_a_named_metabo_over_a_bundle_starts_from_its_ready_trained_meta_model(no_meta_training) -> None:
    sampler = MetaHPOSampler(optimizer="metabo", knowledge="bundled:hgb-classifier", seed=0)
    study = optuna.create_study(sampler=sampler)
    # Trial 0 is Optuna's independent draw, then the warm start's portfolio configs, then
    # MetaBO's surrogate: meta-training on the bundle would raise MetaTrained here.
    study.optimize(_hgb_objective, n_trials=6)
    assert len(study.trials) == 6
    (proposer,) = sampler._proposers.values()
    # The order of the space the bundle's model was trained on, not Optuna's name order.
    assert proposer.space.names == mh.presets.get("hgb-classifier").space.names
    assert proposer.optimizer.name == "metabo"
    assert proposer.optimizer._provider.initial  # the bundle's models, handed in
    assert len(proposer.optimizer._provider._cache) == 1  # a model was asked for: the surrogate proposed
    assert sampler.optimizer_choice is None  # named, not chosen


def test_a_named_metabo_for_another_kind_of_problem_does_not_take_the_bundles_model() -> None:
    # The rule auto follows: a classifier's model is no start for a regression study.
    space = mh.presets.get("hgb-classifier").space
    by_name = mh.Space({name: space[name] for name in sorted(space.names)})
    for task_type, started in (("regression", False), ("classification", True)):
        sampler = MetaHPOSampler(optimizer="metabo", knowledge="bundled:hgb-classifier", seed=0,
                                 task_type=task_type)
        proposer = sampler._proposer(by_name)
        assert proposer.optimizer.name == "metabo"
        assert bool(proposer.optimizer._provider.initial) is started


def test_a_named_metabo_over_a_copy_of_a_bundle_has_no_ready_model(tmp_path) -> None:
    # The bundle's own tasks saved in a folder of the user's: the same space and data, but
    # the ready-trained models ship with the bundle, not with copies of its tasks.
    mh.bundled_knowledge("hgb-classifier").save(tmp_path / "copy")
    kb = mh.KnowledgeBase.open(str(tmp_path / "copy"))
    sampler = MetaHPOSampler(optimizer="metabo", knowledge=kb, seed=0)
    proposer = sampler._proposer(mh.presets.get("hgb-classifier").space)
    assert proposer.optimizer.name == "metabo"
    assert proposer.space.names == mh.presets.get("hgb-classifier").space.names
    assert not proposer.optimizer._provider.initial


def test_auto_without_enough_knowledge_records_gpbo() -> None:
    sampler = MetaHPOSampler(optimizer="auto", seed=0)
    assert sampler.optimizer_choice is None
    study = optuna.create_study(sampler=sampler)
    study.optimize(lambda t: (t.suggest_float("x", 0.0, 1.0) - 0.5) ** 2, n_trials=3)
    assert next(iter(sampler._proposers.values())).optimizer.name == "gpbo"
    assert sampler.optimizer_choice == {
        "optimizer": "gpbo",
        "reason": "0 related tasks among the 0 tasks of the knowledge (built in memory) (MetaBO needs 3)",
    }
    # An optimizer named, not chosen, records no choice.
    named = MetaHPOSampler(optimizer="sobol", seed=0)
    optuna.create_study(sampler=named).optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=3)
    assert named.optimizer_choice is None


def test_a_storage_listed_before_the_bundle_does_not_hide_its_ready_trained_model(no_meta_training, tmp_path) -> None:
    # A past task of the preset's space whose parameters are listed in another order (a
    # storage's study created with the space written differently), listed before the bundle.
    space = mh.presets.get("hgb-classifier").space
    first = mh.bundled_knowledge("hgb-classifier")[mh.bundled_knowledge("hgb-classifier").names[0]]
    reversed_space = mh.Space({name: space[name] for name in reversed(space.names)})
    mine = mh.Task(name="mine-reversed", space=reversed_space, configs=first.configs, losses=first.losses,
                   budgets=first.budgets, descriptor=first.descriptor)
    mh.KnowledgeBase([mine]).save(tmp_path / "mine")
    knowledge = [str(tmp_path / "mine"), "bundled:hgb-classifier"]
    assert mh.KnowledgeBase.open(knowledge).names[0] == "mine-reversed"
    sampler = MetaHPOSampler(optimizer="auto", knowledge=knowledge, seed=0)
    optuna.create_study(sampler=sampler).optimize(_hgb_objective, n_trials=2)
    # The order of the space the bundle's model was trained on: the model starts MetaBO.
    (proposer,) = sampler._proposers.values()
    assert proposer.space.names == space.names
    assert sampler.optimizer_choice is not None and "ready-trained" in sampler.optimizer_choice["reason"]
    assert proposer.optimizer._provider.initial


def test_the_choice_is_the_current_spaces_when_one_sampler_serves_two_spaces() -> None:
    # Three past tasks of x (MetaBO for it), none of y (GP-BO for it).
    kb = _three_tasks_of_x()
    sampler = MetaHPOSampler(optimizer="auto", knowledge=kb, seed=0)
    on_x, on_y = optuna.create_study(sampler=sampler), optuna.create_study(sampler=sampler)
    on_x.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=2)
    assert sampler.optimizer_choice is not None and sampler.optimizer_choice["optimizer"] == "metabo"
    on_y.optimize(lambda t: t.suggest_float("y", 0.0, 1.0), n_trials=2)
    assert sampler.optimizer_choice is not None and sampler.optimizer_choice["optimizer"] == "gpbo"
    # Back to x: its optimizer is reused, and the choice said is x's again.
    on_x.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=1)
    assert sampler.optimizer_choice is not None and sampler.optimizer_choice["optimizer"] == "metabo"


class _SharedLock:
    """The sampler's lock, telling when a second caller comes to it."""

    def __init__(self, arrived: threading.Event) -> None:
        self._lock = threading.Lock()
        self._callers = 0
        self._arrived = arrived

    def __enter__(self) -> None:
        self._callers += 1
        if self._callers > 1:
            self._arrived.set()
        self._lock.acquire()

    def __exit__(self, *exc: Any) -> None:
        self._lock.release()


def test_threads_sharing_a_sampler_build_one_optimizer_per_space(monkeypatch) -> None:
    from metahpo.integrations import optuna as bridge

    building, second_arrived, release = threading.Event(), threading.Event(), threading.Event()
    built: list[str] = []
    real_auto = bridge.auto_optimizer

    def held_auto(*args: Any, **kwargs: Any) -> Any:
        built.append(threading.current_thread().name)
        if len(built) == 1:
            building.set()
            assert release.wait(30), "the second thread never came"
        else:
            second_arrived.set()  # a second build of the same space, without the lock
        return real_auto(*args, **kwargs)

    monkeypatch.setattr(bridge, "auto_optimizer", held_auto)
    sampler = MetaHPOSampler(optimizer="auto", seed=0)
    study = optuna.create_study(sampler=sampler)
    trials = {"first": study.ask(), "second": study.ask()}
    # From here on, the sampler's lock is taken only to find or build the space's optimizer.
    sampler._lock = _SharedLock(second_arrived)  # type: ignore[assignment]
    distributions = {"x": optuna.distributions.FloatDistribution(0.0, 1.0)}
    errors: list[BaseException] = []

    def propose() -> None:
        try:
            sampler.sample_relative(study, trials[threading.current_thread().name], distributions)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    first = threading.Thread(target=propose, name="first")
    first.start()
    assert building.wait(30)
    second = threading.Thread(target=propose, name="second")
    second.start()
    assert second_arrived.wait(30)  # at the lock, or in a second build
    release.set()
    first.join()
    second.join()
    assert errors == []
    assert built == ["first"]
    assert len(sampler._proposers) == 1
