from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import metahpo as mh
from metahpo.exceptions import (
    DuplicatedStudyError,
    InvalidParameterError,
    StudyNotFoundError,
    TrialStateError,
)
from metahpo.schedulers import BaseScheduler, Job
from metahpo.storage import InMemoryStorage
from metahpo.trial import TrialState

SPACE = mh.Space({"x": mh.Float(-5.0, 5.0), "n": mh.Int(1, 10), "c": mh.Categorical(["a", "b"])})


def quadratic(trial):
    return (trial.config["x"] - 1.0) ** 2 + trial.config["n"]


def test_optimize_finds_a_good_point_and_records_every_trial():
    study = mh.create_study(space=SPACE, optimizer="random", seed=0)
    study.optimize(quadratic, n_trials=40, show_progress=False)
    assert len(study.trials) == 40
    assert [t.number for t in study.trials] == list(range(40))
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    assert study.best_value == min(t.value for t in study.trials)
    assert study.best_value < 3.0


def test_maximize_picks_the_largest_value():
    study = mh.create_study(space=SPACE, optimizer="sobol", seed=0, direction="maximize")
    study.optimize(quadratic, n_trials=10, show_progress=False)
    assert study.best_value == max(t.value for t in study.trials)


def test_failing_objective_is_a_failed_trial_and_the_study_goes_on():
    def objective(trial):
        if trial.number % 3 == 0:
            raise RuntimeError(f"boom {trial.number}")
        return quadratic(trial)

    study = mh.create_study(space=SPACE, optimizer="random", seed=1)
    study.optimize(objective, n_trials=9, show_progress=False)
    failed = [t for t in study.trials if t.state is TrialState.FAILED]
    assert [t.number for t in failed] == [0, 3, 6]
    assert "RuntimeError: boom 3" in failed[1].error
    assert sum(t.state is TrialState.COMPLETE for t in study.trials) == 6


def test_catch_nothing_reraises_after_recording_the_failure():
    def objective(trial):
        raise KeyError("missing")

    study = mh.create_study(space=SPACE, optimizer="random", seed=1)
    with pytest.raises(KeyError):
        study.optimize(objective, n_trials=5, catch=(), show_progress=False)
    assert [t.state for t in study.trials] == [TrialState.FAILED]


def test_metahpos_errors_inside_the_objective_follow_catch_too():
    # A report of NaN raises metahpo's InvalidParameterError from inside the objective: it
    # is the objective's error, re-raised under catch=() and kept with its traceback.
    def objective(trial):
        trial.report(1, float("nan"))
        return 1.0

    study = mh.create_study(space=SPACE, optimizer="random", seed=1)
    with pytest.raises(mh.InvalidParameterError):
        study.optimize(objective, n_trials=3, catch=(), show_progress=False)
    assert [t.state for t in study.trials] == [TrialState.FAILED]
    study.optimize(objective, n_trials=2, show_progress=False)
    assert "Traceback" in study.trials[-1].error and "report" in study.trials[-1].error


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf"), "0.1", None, [1.0]])
def test_nan_inf_and_non_numbers_fail_the_trial_with_a_clear_message(bad):
    study = mh.create_study(space=SPACE, optimizer="random", seed=1)
    study.optimize(lambda t: bad, n_trials=1, show_progress=False)
    trial = study.trials[0]
    assert trial.state is TrialState.FAILED
    assert "'value' of a trial must be a finite number" in trial.error


def test_tell_refuses_nan_and_keeps_the_trial_running():
    study = mh.create_study(space=SPACE, optimizer="random", seed=1)
    trial = study.ask()
    with pytest.raises(InvalidParameterError, match="finite number"):
        study.tell(trial, float("nan"))
    assert study.trials[0].state is TrialState.RUNNING
    study.tell(trial, 1.5)
    with pytest.raises(TrialStateError):
        study.tell(trial, 2.0)
    assert study.trials[0].value == 1.5


