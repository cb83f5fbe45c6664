"""Conformance checks of a storage's trials: numbering, configs, finishing, reports,
promotions and the reads of ``get_trials`` (part of ``STORAGE_CHECKS``)."""

from __future__ import annotations

import math
from datetime import timezone

from metahpo.exceptions import (
    DuplicatedPromotionError,
    InvalidParameterError,
    StudyNotFoundError,
    TrialStateError,
)
from metahpo.storage import Storage
from metahpo.testing._helpers import _check, _in_threads, _raises, make_study, snapshot
from metahpo.trial import TrialState

__all__ = [
    "check_any_error_text_is_stored",
    "check_configs_keep_the_space_order",
    "check_finish_trial",
    "check_intermediate_reports",
    "check_min_number",
    "check_promotions_are_unique",
    "check_reserve_then_set_config",
    "check_states_filter",
    "check_trial_numbering",
    "check_trial_numbering_across_threads",
]


def check_trial_numbering(storage: Storage) -> None:
    """Trial numbers count 0, 1, 2, ... per study; trials come back in number order."""
    one = make_study(storage, "one")
    two = make_study(storage, "two")
    numbers_one = [storage.create_trial(one.study_id).number for _ in range(5)]
    numbers_two = [storage.create_trial(two.study_id).number for _ in range(3)]
    numbers_one.append(storage.create_trial(one.study_id).number)
    _check(numbers_one == list(range(6)), f"study one got numbers {numbers_one}")
    _check(numbers_two == list(range(3)), f"study two got numbers {numbers_two}")
    _check([t.number for t in storage.get_trials(one.study_id)] == list(range(6)),
           "get_trials must return trials in number order")
    trial = storage.get_trial(one.study_id, 4)
    _check(trial.state is TrialState.RUNNING and trial.config == {} and trial.value is None,
           f"a new trial must be RUNNING with an empty config, got {trial!r}")
    started = trial.started_at
    _check(started is not None and started.utcoffset() == timezone.utc.utcoffset(None),
           f"started_at must be timezone-aware UTC, got {started!r}")


def check_trial_numbering_across_threads(storage: Storage) -> None:
    """Threads sharing one storage get unique, gap-free numbers and lose no trial."""
    study = make_study(storage)

    def work(_: int) -> None:
        for _ in range(10):
            trial = storage.create_trial(study.study_id, config={"x": 0.5})
            storage.finish_trial(study.study_id, trial.number, TrialState.COMPLETE, 1.0)

    _in_threads(work, 4)
    trials = storage.get_trials(study.study_id, states={TrialState.COMPLETE})
    _check(sorted(t.number for t in trials) == list(range(40)),
           f"4 threads x 10 trials gave numbers {sorted(t.number for t in trials)}")


def check_reserve_then_set_config(storage: Storage) -> None:
    """A trial made without a config reserves its number; set_trial_config fills it in once."""
    study = make_study(storage)
    reserved = storage.create_trial(study.study_id, budget=3, bracket=1, rung=0)
    _check(reserved.config == {} and reserved.budget == 3.0, f"reserved trial is {reserved!r}")
    storage.set_trial_config(study.study_id, reserved.number, {"x": 0.25, "a": 4})
    trial = storage.get_trial(study.study_id, reserved.number)
    _check(trial.config == {"x": 0.25, "a": 4}, f"config after set_trial_config: {trial.config!r}")
    _check((trial.budget, trial.bracket, trial.rung) == (3.0, 1, 0), "budget/bracket/rung lost")
    storage.set_trial_config(study.study_id, reserved.number, {"x": 0.5, "a": 4})
    storage.finish_trial(study.study_id, reserved.number, TrialState.COMPLETE, 0.1)
    before = snapshot(storage)
    with _raises(TrialStateError, "set_trial_config on a finished trial"):
        storage.set_trial_config(study.study_id, reserved.number, {"x": 0.9, "a": 1})
    _check(snapshot(storage) == before, "a refused set_trial_config changed the storage")
    _check(storage.get_trial(study.study_id, 0).config == {"x": 0.5, "a": 4}, "config changed")


def check_configs_keep_the_space_order(storage: Storage) -> None:
    """A config comes back with its keys in the order of the space's parameters, however it
    was given (an objective, a table or a listing reads them in that order)."""
    space = {
        "zeta": {"type": "float", "low": 0.0, "high": 1.0, "log": False},
        "alpha": {"type": "int", "low": 1, "high": 5, "log": False},
        "mid": {"type": "categorical", "choices": ["a", "b"]},
    }
    names = list(space)
    study = make_study(storage, space=space)
    given = {"mid": "b", "alpha": 2, "zeta": 0.5}
    storage.create_trial(study.study_id, config=given)
    reserved = storage.create_trial(study.study_id)
    storage.set_trial_config(study.study_id, reserved.number, given)
    entry = storage.enqueue_config(study.study_id, given)
    storage.create_trial(study.study_id, enqueued=entry)
    for trial in storage.get_trials(study.study_id):
        _check(
            list(trial.config) == names,
            f"trial {trial.number}'s config keys are {list(trial.config)}, not in the space's "
            f"order {names}",
        )
    first = storage.get_trial(study.study_id, 0)
    _check(list(first.config) == names, "get_trial reorders the config")


