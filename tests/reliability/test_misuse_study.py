"""A study used wrongly: handles of another study, its own attributes, bad arguments to
``create_study``, ``optimize``, ``report`` and ``tell``, and numpy numbers where numbers go."""

from __future__ import annotations

import numpy as np
import pytest

import metahpo as mh
from metahpo.exceptions import InvalidParameterError
from metahpo.trial import TrialState

from ._shared import _space


def test_tell_refuses_a_handle_of_another_study():
    a = mh.create_study(space=_space(), optimizer="random", seed=0)
    b = mh.create_study(space=_space(), optimizer="random", seed=1)
    handle_a, _ = a.ask(), b.ask()
    with pytest.raises(InvalidParameterError, match="another study"):
        b.tell(handle_a, 0.1)
    assert [t.state for t in b.trials] == [TrialState.RUNNING]
    assert a.tell(handle_a, 0.1).state is TrialState.COMPLETE


def test_tell_refuses_a_value_for_a_failed_trial():
    study = mh.create_study(space=mh.Space({"x": mh.Float(0.0, 1.0)}), optimizer="random", seed=0)
    handle = study.ask()
    with pytest.raises(InvalidParameterError, match=r"'value' parameter of tell must be None for a FAILED"):
        study.tell(handle, 0.3, state="FAILED")
    assert study.trials[0].state is TrialState.RUNNING  # nothing stored: it can still be told
    assert study.tell(handle, state="FAILED", error="diverged").value is None