def test_tell_failed_and_pruned_states():
    study = mh.create_study(space=SPACE, optimizer="random", seed=1)
    a, b = study.ask(), study.ask()
    b.report(1, 0.7)
    study.tell(a, state="FAILED", error="out of memory")
    study.tell(b, state=TrialState.PRUNED)
    trials = study.trials
    assert trials[0].state is TrialState.FAILED and trials[0].error == "out of memory"
    assert trials[1].state is TrialState.PRUNED and trials[1].value == 0.7
    assert trials[1].intermediate == {1.0: 0.7}
    with pytest.raises(InvalidParameterError, match="'state' parameter of tell"):
        study.tell(study.ask(), state="RUNNING")


def test_pruned_exception_marks_the_trial_pruned():
    def objective(trial):
        trial.report(0, 3.0)
        raise mh.TrialPruned()

    study = mh.create_study(space=SPACE, optimizer="random", seed=1)
    study.optimize(objective, n_trials=2, show_progress=False)
    assert [t.state for t in study.trials] == [TrialState.PRUNED] * 2


def test_same_seed_same_configs_different_seed_different():
    def configs(seed, optimizer):
        study = mh.create_study(space=SPACE, optimizer=optimizer, seed=seed)
        study.optimize(quadratic, n_trials=8, show_progress=False)
        return [dict(t.config) for t in study.trials]

    for optimizer in ("random", "sobol"):
        assert configs(7, optimizer) == configs(7, optimizer)
        assert configs(7, optimizer) != configs(8, optimizer)


def test_same_seed_same_configs_in_another_process():
    code = (
        "import json, metahpo as mh;"
        "s = mh.Space({'x': mh.Float(-5.0, 5.0), 'n': mh.Int(1, 10), 'c': mh.Categorical(['a', 'b'])});"
        "st = mh.create_study(space=s, optimizer='random', seed=11);"
        "st.optimize(lambda t: t.config['x'] ** 2, n_trials=5, show_progress=False);"
        "print(json.dumps([dict(t.config) for t in st.trials]))"
    )
    import json

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    study = mh.create_study(space=SPACE, optimizer="random", seed=11)
    study.optimize(lambda t: t.config["x"] ** 2, n_trials=5, show_progress=False)
    assert json.loads(out.stdout) == [dict(t.config) for t in study.trials]


