"""Promotions whose process died (or only paused): their place in a rung, their retry's
parent. Each test drives a real SQLite study whose trials are failed for a stopped heartbeat."""

from __future__ import annotations

import time

import pytest

import metahpo as mh
from metahpo.dashboard._reader import trial_rows
from metahpo.exceptions import TrialStateError
from metahpo.history import History
from metahpo.storage import STALE_KEY, SQLStorage, is_stale_failure
from metahpo.study import Study
from metahpo.study._retry import taken_elsewhere
from metahpo.trial import FrozenTrial, TrialState, lineage_parent
from metahpo.visualization import read_study
from metahpo.visualization._budgets import lineages

SPACE = mh.Space({"x": mh.Float(0.0, 1.0), "y": mh.Float(0.0, 1.0)})
# The storages' heartbeat interval; the grace period is four of them.
BEAT = 0.05


def objective(trial):
    return (trial.config["x"] - 0.3) ** 2 + trial.config["y"] + 1.0 / trial.budget


def _study(tmp_path, scheduler) -> Study:
    return mh.create_study(
        name="s",
        space=SPACE,
        storage=_storage(tmp_path),
        optimizer="random",
        seed=0,
        scheduler=scheduler,
    )


def _storage(tmp_path) -> SQLStorage:
    return SQLStorage(f"sqlite:///{tmp_path / 'db.sqlite'}", heartbeat_interval=BEAT)


def _stop_beating(study: Study, number: int) -> None:
    """Trial ``number`` sends one heartbeat, then its process stops past the grace period."""
    study.storage.heartbeat(study.study_id, number)
    time.sleep(6 * BEAT)


def test_a_stale_failure_is_marked_on_the_trial(tmp_path):
    study = _study(tmp_path, None)
    dead = study.ask()
    _stop_beating(study, dead.number)
    assert study.storage.fail_stale_trials(study.study_id) == [dead.number]
    record = study.storage.get_trial(study.study_id, dead.number)
    assert STALE_KEY in record.user_attrs and is_stale_failure(record)
    # The late result still counts, and the mark says the trial was taken for dead.
    late = study.tell(dead, 0.5)
    assert late.state is TrialState.COMPLETE and STALE_KEY in late.user_attrs


def test_an_objective_error_that_reads_like_a_stale_failure_is_an_ordinary_failure(tmp_path):
    study = _study(tmp_path, None)
    own = study.ask()
    study.tell(own, state="FAILED", error="The trial's heartbeat stopped: my watchdog gave up")
    assert not is_stale_failure(study.storage.get_trial(study.study_id, own.number))
    with pytest.raises(TrialStateError):
        study.tell(own, 0.5)


def test_a_stale_failure_stored_before_the_mark_is_still_one(tmp_path):
    study = _study(tmp_path, None)
    old = study.ask()
    # What fail_stale_trials wrote before trials were marked: the error text alone.
    study.storage.finish_trial(
        study.study_id,
        old.number,
        TrialState.FAILED,
        error="The trial's heartbeat stopped: no heartbeat for more than 20 seconds (the grace "
        "period), so its process is taken to be dead.",
    )
    assert is_stale_failure(study.storage.get_trial(study.study_id, old.number))
    assert study.tell(old, 0.5).state is TrialState.COMPLETE


def _promote_best_and_kill_it(tmp_path, scheduler, values):
    """A study whose rung-0 trials are told ``values``, then a promotion taken for dead and its
    retry started by another process; returns (study, other study, dead handle, retry handle)."""
    study = _study(tmp_path, scheduler)
    for value in values:
        trial = study.ask()
        assert trial.rung == 0
        study.tell(trial, value)
    dead = study.ask()
    assert dead.rung == 1 and dead.parent_number is not None
    _stop_beating(study, dead.number)
    other = Study.load("s", _storage(tmp_path))
    retry = other.ask(retries=1)
    assert retry.config == dead.config and retry.rung == dead.rung
    assert is_stale_failure(other.storage.get_trial(other.study_id, dead.number))
    return study, other, dead, retry


def test_a_hyperband_promotion_whose_process_died_leaves_its_place_to_its_retry(tmp_path):
    values = [0.5, 0.1, 0.7, 0.2, 0.8, 0.9, 0.3, 0.6, 0.4]
    study, other, dead, retry = _promote_best_and_kill_it(
        tmp_path, mh.Hyperband(1, 9, eta=3), values
    )
    assert dead.parent_number == 1
    other.tell(retry, 0.05)
    parents = [study.ask().parent_number for _ in range(2)]
    assert parents == [3, 6]