def check_finish_trial(storage: Storage) -> None:
    """Finishing stores state, value, error and end time once; a second finish raises."""
    study = make_study(storage)
    for _ in range(4):
        storage.create_trial(study.study_id, config={"x": 0.5})
    done = storage.finish_trial(study.study_id, 0, TrialState.COMPLETE, 0.125)
    _check(done.state is TrialState.COMPLETE and done.value == 0.125, f"finished as {done!r}")
    _check(done == storage.get_trial(study.study_id, 0), "finish_trial's record differs from get_trial")
    _check(done.finished_at is not None and done.started_at is not None
           and done.finished_at >= done.started_at, "finished_at must be set, after started_at")
    _check(done.finished_at is not None
           and done.finished_at.utcoffset() == timezone.utc.utcoffset(None),
           "finished_at must be UTC")
    pruned = storage.finish_trial(study.study_id, 1, TrialState.PRUNED, 3.5)
    failed = storage.finish_trial(study.study_id, 2, TrialState.FAILED, error="boom\nline 2")
    _check(pruned.state is TrialState.PRUNED and pruned.value == 3.5, f"pruned as {pruned!r}")
    _check(failed.state is TrialState.FAILED and failed.value is None
           and failed.error == "boom\nline 2", f"failed as {failed!r}")
    before = snapshot(storage)
    for state in (TrialState.COMPLETE, TrialState.FAILED):
        with _raises(TrialStateError, f"finishing a COMPLETE trial again as {state.value}"):
            storage.finish_trial(study.study_id, 0, state, 9.0)
    with _raises(TrialStateError, "finish_trial with state RUNNING"):
        storage.finish_trial(study.study_id, 3, TrialState.RUNNING, 1.0)
    _check(snapshot(storage) == before, "a refused finish_trial changed the storage")


def check_any_error_text_is_stored(storage: Storage) -> None:
    """A crash's message is recorded whatever it holds: NUL and lone surrogates become U+FFFD."""
    study = make_study(storage)
    storage.create_trial(study.study_id, config={"x": 0.5})
    failed = storage.finish_trial(study.study_id, 0, TrialState.FAILED, error="a\x00b \ud800 é")
    _check(failed.state is TrialState.FAILED and failed.error == "a\ufffdb \ufffd é",
           f"failed with an odd message as {failed!r}")
    _check(storage.get_trial(study.study_id, 0) == failed, "the stored error differs when read back")


def check_intermediate_reports(storage: Storage) -> None:
    """Reports are kept by step (a repeated step overwrites); finished trials refuse them."""
    study = make_study(storage)
    trial = storage.create_trial(study.study_id, config={"x": 0.5})
    for step, value in ((1, 0.9), (2.5, 0.7), (3, float("inf")), (1, 0.8)):
        storage.report(study.study_id, trial.number, step, value)
    reported = storage.get_trial(study.study_id, trial.number).intermediate
    _check(dict(reported) == {1.0: 0.8, 2.5: 0.7, 3.0: float("inf")}, f"reports: {reported!r}")
    _check(all(isinstance(step, float) for step in reported), "steps must come back as floats")
    storage.report(study.study_id, trial.number, 4, float("nan"))
    _check(math.isnan(storage.get_trial(study.study_id, trial.number).intermediate[4.0]),
           "a reported NaN must come back as NaN")
    other = storage.create_trial(study.study_id, config={"x": 0.1})
    _check(storage.get_trial(study.study_id, other.number).intermediate == {},
           "reports leaked into another trial")
    storage.report(study.study_id, other.number, 1, 0.5)
    finished = storage.finish_trial(study.study_id, other.number, TrialState.COMPLETE, 0.5)
    _check(finished.intermediate == {1.0: 0.5}, "finish_trial must return the reports too")
    with _raises(TrialStateError, "report on a finished trial"):
        storage.report(study.study_id, other.number, 2, 0.1)
    _check(storage.get_trial(study.study_id, other.number) == finished, "refused report changed it")