def test_a_random_search_study_does_not_load_the_model_libraries():
    # torch, scipy and scikit-learn load in seconds; a study that needs no model pays nothing.
    code = (
        "import sys, metahpo as mh;"
        "st = mh.create_study(space=mh.Space({'x': mh.Float(0.0, 1.0)}), optimizer='random', seed=0);"
        "st.optimize(lambda t: t.config['x'], n_trials=3, show_progress=False);"
        "print(sorted(m for m in ('torch', 'scipy', 'sklearn') if m in sys.modules))"
    )
    # The child imports this checkout's metahpo, whatever the installed one is.
    env = {**os.environ, "PYTHONPATH": str(Path(mh.__file__).parents[1])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_parallel_threads_number_every_trial_once_and_never_repeat_a_config():
    study = mh.create_study(space=SPACE, optimizer="random", seed=2)
    study.optimize(quadratic, n_trials=60, n_jobs=4, show_progress=False)
    numbers = sorted(t.number for t in study.trials)
    assert numbers == list(range(60))
    keys = {tuple(sorted(t.config.items())) for t in study.trials}
    assert len(keys) == 60


def test_timeout_stops_starting_trials():
    import time

    study = mh.create_study(space=SPACE, optimizer="random", seed=2)
    study.optimize(lambda t: time.sleep(0.05) or 1.0, timeout=0.3, show_progress=False)
    assert 1 <= len(study.trials) <= 10


def test_callbacks_see_each_finished_trial():
    seen = []
    study = mh.create_study(space=SPACE, optimizer="random", seed=2)
    study.optimize(quadratic, n_trials=4, callbacks=[lambda s, t: seen.append(t.number)], show_progress=False)
    assert seen == [0, 1, 2, 3]


def test_duplicate_names_and_load_if_exists():
    storage = mh.InMemoryStorage()
    study = mh.create_study(name="s", space=SPACE, storage=storage, optimizer="sobol", seed=4)
    study.optimize(quadratic, n_trials=3, show_progress=False)
    with pytest.raises(DuplicatedStudyError, match=r"named 's' already exists\. Pass load_if_exists=True"):
        mh.create_study(name="s", space=SPACE, storage=storage)
    again = mh.create_study(name="s", space=SPACE, storage=storage, load_if_exists=True)
    assert len(again.trials) == 3 and again.optimizer.name == "sobol" and again.seed == 4
    other = mh.Space({"y": mh.Float(0, 1)})
    with pytest.raises(InvalidParameterError, match=r"another search space\. Got a space which lacks the study's parameters \['x', 'n', 'c'\]"):
        mh.create_study(name="s", space=other, storage=storage, load_if_exists=True)


def test_load_if_exists_keeps_a_task_given_late_and_refuses_another_one(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3))
    task, other = mh.Task.from_data(x, x[:, 0] > 0), mh.Task.from_data(x, x[:, 1] > 0)
    url = f"sqlite:///{tmp_path}/task.db"
    mh.create_study(name="s", space=SPACE, storage=url, optimizer="random", seed=0)
    again = mh.create_study(name="s", space=SPACE, storage=url, load_if_exists=True, task=task)
    assert again.user_attrs["task"] == task.to_dict()  # it was dropped without a word
    assert mh.create_study(name="s", space=SPACE, storage=url, load_if_exists=True, task=task).user_attrs == again.user_attrs
    with pytest.raises(InvalidParameterError, match=r"'task' parameter of create_study must match the stored study 's'"):
        mh.create_study(name="s", space=SPACE, storage=url, load_if_exists=True, task=other)
    # The same data described on another machine: meta-features equal up to their last bits.
    nudged = task.to_dict()
    nudged["descriptor"] = {k: v * (1 + 1e-12) for k, v in nudged["descriptor"].items()}
    assert mh.create_study(name="s", space=SPACE, storage=url, load_if_exists=True, task=nudged).name == "s"


@pytest.mark.parametrize(("optimizer", "stored", "opened"), [("auto", "gpbo", 0), ("metabo", "metabo", 1)])
def test_load_if_exists_finds_the_stored_study_before_building_an_optimizer(tmp_path, monkeypatch, optimizer,
                                                                            stored, opened):
    from metahpo.knowledge import KnowledgeBase

    url = f"sqlite:///{tmp_path}/s.db"
    mh.create_study(name="s", space=SPACE, storage=url, optimizer=optimizer, seed=0)
    specs = []
    open_knowledge = KnowledgeBase.open.__func__

    def counted_open(cls, spec):
        specs.append(spec)
        return open_knowledge(cls, spec)

    monkeypatch.setattr(KnowledgeBase, "open", classmethod(counted_open))
    again = mh.create_study(name="s", space=SPACE, storage=url, optimizer=optimizer, load_if_exists=True)
    assert again.optimizer.name == stored and again.seed == 0
    # The stored optimizer is reopened (MetaBO with its stored knowledge); "auto" does not
    # open the knowledge to choose again, nor MetaBO the default knowledge, only to be
    # replaced by the stored ones.
    assert len(specs) == opened