def test_a_hyperband_promotion_told_late_shares_its_place_with_its_retry(tmp_path):
    values = [0.5, 0.1, 0.7, 0.2, 0.8, 0.9, 0.3, 0.6, 0.4]
    study, other, dead, retry = _promote_best_and_kill_it(
        tmp_path, mh.Hyperband(1, 9, eta=3), values
    )
    other.tell(retry, 0.05)
    study.tell(dead, 0.04)  # Its process was only paused: the late result counts.
    second, third = study.ask(), study.ask()
    assert [second.parent_number, third.parent_number] == [3, 6]
    study.tell(second, 0.06)
    study.tell(third, 0.07)
    # Rung 2 keeps one config, the best of rung 1: dead and its retry ran the same one.
    top = study.ask()
    assert top.rung == 2 and top.config == dead.config
    study.tell(top, 0.01)
    assert study.ask().bracket == 1  # The bracket is over: its one rung-2 place is taken.


def test_a_hyperband_retry_told_while_its_paused_promotion_is_told_late_is_one_place(tmp_path):
    values = [0.5, 0.1, 0.7, 0.2, 0.8, 0.9, 0.3, 0.6, 0.4]
    study, _, dead, _ = _promote_best_and_kill_it(tmp_path, mh.Hyperband(1, 9, eta=3), values)
    study.tell(dead, 0.04)  # Told late while the retry still runs: the retry is not needed.
    fresh = Study.load("s", _storage(tmp_path))
    assert [fresh.ask().parent_number for _ in range(2)] == [3, 6]


def test_asha_counts_a_dead_promotion_and_its_retry_as_one_finished_trial(tmp_path):
    # Rung 0: 0.1 is promoted after three trials, 0.2 after six (the top two of six).
    study, other, dead, retry = _promote_best_and_kill_it(
        tmp_path, mh.ASHA(1, 9, eta=3), [0.1, 0.5, 0.6]
    )
    other.tell(retry, 0.05)
    for value in (0.7, 0.8, 0.2):
        trial = study.ask()
        assert trial.rung == 0
        study.tell(trial, value)
    second = study.ask()
    assert second.rung == 1 and second.config != dead.config
    study.tell(second, 0.15)
    # Rung 1 has two finished configs, so none of them is in its top third yet.
    nxt = study.ask()
    assert nxt.rung == 0 and nxt.parent_number is None


def test_asha_promotes_a_config_told_late_and_retried_once(tmp_path):
    study, other, dead, retry = _promote_best_and_kill_it(
        tmp_path, mh.ASHA(1, 9, eta=3), [0.1, 0.5, 0.6]
    )
    other.tell(retry, 0.05)
    study.tell(dead, 0.04)
    for value in (0.7, 0.8, 0.2):
        study.tell(study.ask(), value)
    study.tell(study.ask(), 0.15)
    for value in (0.9, 0.95, 0.97):
        trial = study.ask()
        assert trial.rung == 0
        study.tell(trial, value)
    third = study.ask()
    assert third.rung == 1
    study.tell(third, 0.3)
    # Three configs in rung 1: the best of them goes up once, whichever of its trials ran it.
    top = study.ask()
    assert top.rung == 2 and top.config == dead.config
    assert all(t.rung != 2 for t in [study.ask() for _ in range(3)])


def test_a_retried_promotion_continues_from_the_parents_checkpoint(tmp_path):
    seen: dict[int, tuple[int | None, str | None]] = {}

    def continuing(trial):
        checkpoint = trial.parent_checkpoint_dir
        start = None if checkpoint is None else (checkpoint / "state.txt").read_text()
        seen[trial.number] = (trial.parent_number, start)
        (trial.checkpoint_dir / "state.txt").write_text(f"trained to {trial.budget:g}")
        return objective(trial)

    study = _study(tmp_path, mh.Hyperband(1, 9, eta=3))
    study.optimize(continuing, n_trials=9, show_progress=False)
    dead = study.ask()
    parent = dead.parent_number
    assert parent is not None and not any(dead.checkpoint_dir.iterdir())
    _stop_beating(study, dead.number)
    other = Study.load("s", _storage(tmp_path))
    other.optimize(continuing, n_trials=1, retries=1, show_progress=False)
    retry = other.trials[-1]
    assert retry.user_attrs["why"]["retry_of"] == dead.number
    assert seen[retry.number] == (parent, "trained to 1")