def test_a_handle_is_told_through_another_opening_of_its_study(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    study = mh.create_study(name="s", space=_space(), storage=url, optimizer="random", seed=0)
    handle = study.ask()
    assert mh.load_study("s", url).tell(handle, 0.5).state is TrialState.COMPLETE


@pytest.mark.parametrize(
    "key", ["enqueued_configs", "task", "optimizer_choice", "ready_meta_models", "knowledge_update",
            "study_finished", "task_type"]
)
def test_a_studys_own_attributes_cannot_be_overwritten(key):  # "task" only by a descriptor
    study = mh.create_study(space=_space(), optimizer="random", seed=0)
    study.enqueue({"x": 0.25})
    with pytest.raises(InvalidParameterError, match=key) as refused:
        study.set_user_attr(key, "garbage")
    if key != "task":  # the message names the keys refused, not 'task', which a descriptor may set
        assert ("'enqueued_configs', 'knowledge_update', 'optimizer_choice', 'ready_meta_models', "
                "'study_finished', 'task_type'] (" in str(refused.value))
    assert study.ask().config == {"x": 0.25}  # the queue still works
    study.set_user_attr("note", "mine")
    assert study.user_attrs["note"] == "mine"


@pytest.mark.parametrize("key", ["why", "enqueued", "optimizer_state", "dispatch"])
def test_a_trials_own_attributes_cannot_be_overwritten(key):
    study = mh.create_study(space=_space(), optimizer="random", seed=0)
    study.enqueue({"x": 0.25})
    study.enqueue({"x": 0.75})
    first = study.ask()
    with pytest.raises(InvalidParameterError, match=rf"'key' parameter of set_user_attr.*Got '{key}'"):
        first.set_user_attr(key, True)  # True == 1 would have marked entry 1 as taken
    study.tell(first, 0.5)
    second = study.ask()
    assert second.config == {"x": 0.75} and second.user_attrs["enqueued"] == 1
    assert study.trials[0].user_attrs["why"] == {"source": "enqueued", "entry": 0}


def test_optimize_refuses_bad_catch_and_callbacks_before_any_trial():
    study = mh.create_study(space=_space(), optimizer="random", seed=0)
    with pytest.raises(InvalidParameterError, match="'catch'"):
        study.optimize(lambda t: 0.0, n_trials=1, catch=5)
    with pytest.raises(InvalidParameterError, match="'callbacks'"):
        study.optimize(lambda t: 0.0, n_trials=1, callbacks=[5])
    assert study.trials == []


def test_numpy_scalars_are_numbers():
    space = mh.Space({"x": mh.Float(np.float32(0.0), 1.0), "n": mh.Int(np.int64(1), 5)})
    assert space.validate({"x": np.float32(0.5), "n": np.int32(2)}) == {"x": 0.5, "n": 2}
    with pytest.raises(InvalidParameterError):
        space.validate({"x": np.bool_(True), "n": 2})


def test_a_task_that_is_not_a_descriptor_is_refused_before_the_study_is_stored():
    storage = mh.InMemoryStorage()
    with pytest.raises(InvalidParameterError, match="task"):
        mh.create_study(name="t", space=_space(), task=np.zeros((3, 2)), storage=storage)
    assert storage.list_studies() == []


def test_a_task_descriptor_may_be_set_after_creation():
    study = mh.create_study(space=_space(), optimizer="random", seed=0)
    study.set_user_attr("task", {"name": "d", "descriptor": {"n_samples": 100.0}})
    assert study.user_attrs["task"]["name"] == "d"


@pytest.mark.parametrize(
    ("option", "value"),
    [("optimizer", "gbpo"), ("direction", "minimise"), ("scheduler", "hyperbnd"), ("seed", -1),
     ("load_if_exists", "yes"), ("name", ""), ("space", {"x": (0, 1)}), ("preset", "hgb")],
)
def test_a_misspelt_option_leaves_no_database_behind(tmp_path, option, value):
    arguments = {"space": _space(), option: value}
    with pytest.raises(InvalidParameterError, match=f"'{option}' parameter"):
        mh.create_study(storage=f"sqlite:///{tmp_path}/x.db", **arguments)
    assert not (tmp_path / "x.db").exists()


def test_report_refuses_a_step_that_is_not_a_finite_non_negative_number():
    study = mh.create_study(space=_space(), optimizer="random", seed=0)
    trial = study.ask()
    for step in (-1, float("nan"), float("inf"), "3"):
        with pytest.raises(InvalidParameterError, match=r"'step' parameter of TrialHandle\.report"):
            trial.report(step, 0.5)
    trial.report(2, 0.5)
    trial.report(2, 0.3)  # reported again: replaced
    assert study.storage.get_trial(study.study_id, trial.number).intermediate == {2.0: 0.3}


def test_report_refuses_a_step_lower_than_one_already_reported():
    study = mh.create_study(space=_space(), optimizer="random", seed=0)
    trial = study.ask()
    trial.report(5, 0.5)
    with pytest.raises(InvalidParameterError, match=r"'step' parameter of TrialHandle\.report must be >= 5\.0.*Got 3\.0"):
        trial.report(3, 0.4)
    trial.report(5, 0.45)  # the last step again: replaced
    trial.report(6, 0.4)
    assert study.storage.get_trial(study.study_id, trial.number).intermediate == {5.0: 0.45, 6.0: 0.4}


def test_numpy_integers_are_ints_where_ints_are_asked_for():
    import numpy as np

    study = mh.create_study(space=mh.Space({"x": mh.Float(0, 1)}), optimizer="random", seed=np.int64(3))
    study.optimize(lambda t: t.config["x"], n_trials=np.int32(2), show_progress=False)
    assert study.seed == 3 and len(study.trials) == 2
    with pytest.raises(InvalidParameterError, match="'seed' parameter"):
        mh.create_study(space=mh.Space({"x": mh.Float(0, 1)}), seed=np.bool_(True))
    # Kept as ints: the optimizer and scheduler are stored as JSON with the study.
    stored = mh.create_study(space=mh.Space({"x": mh.Float(0, 1)}), seed=0,
                             optimizer=mh.GPBO(n_initial=np.int64(3), n_restarts=np.int64(2)),
                             scheduler=mh.Hyperband(1, 9, eta=np.int64(3)))
    assert stored.optimizer.n_initial == 3 and type(stored.optimizer.n_initial) is int


def test_telling_a_trial_number_the_study_does_not_have_is_a_parameter_error():
    study = mh.create_study(space=mh.Space({"x": mh.Float(0.0, 1.0)}), optimizer="random", seed=0)
    study.tell(study.ask(), 0.5)
    with pytest.raises(InvalidParameterError, match=r"'trial' parameter of Study.tell.*Got 999"):
        study.tell(999, 0.3)
    assert [t.value for t in study.trials] == [0.5]