@pytest.mark.parametrize("kind", ["in memory", "spec"])
def test_an_auto_study_that_chose_gpbo_resumes_with_the_knowledge_it_was_created_with(tmp_path, kind):
    url = f"sqlite:///{tmp_path}/s.db"
    # Knowledge of no task related to SPACE: "auto" chooses GP-BO, which learns from none.
    knowledge = mh.KnowledgeBase() if kind == "in memory" else f"sqlite:///{tmp_path}/other.db"
    if kind == "spec":
        mh.create_study(name="other", space=mh.Space({"y": mh.Float(0, 1)}), storage=knowledge,
                        optimizer="random", seed=0)
    made = mh.create_study(name="s", space=SPACE, storage=url, knowledge=knowledge, seed=0)
    assert made.optimizer.name == "gpbo"
    choice = made.user_attrs["optimizer_choice"]
    made.tell(made.ask(), 0.5)
    # The arguments it was created with resume it; GP-BO was refused the knowledge.
    again = mh.create_study(name="s", space=SPACE, storage=url, knowledge=knowledge, seed=0,
                            load_if_exists=True)
    assert again.optimizer.name == "gpbo" and again.user_attrs["optimizer_choice"] == choice
    again.tell(again.ask(), 0.25)
    loaded = mh.load_study("s", url, knowledge=knowledge)
    assert [t.value for t in loaded.trials] == [0.5, 0.25]
    # A study named GP-BO was never given knowledge: knowledge given to reopen it is a mistake.
    mh.create_study(name="named", space=SPACE, storage=url, optimizer="gpbo", seed=0)
    with pytest.raises(InvalidParameterError, match="GPBO does not learn from knowledge"):
        mh.load_study("named", url, knowledge=knowledge)
    # Knowledge that is none, or given with an optimizer that takes none, is still refused.
    with pytest.raises(InvalidParameterError, match="knowledge"):
        mh.create_study(name="s", space=SPACE, storage=url, knowledge=42, seed=0, load_if_exists=True)
    with pytest.raises(InvalidParameterError, match="knowledge"):
        mh.load_study("s", url, knowledge=42)
    with pytest.raises(InvalidParameterError, match="GPBO does not learn from knowledge"):
        mh.create_study(name="s", space=SPACE, storage=url, optimizer="gpbo", knowledge=knowledge,
                        seed=0, load_if_exists=True)
    assert [t.value for t in mh.load_study("s", url).trials] == [0.5, 0.25]


class _CreatedMeanwhile(InMemoryStorage):
    """A storage where another process creates the study just after it was looked up."""

    def __init__(self, optimizer: str) -> None:
        super().__init__()
        self.other_optimizer = optimizer
        self.looked_up = False

    def get_study(self, name):
        if not self.looked_up:
            self.looked_up = True
            mh.create_study(name=name, space=SPACE, storage=self, optimizer=self.other_optimizer, seed=0)
            raise StudyNotFoundError(name)
        return super().get_study(name)


@pytest.mark.parametrize("optimizer", ["random", "instance"])
def test_a_study_created_by_another_process_after_the_lookup_is_resumed(optimizer):
    store = _CreatedMeanwhile("random")
    given = mh.RandomSearch() if optimizer == "instance" else optimizer
    study = mh.create_study(name="s", space=SPACE, storage=store, optimizer=given, seed=0, load_if_exists=True)
    assert store.looked_up and len(store.list_studies()) == 1
    study.tell(study.ask(), 0.5)
    assert [t.value for t in mh.load_study("s", store).trials] == [0.5]
    # What differs from the study the other process stored is refused as on any resume.
    with pytest.raises(InvalidParameterError, match="optimizer"):
        mh.create_study(name="t", space=SPACE, storage=_CreatedMeanwhile("random"), optimizer="sobol",
                        seed=0, load_if_exists=True)


def test_telling_a_trial_inside_optimize_says_that_optimize_tells_it():
    study = mh.create_study(space=SPACE, optimizer="random", seed=0)

    def objective(trial):
        study.tell(trial, 0.5)
        return 0.5

    with pytest.raises(TrialStateError, match=r"is already COMPLETE: a trial is told once\..*do not call tell there"):
        study.optimize(objective, n_trials=1, show_progress=False)
    assert [t.value for t in study.trials] == [0.5]


class _Unregistered(mh.RandomSearch):
    name = "unregistered-random"