def test_a_retry_of_a_retried_promotion_continues_the_same_parent(tmp_path):
    values = [0.5, 0.1, 0.7, 0.2, 0.8, 0.9, 0.3, 0.6, 0.4]
    _, other, dead, retry = _promote_best_and_kill_it(tmp_path, mh.Hyperband(1, 9, eta=3), values)
    assert retry.parent_number == dead.parent_number == 1 and retry.parent_budget == 1
    _stop_beating(other, retry.number)
    again = Study.load("s", _storage(tmp_path)).ask(retries=2)
    assert again.user_attrs["why"]["previous"] == retry.number
    assert again.parent_number == 1 and again.parent is not None and again.parent.number == 1


# Every reader of lineage sees a retried promotion's parent -------------------------------

VALUES = [0.5, 0.1, 0.7, 0.2, 0.8, 0.9, 0.3, 0.6, 0.4]


def test_lineage_parent_reads_the_stored_parent_else_the_retried_one():
    stored = FrozenTrial(number=9, state=TrialState.RUNNING, config={}, parent=1)
    assert lineage_parent(stored) == 1
    retry = FrozenTrial(number=10, state=TrialState.RUNNING, config={},
                        user_attrs={"why": {"source": "retry", "retry_of": 9, "parent": 1}})
    assert lineage_parent(retry) == 1
    # A retry of a new config, and a why that only looks like a retry's, continue nothing.
    plain = retry.evolve(user_attrs={"why": {"source": "retry", "retry_of": 9}})
    other = retry.evolve(user_attrs={"why": {"source": "promotion", "parent": 1}})
    flag = retry.evolve(user_attrs={"why": {"source": "retry", "parent": True}})
    assert [lineage_parent(t) for t in (plain, other, flag)] == [None, None, None]


def test_every_reader_of_lineage_sees_the_parent_of_a_retried_promotion(tmp_path):
    _, other, dead, retry = _promote_best_and_kill_it(tmp_path, mh.Hyperband(1, 9, eta=3), VALUES)
    other.tell(retry, 0.05)
    trials = other.trials
    record = trials[retry.number]
    assert record.parent is None and lineage_parent(record) == dead.parent_number == 1
    # Nine configs were started; the dead promotion and its retry continue one of them.
    history = History(SPACE, tuple(trials), min_budget=1.0, max_budget=9.0)
    assert history.new_config_count() == len(VALUES)
    frame = other.trials_dataframe().set_index("number")
    assert frame.loc[retry.number, "parent"] == 1
    data = read_study("s", other.storage)
    assert lineages(data)[1] == [trials[1], trials[dead.number], record]
    assert trial_rows(data)[retry.number]["parent"] == "1"
    # The retry is a promotion: a new config drawn alike at its budget does not clash with it.
    fresh = other.storage.create_trial(other.study_id, budget=retry.budget, bracket=1, rung=0)
    assert not taken_elsewhere(SPACE, trials, fresh, retry.config)


def test_a_retried_promotion_is_not_observed_at_its_parents_budget(tmp_path):
    study = _study(tmp_path, mh.Hyperband(1, 9, eta=3))
    for value in VALUES:
        trial = study.ask()
        trial.report(1, value)
        # One run stopped at budget 1, so runs that went on are observed there too.
        study.tell(trial, state="PRUNED") if value == 0.9 else study.tell(trial, value)
    dead = study.ask()
    assert dead.parent_number == 1
    _stop_beating(study, dead.number)
    other = Study.load("s", _storage(tmp_path))
    retry = other.ask(retries=1)
    retry.report(1, 0.1)  # an objective that reports from step 1 even when it continues
    retry.report(3, 0.05)
    other.tell(retry, 0.05)
    history = History(SPACE, tuple(other.trials), min_budget=1.0, max_budget=9.0)
    # At budget 1: the nine rung-0 runs; the retry is not, since its parent is seen there.
    assert len(history.observations(budget=1.0)[1]) == len(VALUES)
    assert len(history.observations(budget=3.0)[1]) == 1
