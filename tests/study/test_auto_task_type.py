"""A study whose task records its kind of problem learns only from tasks of that kind:
``"auto"`` counts them, MetaBO warm-starts and meta-learns from them."""

from __future__ import annotations

import numpy as np
import pytest

import metahpo as mh

BOTH = ["bundled:hgb-classifier", "bundled:hgb-regressor"]


def _task(task_type: str) -> mh.Task:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] > 0).astype(int) if task_type == "classification" else X[:, 0] * 3.0 + rng.normal(size=60)
    return mh.Task.from_data(X, y)


def _reason(study: mh.Study) -> str:
    return study.user_attrs["optimizer_choice"]["reason"]


def test_auto_does_not_count_a_classifiers_tasks_for_a_regression_study():
    n_classifier = len(mh.bundled_knowledge("hgb-classifier"))
    n_regressor = len(mh.bundled_knowledge("hgb-regressor"))
    alone = mh.create_study(preset="hgb-regressor", task=_task("regression"), knowledge="bundled:hgb-classifier")
    assert alone.optimizer.name == "gpbo"
    assert _reason(alone).startswith(f"0 related tasks among the {n_classifier} tasks")
    assert f"{n_classifier} of another kind of problem than this regression study left out" in _reason(alone)
    # Beside the regressor's own tasks, the classifier's are left out of the count.
    space = mh.presets.get("hgb-regressor").space
    both = mh.create_study(space=space, task=_task("regression"), knowledge=BOTH)
    assert both.optimizer.name == "metabo"
    assert _reason(both).startswith(f"{n_regressor} related tasks among the {n_classifier + n_regressor} tasks")


def test_auto_still_counts_a_classifiers_tasks_for_a_classifier_or_a_study_of_no_recorded_kind():
    n_classifier = len(mh.bundled_knowledge("hgb-classifier"))
    classifier = mh.create_study(preset="hgb-classifier", task=_task("classification"),
                                 knowledge="bundled:hgb-classifier")
    assert classifier.optimizer.name == "metabo"
    assert _reason(classifier).startswith(f"{n_classifier} related tasks") and "left out" not in _reason(classifier)
    assert "ready-trained" in _reason(classifier)
    # No task and no preset: the study records no kind of problem, and every task of a
    # related space counts.
    space = mh.presets.get("hgb-regressor").space
    unknown = mh.create_study(space=space, knowledge="bundled:hgb-classifier")
    assert unknown.optimizer.name == "metabo"
    assert _reason(unknown).startswith(f"{n_classifier} related tasks")
    assert "task_type" not in unknown.user_attrs and unknown.history().task_type is None


def test_a_preset_study_without_a_task_records_the_presets_kind(tmp_path):
    storage = f"sqlite:///{tmp_path / 'kinds.db'}"
    n_classifier = len(mh.bundled_knowledge("hgb-classifier"))
    study = mh.create_study(preset="hgb-regressor", knowledge="bundled:hgb-classifier", storage=storage,
                            name="regression")
    assert study.optimizer.name == "gpbo"
    assert f"{n_classifier} of another kind of problem than this regression study left out" in _reason(study)
    assert study.user_attrs["task_type"] == "regression"
    reopened = mh.load_study("regression", storage)
    assert reopened.history().task_type == "regression"
    with pytest.raises(mh.exceptions.InvalidParameterError, match="task_type"):
        reopened.set_user_attr("task_type", "classification")
    # A task given with the preset is what the study records; the preset's kind is stored
    # beside it, so that a task given later is checked against the preset too.
    given = mh.create_study(preset="hgb-regressor", task=_task("regression"), storage=storage, name="given")
    assert given.user_attrs["task_type"] == "regression" and given.history().task_type == "regression"


def test_metabo_leaves_out_another_kind_for_a_preset_study_without_a_task():
    study = mh.create_study(preset="hgb-regressor", optimizer="metabo", knowledge=BOTH, seed=0)
    regressors = set(mh.bundled_knowledge("hgb-regressor").names)
    trial = study.ask()
    why = study.trials[trial.number].user_attrs["why"]
    assert why["source"] == "portfolio" and set(why["tasks"]) <= regressors


def test_metabo_warm_starts_a_regression_study_from_regression_tasks_only():
    space = mh.presets.get("hgb-regressor").space
    study = mh.create_study(space=space, task=_task("regression"), knowledge=BOTH, seed=0)
    regressors = set(mh.bundled_knowledge("hgb-regressor").names)
    for _ in range(2):
        trial = study.ask()
        why = study.trials[trial.number].user_attrs["why"]
        assert why["source"] == "portfolio" and why["n_tasks"] > 0
        assert set(why["tasks"]) <= regressors
        study.tell(trial, 0.5)
    # MetaBO named directly agrees with "auto": no related task, so GP-BO's suggestions.
    named = mh.create_study(preset="hgb-regressor", task=_task("regression"),
                            knowledge="bundled:hgb-classifier", optimizer="metabo", seed=0)
    trial = named.ask()
    assert named.trials[trial.number].user_attrs["why"]["reason"] == "0 related tasks (< 3)"