def test_a_study_of_an_unregistered_optimizer_reopens_with_its_instance(tmp_path):
    url = f"sqlite:///{tmp_path}/own.db"
    whole = mh.create_study(name="whole", space=SPACE, storage=url, optimizer=_Unregistered(), seed=5)
    whole.optimize(quadratic, n_trials=4, show_progress=False)
    part = mh.create_study(name="part", space=SPACE, storage=url, optimizer=_Unregistered(), seed=5)
    part.optimize(quadratic, n_trials=2, show_progress=False)
    with pytest.raises(InvalidParameterError, match=r"optimizer 'unregistered-random', which is not registered.*register_optimizer"):
        mh.load_study("part", url)
    again = mh.create_study(name="part", space=SPACE, storage=url, optimizer=_Unregistered(), load_if_exists=True)
    again.optimize(quadratic, n_trials=2, show_progress=False)
    assert [dict(t.config) for t in again.trials] == [dict(t.config) for t in whole.trials]


class _Screen(BaseScheduler):
    """Every config at the screening budget: a scheduler of the user's own."""

    name = "screen"

    def __init__(self, min_budget: float, max_budget: float) -> None:
        self.min_budget, self.max_budget = min_budget, max_budget

    def next_job(self, history):
        return Job(budget=self.min_budget, bracket=0, rung=0)

    def get_params(self):
        return {"min_budget": self.min_budget, "max_budget": self.max_budget}


@pytest.mark.parametrize("optimizer", ["random", _Unregistered()], ids=["by name", "instance"])
def test_a_study_of_a_users_scheduler_reopens_with_its_instance(tmp_path, optimizer):
    url = f"sqlite:///{tmp_path}/own.db"
    study = mh.create_study(name="s", space=SPACE, storage=url, optimizer=optimizer, scheduler=_Screen(1, 10), seed=0)
    study.optimize(quadratic, n_trials=2, show_progress=False)
    with pytest.raises(InvalidParameterError, match=r"'(screen|unregistered-random)', which is not (built in|registered)"):
        mh.load_study("s", url)
    again = mh.create_study(name="s", space=SPACE, storage=url, optimizer=optimizer, scheduler=_Screen(1, 10),
                            load_if_exists=True)
    again.optimize(quadratic, n_trials=2, show_progress=False)
    assert [t.budget for t in again.trials] == [1, 1, 1, 1]
    with pytest.raises(InvalidParameterError, match="scheduler"):
        mh.create_study(name="s", space=SPACE, storage=url, optimizer=optimizer, scheduler=_Screen(2, 10),
                        load_if_exists=True)


def test_resume_continues_the_same_trajectory():
    storage = mh.InMemoryStorage()
    whole = mh.create_study(name="whole", space=SPACE, storage=storage, optimizer="sobol", seed=9)
    whole.optimize(quadratic, n_trials=10, show_progress=False)
    part = mh.create_study(name="part", space=SPACE, storage=storage, optimizer="sobol", seed=9)
    part.optimize(quadratic, n_trials=4, show_progress=False)
    resumed = mh.load_study("part", storage)
    resumed.optimize(quadratic, n_trials=6, show_progress=False)
    assert [dict(t.config) for t in resumed.trials] == [dict(t.config) for t in whole.trials]


def test_trials_dataframe_has_one_row_per_evaluation():
    study = mh.create_study(space=SPACE, optimizer="random", seed=2)
    study.optimize(quadratic, n_trials=5, show_progress=False)
    frame = study.trials_dataframe()
    assert len(frame) == 5
    for column in ("number", "state", "value", "budget", "bracket", "rung", "parent", "config_x", "config_c"):
        assert column in frame.columns
    assert frame["value"].min() == study.best_value
    empty = mh.create_study(space=SPACE, optimizer="random", seed=2).trials_dataframe()
    assert len(empty) == 0 and {c for c in frame.columns if not c.startswith("user_attrs_")} == set(empty.columns)