def check_promotions_are_unique(storage: Storage) -> None:
    """A trial can be promoted once; a refused promotion leaves no gap in the numbering."""
    study = make_study(storage)
    other = make_study(storage, "other")
    base = storage.create_trial(study.study_id, config={"x": 0.5}, budget=1, bracket=0, rung=0)
    storage.finish_trial(study.study_id, base.number, TrialState.COMPLETE, 0.3)
    promoted = storage.create_trial(study.study_id, config={"x": 0.5}, budget=3, bracket=0,
                                    rung=1, parent=base.number)
    _check((promoted.parent, promoted.budget, promoted.rung) == (base.number, 3.0, 1),
           f"promotion stored as {promoted!r}")
    before = snapshot(storage)
    with _raises(DuplicatedPromotionError, "a second promotion of the same parent"):
        storage.create_trial(study.study_id, config={"x": 0.5}, budget=3, parent=base.number)
    _check(snapshot(storage) == before, "a refused promotion changed the storage")
    _check(storage.create_trial(study.study_id).number == promoted.number + 1,
           "a refused promotion left a gap in the trial numbers")
    storage.create_trial(other.study_id, parent=base.number)  # Parents are per study.
    storage.create_trial(study.study_id, parent=promoted.number)  # The promoted one may go on.


def check_states_filter(storage: Storage) -> None:
    """get_trials(states=...) returns exactly the trials in those states, in number order."""
    study = make_study(storage)
    states = [TrialState.COMPLETE, TrialState.RUNNING, TrialState.FAILED, TrialState.PRUNED,
              TrialState.COMPLETE, TrialState.RUNNING]
    for state in states:
        trial = storage.create_trial(study.study_id, config={"x": 0.5})
        if state.is_finished:
            storage.finish_trial(study.study_id, trial.number, state, 1.0)
    for wanted in ({TrialState.COMPLETE}, {TrialState.RUNNING, TrialState.PRUNED},
                   [TrialState.FAILED], set(TrialState)):
        got = [t.number for t in storage.get_trials(study.study_id, states=wanted)]
        expected = [n for n, state in enumerate(states) if state in wanted]
        _check(got == expected, f"states={wanted}: got {got}, expected {expected}")
    _check(storage.get_trials(study.study_id, states=[]) == [], "states=[] must return nothing")


def check_min_number(storage: Storage) -> None:
    """get_trials(min_number=k) returns exactly the trials numbered k or more, fresh.

    This is what :class:`~metahpo.storage.TrialCache` relies on: the trials from the
    first unfinished number on come back as stored now (configs set, reports and
    ``user_attrs`` added, states finished since), with the ``states`` filter applied.
    Bad values of ``min_number`` raise :class:`~metahpo.exceptions.InvalidParameterError`.
    """
    study = make_study(storage)
    other = make_study(storage, "other")
    storage.create_trial(other.study_id, config={"x": 0.9})  # Must never show up.
    states = [TrialState.COMPLETE, TrialState.RUNNING, TrialState.FAILED, TrialState.RUNNING,
              TrialState.PRUNED]
    for state in states:
        trial = storage.create_trial(study.study_id, config={"x": 0.5})
        if state.is_finished:
            storage.finish_trial(study.study_id, trial.number, state, 1.0)
    everything = storage.get_trials(study.study_id)
    for k in range(len(states) + 2):
        got = storage.get_trials(study.study_id, min_number=k)
        _check(got == everything[k:], f"min_number={k}: got numbers {[t.number for t in got]}")
        running = storage.get_trials(study.study_id, states={TrialState.RUNNING}, min_number=k)
        expected = [n for n, state in enumerate(states) if n >= k and state is TrialState.RUNNING]
        _check([t.number for t in running] == expected,
               f"states={{RUNNING}}, min_number={k}: got {[t.number for t in running]}")
    _check(storage.get_trials(study.study_id, min_number=2**40) == [],
           "a min_number past every trial must return nothing")
    reserved = storage.create_trial(study.study_id)
    storage.set_trial_config(study.study_id, reserved.number, {"x": 0.25})
    storage.report(study.study_id, 1, 1.0, 0.75)
    storage.set_trial_user_attrs(study.study_id, 3, {"note": "fresh"})
    storage.finish_trial(study.study_id, 3, TrialState.COMPLETE, 0.5)
    got = storage.get_trials(study.study_id, min_number=1)
    _check([t.number for t in got] == [1, 2, 3, 4, 5], f"got numbers {[t.number for t in got]}")
    _check(got[0].intermediate == {1.0: 0.75}, f"a new report is missing: {got[0].intermediate}")
    _check(got[2].state is TrialState.COMPLETE and got[2].user_attrs.get("note") == "fresh",
           f"trial 3 came back stale: {got[2]!r}")
    _check(got[4].config == {"x": 0.25}, f"a config set since came back as {got[4].config!r}")
    with _raises(StudyNotFoundError, "get_trials(min_number=...) of a missing study"):
        storage.get_trials(10**6, min_number=1)
    before = snapshot(storage)
    for bad in (-1, 1.5, "2", None, True):
        with _raises(InvalidParameterError, f"get_trials(min_number={bad!r})"):
            storage.get_trials(study.study_id, min_number=bad)  # type: ignore[arg-type]
    _check(snapshot(storage) == before, "a refused get_trials changed the storage")