def test_a_classifiers_ready_trained_model_does_not_start_a_regression_study(tmp_path):
    regression = mh.bundled_knowledge("hgb-regressor")
    mh.KnowledgeBase([regression[name] for name in regression.names[:3]]).save(tmp_path / "mine")
    knowledge = ["bundled:hgb-classifier", str(tmp_path / "mine")]
    # On the classifier's space, which its shipped model reads: three regression tasks are
    # related, but the model learned from the classifier's tasks is no start for them.
    space = mh.presets.get("hgb-classifier").space
    study = mh.create_study(space=space, task=_task("regression"), knowledge=knowledge)
    assert study.optimizer.name == "metabo"
    assert _reason(study).startswith("3 related tasks") and "ready-trained" not in _reason(study)
    classifier = mh.create_study(space=space, task=_task("classification"), knowledge=knowledge)
    assert "ready-trained" in _reason(classifier)


class _Asked(Exception):
    pass


def test_metabo_meta_learns_from_the_tasks_of_the_studys_kind(monkeypatch):
    from metahpo.surrogates.meta import MetaModelProvider

    asked = []

    def model(self, knowledge, encoding, exclude=()):
        asked.append(knowledge)
        raise _Asked

    monkeypatch.setattr(MetaModelProvider, "model", model)
    space = mh.presets.get("hgb-regressor").space
    study = mh.create_study(space=space, task=_task("regression"), knowledge=BOTH, seed=0)
    for _ in range(study.optimizer.n_warm_start):
        study.tell(study.ask(), 0.5)
    with pytest.raises(_Asked):
        study.ask()
    assert sorted(asked[0].names) == sorted(mh.bundled_knowledge("hgb-regressor").names)


def test_a_task_recording_only_its_kind_is_the_studys_kind(tmp_path):
    # Task(kind=) without a descriptor: the study is of that kind, as MetaHPOSampler(task=)
    # reads it, and the classifier's tasks are no knowledge for it.
    storage = f"sqlite:///{tmp_path / 'kinds.db'}"
    n_classifier = len(mh.bundled_knowledge("hgb-classifier"))
    space = mh.presets.get("hgb-classifier").space
    study = mh.create_study(space=space, task=mh.Task("mine", kind="regression"), knowledge="bundled:hgb-classifier",
                            storage=storage, name="mine", optimizer="auto", seed=0)
    assert study.optimizer.name == "gpbo"
    assert f"{n_classifier} of another kind of problem than this regression study left out" in _reason(study)
    assert study.history().task_type == "regression"
    # Stored with the study: reopened, and once finished, a task of its kind.
    reopened = mh.load_study("mine", storage)
    assert reopened.history().task_type == "regression"
    for _ in range(5):
        trial = reopened.ask()
        reopened.tell(trial, float(trial.config["learning_rate"]))
    assert mh.KnowledgeBase.from_storage(storage)["mine"].task_type == "regression"
    # Its to_dict() form says the same; with a preset, the task's kind must be the preset's.
    assert mh.create_study(space=space, task=mh.Task("d", kind="regression").to_dict(),
                           optimizer="random").history().task_type == "regression"
    with pytest.raises(mh.exceptions.InvalidParameterError, match="'hgb-classifier' preset is for classification") as refused:
        mh.create_study(preset="hgb-classifier", task=mh.Task("mine", kind="regression"))
    # A kind given as such is corrected as such; a kind read from data may be a misread target.
    assert "give the task the kind 'classification' (mh.Task(name, kind='classification'))" in str(refused.value)
    assert "from_data" not in str(refused.value)
    with pytest.raises(mh.exceptions.InvalidParameterError, match="'hgb-classifier' preset is for classification") as refused:
        mh.create_study(preset="hgb-classifier", task={"n_samples": 60.0, "n_classes": 0.0})
    assert "mh.Task.from_data(X, y, task_type='classification') if its target was misread" in str(refused.value)


def test_a_preset_gives_its_kind_to_a_task_that_records_none():
    study = mh.create_study(preset="hgb-regressor", task={"n_samples": 100.0}, optimizer="random")
    assert study.history().task_type == "regression" and study.user_attrs["task_type"] == "regression"