@pytest.mark.parametrize("storage", ["memory", "sqlite"])
def test_get_trials_takes_a_state_its_name_or_several_alike_on_every_storage(tmp_path, storage):
    url = None if storage == "memory" else f"sqlite:///{tmp_path / 's.db'}"
    study = mh.create_study(space=SPACE, optimizer="random", seed=2, storage=url)
    study.optimize(quadratic, n_trials=3, show_progress=False)
    study.tell(study.ask(), state=TrialState.FAILED)
    for states in (TrialState.COMPLETE, "COMPLETE", ["complete"], {TrialState.COMPLETE}):
        assert len(study.get_trials(states)) == 3
    assert len(study.get_trials(["COMPLETE", TrialState.FAILED])) == 4
    with pytest.raises(mh.InvalidParameterError, match=r"'states' parameter of Study.get_trials.*'done'"):
        study.get_trials("done")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"space": {"x": 1}}, "'space' parameter of create_study"),
        ({"space": SPACE, "direction": "up"}, "'direction' parameter"),
        ({"space": SPACE, "optimizer": "tpe"}, "'optimizer' parameter"),
        ({"space": SPACE, "seed": -1}, "'seed' parameter"),
        ({"space": SPACE, "seed": 1.5}, "'seed' parameter"),
        ({"space": SPACE, "storage": "mysql://x"}, "'storage' parameter"),
        ({"space": SPACE, "storage": 3}, "'storage' parameter"),
        ({"space": SPACE, "scheduler": "fastest"}, "'scheduler' parameter"),
    ],
)
def test_bad_create_study_arguments(kwargs, fragment):
    with pytest.raises(InvalidParameterError, match=fragment):
        mh.create_study(**kwargs)


_NOT_FOR_FAILED = r"'error' parameter of tell is for a FAILED trial only .*Got error='x' with state="


@pytest.mark.parametrize(
    ("told", "fragment"),
    [
        # Stored on a COMPLETE trial, `metahpo show` printed "trial 0 COMPLETE: x".
        ({"value": 0.1, "error": "x"}, _NOT_FOR_FAILED + "'COMPLETE'"),
        ({"value": 0.1, "state": "COMPLETE", "error": "x"}, _NOT_FOR_FAILED + "'COMPLETE'"),
        ({"state": "PRUNED", "error": "x"}, _NOT_FOR_FAILED + "'PRUNED'"),
        # Stored as the text '5'.
        ({"state": "FAILED", "error": 5}, r"'error' parameter of tell must be a string or None. Got 5 instead"),
        ({"state": "FAILED", "error": ValueError("boom")}, r"must be a string or None. Got ValueError\('boom'\)"),
    ],
)
def test_tell_refuses_an_error_that_is_no_failed_trials_text(tmp_path, told, fragment):
    study = mh.create_study(space=SPACE, optimizer="random", seed=1, storage=f"sqlite:///{tmp_path / 's.db'}")
    trial = study.ask()
    before = study.storage.get_trials(study.study_id)
    with pytest.raises(InvalidParameterError, match=fragment):
        study.tell(trial, **told)
    assert study.storage.get_trials(study.study_id) == before  # still RUNNING, nothing stored
    assert study.tell(trial, state="FAILED", error="diverged").error == "diverged"


@pytest.mark.parametrize("key", [5, "", None, ["a"]])
def test_user_attribute_keys_are_non_empty_strings(tmp_path, key):
    # JSON stored 5 as "5": reading back by the key given missed it.
    study = mh.create_study(space=SPACE, optimizer="random", seed=1, storage=f"sqlite:///{tmp_path / 's.db'}")
    trial = study.ask()
    trial_attrs, study_attrs = dict(trial.user_attrs), study.user_attrs
    got = re.escape(repr(key))
    with pytest.raises(InvalidParameterError, match=rf"The 'key' parameter of set_user_attr must be a "
                       rf"non-empty string. Got {got} instead"):
        trial.set_user_attr(key, "five")
    with pytest.raises(InvalidParameterError, match=rf"The 'key' parameter of Study.set_user_attr must be a "
                       rf"non-empty string. Got {got} instead"):
        study.set_user_attr(key, "five")
    assert dict(trial.user_attrs) == trial_attrs and study.user_attrs == study_attrs
    trial.set_user_attr("note", "five")
    assert trial.user_attrs["note"] == "five"


