"""What a study's history counts: trials that start a new config, with real stored retries."""

from __future__ import annotations

import time

import metahpo as mh
from metahpo.history import History
from metahpo.storage import SQLStorage
from metahpo.study import Study
from metahpo.trial import FrozenTrial, TrialState, retried_trial

SPACE = mh.Space({"x": mh.Float(0.0, 1.0), "y": mh.Float(0.0, 1.0)})
# The storage's heartbeat interval; the grace period is four of them.
BEAT = 0.05


def _study(tmp_path, optimizer: str) -> Study:
    storage = SQLStorage(f"sqlite:///{tmp_path / 'db.sqlite'}", heartbeat_interval=BEAT)
    return mh.create_study(name="s", space=SPACE, storage=storage, optimizer=optimizer, seed=0)


def _retry_after_death(study: Study) -> None:
    """The first trial's process dies after one heartbeat; the next ask runs its config again."""
    dead = study.ask()
    study.storage.heartbeat(study.study_id, dead.number)
    time.sleep(6 * BEAT)
    retry = study.ask(retries=1)
    assert retry.number == 1 and retry.config == dead.config
    assert study.trials[1].user_attrs["why"]["retry_of"] == dead.number
    study.tell(retry, 0.5)


def test_a_retried_new_config_counts_once_and_the_design_goes_on_where_it_was(tmp_path):
    study = _study(tmp_path, "sobol")
    _retry_after_death(study)
    history = study.history()
    # The dead trial and its retry ran one config.
    assert history.new_config_count() == 1
    fresh = study.ask()
    assert fresh.config == SPACE.sobol(2, seed=history.seed)[1]


def test_a_retried_new_config_does_not_shorten_the_initial_design(tmp_path):
    study = _study(tmp_path, "gpbo")  # n_initial = d + 1 = 3 configs of the Sobol design
    _retry_after_death(study)
    while True:
        trial = study.ask()
        study.tell(trial, trial.config["x"] + trial.config["y"])
        if study.trials[trial.number].user_attrs["why"]["source"] != "sobol":
            break
    design = [t.config for t in study.trials if t.user_attrs["why"]["source"] in ("sobol", "retry")]
    assert len({tuple(c.values()) for c in design}) == 3
    assert design[2:] == SPACE.sobol(3, seed=study.history().seed)[1:]


def test_retried_trial_reads_the_first_attempt_of_a_retry_only():
    retry = FrozenTrial(number=3, state=TrialState.RUNNING, config={},
                        user_attrs={"why": {"source": "retry", "retry_of": 0, "previous": 2, "attempt": 2}})
    assert retried_trial(retry) == 0
    plain = retry.evolve(user_attrs={"why": {"source": "sobol"}})
    flag = retry.evolve(user_attrs={"why": {"source": "retry", "retry_of": True}})
    assert [retried_trial(t) for t in (plain, flag, retry.evolve(user_attrs={}))] == [None, None, None]


def test_a_config_counts_once_by_its_first_attempt_whichever_attempts_the_history_holds():
    def trial(number: int, why: dict) -> FrozenTrial:
        return FrozenTrial(number=number, state=TrialState.COMPLETE, config={"x": 0.5, "y": 0.5},
                           value=1.0, user_attrs={"why": why})

    first = trial(0, {"source": "sobol"})
    retries = [trial(n, {"source": "retry", "retry_of": 0, "previous": n - 1, "attempt": n}) for n in (1, 2)]
    other = trial(3, {"source": "sobol"})

    def count(*trials: FrozenTrial) -> int:
        return History(SPACE, tuple(trials)).new_config_count()

    assert count(first, *retries, other) == 2  # trial 0's config, attempted three times, and trial 3's
    assert count(*retries) == 1  # the first attempt left out of this history: its config still counts
    assert count(retries[1], other) == 2
