"""MetaHPOSampler told the study's kind of problem (``task=`` or ``task_type=``) learns from
no past task of another kind, as ``create_study`` does: ``"auto"`` counts only the tasks of
that kind, MetaBO and the portfolio warm-start from them."""

from __future__ import annotations

import numpy as np
import pytest

optuna = pytest.importorskip("optuna")

import metahpo as mh  # noqa: E402
from metahpo.exceptions import InvalidParameterError  # noqa: E402
from metahpo.integrations.optuna import MetaHPOSampler  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)

# The space the sampler sees for the objective below (Optuna's intersection search space).
SPACE = mh.Space({"x": mh.Float(0.0, 1.0)})
# Classifiers did best near x = 0.9, regressors near x = 0.1.
OPTIMA = {"classification": (0.85, 0.9, 0.95), "regression": (0.05, 0.1, 0.15)}


def _objective(trial: optuna.Trial) -> float:
    return (trial.suggest_float("x", 0.0, 1.0) - 0.5) ** 2


def _knowledge(*kinds: str) -> mh.KnowledgeBase:
    design = SPACE.sobol(16, seed=0)
    kb = mh.KnowledgeBase()
    for kind in kinds:
        n_classes = 2.0 if kind == "classification" else 0.0
        for i, optimum in enumerate(OPTIMA[kind]):
            kb.add_task(SPACE, design, [(c["x"] - optimum) ** 2 for c in design], name=f"{kind}-{i}",
                        descriptor={"n_samples": 500.0, "n_classes": n_classes})
    return kb


def _run(sampler: MetaHPOSampler, n_trials: int = 2) -> optuna.Study:
    study = optuna.create_study(sampler=sampler)
    study.optimize(_objective, n_trials=n_trials)
    return study


def _chosen(sampler: MetaHPOSampler) -> str:
    (optimizer,) = [proposer.optimizer for proposer in sampler._proposers.values()]
    return optimizer.name


def _regression_task() -> mh.Task:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    return mh.Task.from_data(X, X[:, 0] * 2.0 + rng.normal(size=60))


def test_auto_does_not_count_tasks_of_another_kind() -> None:
    kb = _knowledge("classification")
    # No kind said: the three classification tasks are related, so MetaBO.
    unknown = MetaHPOSampler(knowledge=kb, seed=0)
    _run(unknown)
    assert _chosen(unknown) == "metabo"
    classifier = MetaHPOSampler(knowledge=kb, seed=0, task_type="classification")
    _run(classifier)
    assert _chosen(classifier) == "metabo"
    # A regression study has no related task of its kind: GP-BO, as create_study chooses.
    for sampler in (MetaHPOSampler(knowledge=kb, seed=0, task_type="regression"),
                    MetaHPOSampler(knowledge=kb, seed=0, task=_regression_task())):
        _run(sampler)
        assert _chosen(sampler) == "gpbo"


@pytest.mark.parametrize("optimizer", ["auto", "metabo", "portfolio"])
def test_the_warm_start_comes_from_the_tasks_of_the_studys_kind(optimizer: str) -> None:
    kb = _knowledge("classification", "regression")
    regression = _run(MetaHPOSampler(optimizer, knowledge=kb, seed=0, task_type="regression"))
    classification = _run(MetaHPOSampler(optimizer, knowledge=kb, seed=0, task_type="classification"))
    # Trial 0 is Optuna's independent draw; trial 1 is the first warm-start config.
    assert regression.trials[1].params["x"] < 0.3
    assert classification.trials[1].params["x"] > 0.7


def test_a_descriptor_records_the_kind_and_is_what_metabo_compares_tasks_with() -> None:
    kb = _knowledge("classification", "regression")
    task = _regression_task()
    sampler = MetaHPOSampler("metabo", knowledge=kb, seed=0, task=task.to_dict())
    study = _run(sampler)
    assert study.trials[1].params["x"] < 0.3
    history = sampler._history(study, study.trials[-1], SPACE, {"x": optuna.distributions.FloatDistribution(0, 1)})
    assert history.task_type == "regression" and history.descriptor == dict(task.descriptor)
    # A task that records its kind without a descriptor, and a plain descriptor dict.
    assert MetaHPOSampler(task=mh.Task("mine", kind="regression"))._task_type == "regression"
    assert MetaHPOSampler(task={"n_classes": 3.0})._task_type == "classification"
    assert MetaHPOSampler(task={"n_samples": 10.0})._task_type is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task_type": "regresion"}, r"The 'task_type' parameter of MetaHPOSampler must be 'classification', "
                                     r"'regression' or None\. Got 'regresion' instead"),
        ({"task_type": 0}, r"'task_type' parameter of MetaHPOSampler.*Got 0 instead"),
        ({"task": "credit"}, r"The 'task' parameter of MetaHPOSampler must be a metahpo Task.*Got 'credit' instead"),
        ({"task": {"n_classes": float("nan")}}, r"'task' parameter of MetaHPOSampler.*'n_classes'.*nan"),
        ({"task": {"name": "t", "kind": "ranking"}}, r"'kind' of the 'task' parameter.*Got 'ranking' instead"),
        ({"task": {"n_classes": 2.0}, "task_type": "regression"},
         r"'task_type' parameter of MetaHPOSampler is 'regression', but its 'task' records a classification"),
    ],
)
def test_a_bad_kind_or_task_is_refused_when_the_sampler_is_built(kwargs, message) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        MetaHPOSampler(**kwargs)


def test_knowledge_from_optuna_reads_a_studys_task_as_knowledge_base_from_optuna_does(caplog) -> None:
    from metahpo.integrations.optuna import knowledge_from_optuna

    storage = optuna.storages.InMemoryStorage()
    records = {
        "kind-only": mh.Task("kind-only", kind="regression").to_dict(),
        "described": {"name": "described", "descriptor": {"n_samples": 500.0, "n_classes": 2.0}},
        "plain": None,
        "not-a-task": "credit",
    }
    studies = []
    for name, record in records.items():
        study = optuna.create_study(study_name=name, storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
        if record is not None:
            study.set_user_attr("task", record)
        study.optimize(_objective, n_trials=5)
        studies.append(study)
    with caplog.at_level("WARNING", logger="metahpo.knowledge._optuna"):
        sampled = knowledge_from_optuna(studies)
    imported = mh.KnowledgeBase.from_optuna(storage)
    expected = {"kind-only": "regression", "described": "classification", "plain": None, "not-a-task": None}
    for kb in (sampled, imported):
        assert {name: kb[name].task_type for name in records} == expected
        assert kb["described"].descriptor == {"n_samples": 500.0, "n_classes": 2.0}
        assert kb["kind-only"].descriptor is None
        # A regression study learns from no classification task, and from the task of its kind.
        assert sorted(kb.of_task_type("regression").names) == ["kind-only", "not-a-task", "plain"]
    assert "user_attrs['task'] is not a task descriptor, ignored" in caplog.text