@pytest.mark.parametrize(("value", "key", "where"), [
    ({1: 2}, 1, "value"), ({"a": [{"b": {None: 1}}]}, None, "value['a'][0]['b']"), ([{True: 1}], True, "value[0]"),
])
def test_user_attribute_values_keep_string_keys_at_every_depth(tmp_path, value, key, where):
    # JSON stored {1: 2} as {"1": 2}: reading back by the key given missed it.
    study = mh.create_study(space=SPACE, optimizer="random", seed=1, storage=f"sqlite:///{tmp_path / 's.db'}")
    trial = study.ask()
    trial_attrs, study_attrs = dict(trial.user_attrs), study.user_attrs
    for owner, set_user_attr in (("set_user_attr", trial.set_user_attr), ("Study.set_user_attr", study.set_user_attr)):
        with pytest.raises(InvalidParameterError, match=rf"The 'value' parameter of {owner} must be JSON whose "
                           rf"objects have string keys at every depth .* Got the key {key} in "
                           rf"{re.escape(where)} instead"):
            set_user_attr("d", value)
    assert dict(trial.user_attrs) == trial_attrs and study.user_attrs == study_attrs
    trial.set_user_attr("d", {"1": [{"2": None}]})
    study.set_user_attr("d", {"1": [{"2": None}]})
    assert trial.user_attrs["d"] == study.user_attrs["d"] == {"1": [{"2": None}]}


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.text(max_size=20), st.integers(), st.floats(), st.none(), st.lists(st.integers(), max_size=2)))
def test_tell_rejects_garbage_and_storage_is_unchanged(garbage):
    study = mh.create_study(space=SPACE, optimizer="random", seed=3)
    trial = study.ask()
    before = study.trials
    if isinstance(garbage, (int, float)) and not isinstance(garbage, bool) and math.isfinite(garbage):
        return  # a finite number is a valid value
    with pytest.raises(InvalidParameterError):
        study.tell(trial, garbage)
    assert study.trials == before


def test_optimize_argument_errors():
    study = mh.create_study(space=SPACE, optimizer="random", seed=3)
    with pytest.raises(InvalidParameterError, match="'n_trials' or 'timeout'"):
        study.optimize(quadratic)
    with pytest.raises(InvalidParameterError, match="'objective' parameter"):
        study.optimize(3, n_trials=1)
    with pytest.raises(InvalidParameterError, match="'n_jobs' parameter"):
        study.optimize(quadratic, n_trials=1, n_jobs=0)
    with pytest.raises(InvalidParameterError, match=r"'show_progress' parameter .* Got 'no' instead"):
        study.optimize(quadratic, n_trials=1, show_progress="no")
    assert study.trials == []


def test_each_trial_records_why_it_was_suggested_and_the_end_hook_runs():
    class Explaining(mh.RandomSearch):
        ended = None

        def suggest_explained(self, history, n=1):
            from metahpo.optimizers import Suggestion

            return [Suggestion(c, {"source": "test", "seen": len(history.trials)})
                    for c in self.suggest(history, n)]

        def on_study_end(self, history):
            Explaining.ended = len(history.trials)
            return {"tasks_added": 1}

    study = mh.create_study(space=SPACE, optimizer=Explaining(), seed=0)
    study.optimize(quadratic, n_trials=3, show_progress=False)
    assert [t.user_attrs["why"] for t in study.trials] == [
        {"source": "test", "seen": i} for i in range(3)
    ]
    # optimize() leaves the learning to finish(): once per study, not once per call.
    assert Explaining.ended is None and "knowledge_update" not in study.user_attrs
    assert study.finish() == {"tasks_added": 1}
    assert Explaining.ended == 3 and study.user_attrs["knowledge_update"] == {"tasks_added": 1}
    plain = mh.create_study(space=SPACE, optimizer="sobol", seed=0)
    plain.optimize(quadratic, n_trials=1, show_progress=False)
    assert plain.trials[0].user_attrs["why"] == {"source": "sobol"}


@pytest.mark.parametrize("optimizer", ["metabo", "auto"])
def test_an_empty_knowledge_list_is_refused(optimizer):
    with pytest.raises(mh.InvalidParameterError, match=r"'knowledge'.*at least one source.*Got \[\]"):
        mh.create_study(space=SPACE, optimizer=optimizer, knowledge=[])