@pytest.mark.parametrize(
    ("task", "message"),
    [
        ({"name": "t", "descriptor": {"n_classes": 2.0}, "kind": "regression"},
         r"The 'kind' of the 'task' parameter of create_study must be 'classification', as the n_classes of "
         r"its descriptor records\. Got 'regression' instead"),
        ({"name": "t", "kind": "ranking"},
         r"The 'kind' of the 'task' parameter of create_study must be 'classification', 'regression' or None\. "
         r"Got 'ranking' instead"),
        ("credit", r"The 'task' parameter of create_study must be a metahpo Task.*Got 'credit' instead"),
    ],
)
def test_a_task_whose_kind_is_wrong_is_refused_before_the_study_is_stored(task, message):
    storage = mh.InMemoryStorage()
    with pytest.raises(mh.exceptions.InvalidParameterError, match=message):
        mh.create_study(space=mh.Space({"x": mh.Float(0.0, 1.0)}), task=task, storage=storage)
    assert storage.list_studies() == []
    # The same task is refused by the Optuna sampler with the same check.
    pytest.importorskip("optuna")
    from metahpo.integrations.optuna import MetaHPOSampler

    with pytest.raises(mh.exceptions.InvalidParameterError, match=message.replace("create_study", "MetaHPOSampler")):
        MetaHPOSampler(task=task)


def test_a_task_given_later_must_not_contradict_the_presets_stored_kind(tmp_path):
    storage = f"sqlite:///{tmp_path / 'later.db'}"
    study = mh.create_study(preset="hgb-regressor", optimizer="random", storage=storage, name="reg")
    space = mh.presets.get("hgb-regressor").space
    message = r"describes a classification dataset, but the study 'reg' \(its stored 'task_type'\) is for regression"
    with pytest.raises(mh.exceptions.InvalidParameterError, match=r"The 'value' parameter of Study.set_user_attr.*" + message):
        study.set_user_attr("task", _task("classification").to_dict())
    with pytest.raises(mh.exceptions.InvalidParameterError, match=r"The 'task' parameter of create_study " + message):
        mh.create_study(name="reg", space=space, storage=storage, task=_task("classification"), load_if_exists=True)
    assert "task" not in mh.load_study("reg", storage).user_attrs
    assert study.history().task_type == "regression"
    with pytest.raises(mh.exceptions.InvalidParameterError, match="give the task the kind 'regression'"):
        study.set_user_attr("task", mh.Task("mine", kind="classification").to_dict())
    # A task of the preset's kind, or of none, is taken.
    study.set_user_attr("task", _task("regression").to_dict())
    assert mh.load_study("reg", storage).history().task_type == "regression"


def test_a_task_given_later_is_checked_against_the_preset_of_a_study_created_with_a_task(tmp_path):
    storage = f"sqlite:///{tmp_path / 'later.db'}"
    study = mh.create_study(preset="hgb-classifier", task=mh.Task("a", kind="classification"), optimizer="random",
                            storage=storage, name="clf")
    message = (r"The 'value' parameter of Study.set_user_attr for the key 'task' describes a regression dataset, "
               r"but the study 'clf' \(its stored 'task_type'\) is for classification\. Give a task of "
               r"classification data: give the task the kind 'classification'")
    for opened in (study, mh.load_study("clf", storage)):
        with pytest.raises(mh.exceptions.InvalidParameterError, match=message):
            opened.set_user_attr("task", mh.Task("b", kind="regression").to_dict())
        assert opened.history().task_type == "classification"
    assert mh.load_study("clf", storage).user_attrs["task"]["name"] == "a"
    # One rule and one message: at creation, the preset refuses the same task alike.
    with pytest.raises(mh.exceptions.InvalidParameterError,
                       match=message.replace("The 'value' parameter of Study.set_user_attr for the key 'task'",
                                             "The 'task' parameter of create_study")
                                    .replace(r"the study 'clf' \(its stored 'task_type'\)", "the 'hgb-classifier' preset")):
        mh.create_study(preset="hgb-classifier", task=mh.Task("b", kind="regression"))


def test_a_task_given_later_is_what_the_live_study_records_at_once():
    study = mh.create_study(space=mh.Space({"x": mh.Float(0.0, 1.0)}), optimizer="random")
    assert study.history().task_type is None and study.history().descriptor is None
    task = _task("classification")
    study.set_user_attr("task", task.to_dict())
    assert study.history().task_type == "classification"
    assert study.history().descriptor == dict(task.descriptor)
    study.set_user_attr("task", mh.Task("mine", kind="regression").to_dict())
    assert study.history().task_type == "regression" and study.history().descriptor is None
