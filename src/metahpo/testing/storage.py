"""The conformance suite every :class:`~metahpo.storage.Storage` backend must pass.

Each ``check_*`` function takes a fresh, empty storage and raises ``AssertionError``
(or the unexpected exception) when the backend breaks the protocol's rules, which
:class:`~metahpo.storage.InMemoryStorage` defines. Run them all with
:func:`check_storage`, or one test per check with pytest::

    import pytest
    from metahpo.testing.storage import STORAGE_CHECKS

    @pytest.mark.parametrize("check", STORAGE_CHECKS, ids=lambda check: check.__name__)
    def test_my_storage(check):
        check(MyStorage())

The heartbeat check waits out the storage's grace period; give it a storage whose
``grace_period`` is at most a few seconds, or it checks only that fresh trials stay
RUNNING.

Example:
    >>> from metahpo.storage import InMemoryStorage
    >>> from metahpo.testing.storage import check_storage
    >>> check_storage(InMemoryStorage)
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import timezone
from typing import Any

from metahpo.exceptions import (
    DuplicatedPromotionError,
    DuplicatedStudyError,
    EnqueuedConfigTakenError,
    InvalidParameterError,
    StudyNotFoundError,
    TrialStateError,
)
from metahpo.storage import ENQUEUED_KEY, QUEUE_KEY, STALE_KEY, TAKEN_KEY, Storage, is_stale_failure
from metahpo.testing._helpers import _check, _in_threads, _NotJSON, _raises, make_study, snapshot
from metahpo.testing._storage_fingerprint import check_fingerprint
from metahpo.testing._storage_meta import (
    check_meta_model_bad_input,
    check_meta_model_round_trip,
    check_meta_model_versions,
    check_meta_model_versions_across_threads,
    meta_snapshot,
)
from metahpo.trial import TrialState

__all__ = [
    "STORAGE_CHECKS",
    "check_any_error_text_is_stored",
    "check_bad_input_leaves_storage_unchanged",
    "check_configs_keep_the_space_order",
    "check_create_get_list_studies",
    "check_delete_study_removes_its_trials",
    "check_duplicate_study_name",
    "check_enqueued_configs",
    "check_enqueued_configs_across_threads",
    "check_fingerprint",
    "check_finish_trial",
    "check_heartbeats_and_stale_trials",
    "check_intermediate_reports",
    "check_meta_model_bad_input",
    "check_meta_model_round_trip",
    "check_meta_model_versions",
    "check_meta_model_versions_across_threads",
    "check_min_number",
    "check_missing_studies_and_trials",
    "check_promotions_are_unique",
    "check_reserve_then_set_config",
    "check_states_filter",
    "check_storage",
    "check_trial_numbering",
    "check_trial_numbering_across_threads",
    "check_user_attrs_merge",
    "meta_snapshot",
    "snapshot",
]

MAX_WAITED_GRACE = 3.0  # seconds the heartbeat check is willing to wait




def check_create_get_list_studies(storage: Storage) -> None:
    """Created studies come back whole, in creation order, with an aware UTC ``created_at``."""
    first = make_study(storage, "first")
    second = make_study(storage, "second", direction="maximize", seed=2**40,
                        user_attrs={"nested": {"b": [1, 2.5, None], "a": True}})
    _check(first.name == "first" and first.direction == "minimize" and first.seed == 7,
           f"create_study returned {first!r}")
    _check(list(first.space) == ["x", "a"], "the key order of 'space' must survive storage")
    _check(first.study_id != second.study_id, "two studies share an id")
    _check(storage.get_study("first") == first, "get_study differs from what create_study returned")
    _check(storage.get_study("second") == second, "get_study differs from create_study (second)")
    _check(second.user_attrs == {"nested": {"b": [1, 2.5, None], "a": True}},
           f"user_attrs came back as {second.user_attrs!r}")
    _check(second.seed == 2**40, "a large seed must survive storage")
    _check(storage.list_studies() == [first, second], "list_studies must list in creation order")
    created = storage.get_study("first").created_at
    _check(created is not None and created.utcoffset() == timezone.utc.utcoffset(None),
           f"created_at must be timezone-aware UTC, got {created!r}")


def check_duplicate_study_name(storage: Storage) -> None:
    """A second study with the same name raises and changes nothing."""
    make_study(storage, "twin")
    before = snapshot(storage)
    with _raises(DuplicatedStudyError, "create_study with a taken name"):
        make_study(storage, "twin", seed=1)
    _check(snapshot(storage) == before, "a refused duplicate study changed the storage")


def check_missing_studies_and_trials(storage: Storage) -> None:
    """Unknown names, ids and numbers raise StudyNotFoundError (also a KeyError)."""
    study = make_study(storage)
    missing_id = max(s.study_id for s in storage.list_studies()) + 1000
    with _raises(StudyNotFoundError, "get_study of an unknown name"):
        storage.get_study("nope")
    with _raises(KeyError, "get_study of an unknown name (as KeyError)"):
        storage.get_study("nope")
    with _raises(StudyNotFoundError, "delete_study of an unknown name"):
        storage.delete_study("nope")
    calls: list[tuple[str, Callable[[], Any]]] = [
        ("get_trials", lambda: storage.get_trials(missing_id)),
        ("create_trial", lambda: storage.create_trial(missing_id)),
        ("set_study_user_attrs", lambda: storage.set_study_user_attrs(missing_id, {"a": 1})),
        ("enqueue_config", lambda: storage.enqueue_config(missing_id, {"x": 0.5})),
        ("fail_stale_trials", lambda: storage.fail_stale_trials(missing_id)),
        ("get_trial", lambda: storage.get_trial(study.study_id, 0)),
        ("heartbeat", lambda: storage.heartbeat(study.study_id, 0)),
        ("report", lambda: storage.report(study.study_id, 0, 1.0, 0.5)),
        ("finish_trial", lambda: storage.finish_trial(study.study_id, 0, TrialState.COMPLETE, 1.0)),
        ("set_trial_config", lambda: storage.set_trial_config(study.study_id, 0, {"x": 1})),
        ("set_trial_user_attrs", lambda: storage.set_trial_user_attrs(study.study_id, 0, {"a": 1})),
    ]
    for what, call in calls:
        with _raises(StudyNotFoundError, what):
            call()
    _check(storage.get_trials(study.study_id) == [], "a failed call created a trial")


def check_delete_study_removes_its_trials(storage: Storage) -> None:
    """Deleting a study removes it and its trials; other studies are untouched."""
    doomed = make_study(storage, "doomed")
    kept = make_study(storage, "kept")
    for _ in range(3):
        trial = storage.create_trial(doomed.study_id, config={"x": 0.1})
        storage.report(doomed.study_id, trial.number, 1.0, 0.5)
    storage.create_trial(kept.study_id, config={"x": 0.2})
    kept_before = (storage.get_study("kept"), storage.get_trials(kept.study_id))
    storage.delete_study("doomed")
    with _raises(StudyNotFoundError, "get_study after delete_study"):
        storage.get_study("doomed")
    with _raises(StudyNotFoundError, "get_trials of a deleted study"):
        storage.get_trials(doomed.study_id)
    _check([s.name for s in storage.list_studies()] == ["kept"], "list_studies after delete")
    _check((storage.get_study("kept"), storage.get_trials(kept.study_id)) == kept_before,
           "deleting one study changed another")
    reborn = make_study(storage, "doomed")
    _check(reborn.study_id not in (doomed.study_id, kept.study_id),
           "a new study reused the id of a deleted one")
    _check(storage.get_trials(reborn.study_id) == [], "a re-created study inherited trials")
    _check(storage.create_trial(reborn.study_id).number == 0, "numbering of a re-created study")


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
        _check(list(trial.config) == names,
               f"trial {trial.number}'s config keys are {list(trial.config)}, not in the space's order {names}")
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


def check_user_attrs_merge(storage: Storage) -> None:
    """User attributes merge key by key, for studies and for running trials."""
    study = make_study(storage, user_attrs={"a": 1, "b": [1]})
    storage.set_study_user_attrs(study.study_id, {"b": {"c": 2}, "d": None})
    _check(storage.get_study(study.name).user_attrs == {"a": 1, "b": {"c": 2}, "d": None},
           f"study attrs: {storage.get_study(study.name).user_attrs!r}")
    trial = storage.create_trial(study.study_id, user_attrs={"seed": 3})
    storage.set_trial_user_attrs(study.study_id, trial.number, {"loss_curve": [0.5, 0.25]})
    storage.set_trial_user_attrs(study.study_id, trial.number, {"seed": 4})
    attrs = storage.get_trial(study.study_id, trial.number).user_attrs
    _check(attrs == {"seed": 4, "loss_curve": [0.5, 0.25]}, f"trial attrs: {attrs!r}")
    storage.finish_trial(study.study_id, trial.number, TrialState.COMPLETE, 1.0)
    before = snapshot(storage)
    with _raises(TrialStateError, "set_trial_user_attrs on a finished trial"):
        storage.set_trial_user_attrs(study.study_id, trial.number, {"late": True})
    _check(snapshot(storage) == before, "a refused set_trial_user_attrs changed the storage")


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


def check_enqueued_configs(storage: Storage) -> None:
    """Enqueued configs are kept in order with ids 0, 1, ... per study; each is taken once,
    by the trial that runs its config, and a refused take leaves no gap in the numbering."""
    study = make_study(storage)
    other = make_study(storage, "other")
    first, second = {"x": 0.1, "a": 1}, {"x": 0.2, "a": 2}
    ids = [storage.enqueue_config(study.study_id, first), storage.enqueue_config(study.study_id, second, 3)]
    _check(ids == [0, 1], f"two enqueued configs got ids {ids}")
    _check(storage.enqueue_config(other.study_id, {"x": 0.3}) == 0, "entry ids must count per study")
    queue = storage.get_study(study.name).user_attrs.get(QUEUE_KEY)
    expected = [{"id": 0, "config": first, "budget": None}, {"id": 1, "config": second, "budget": 3.0}]
    _check(queue == expected, f"the queue is {queue!r}, not {expected!r}")
    _check(storage.get_study(study.name).user_attrs.get("owner") == "tests", "enqueue lost a user attr")
    storage.create_trial(study.study_id)  # An ordinary trial first: number 0.
    taken = storage.create_trial(study.study_id, enqueued=1, budget=3, rung=0, user_attrs={"why": "q"})
    _check((taken.number, taken.config, taken.budget, taken.rung) == (1, second, 3.0, 0),
           f"the trial of entry 1 is {taken!r}")
    _check(taken.user_attrs == {"why": "q", ENQUEUED_KEY: 1},
           f"the trial of entry 1 must record it under {ENQUEUED_KEY!r}: {taken.user_attrs!r}")
    _check(storage.get_trial(study.study_id, 1) == taken, "the taking trial differs when read back")
    queue = storage.get_study(study.name).user_attrs.get(QUEUE_KEY) or []
    _check([entry.get(TAKEN_KEY) for entry in queue] == [None, 1],
           f"entry 1 must be marked taken by trial 1, and only it: {queue!r}")
    before = snapshot(storage)
    with _raises(EnqueuedConfigTakenError, "taking an enqueued config a second time"):
        storage.create_trial(study.study_id, enqueued=1)
    with _raises(InvalidParameterError, "taking an entry the queue does not have"):
        storage.create_trial(study.study_id, enqueued=7)
    with _raises(InvalidParameterError, "create_trial with both a config and an entry"):
        storage.create_trial(study.study_id, config={"x": 0.5, "a": 1}, enqueued=0)
    _check(snapshot(storage) == before, "a refused take changed the storage")
    _check(storage.create_trial(study.study_id, enqueued=0).number == 2,
           "a refused take left a gap in the trial numbers")


def check_enqueued_configs_across_threads(storage: Storage) -> None:
    """Threads enqueueing and taking at once lose no entry and take none twice."""
    study = make_study(storage)
    per_thread, threads = 6, 4

    def enqueue(thread: int) -> None:
        for index in range(per_thread):
            storage.enqueue_config(study.study_id, {"x": thread + index / 10})

    _in_threads(enqueue, threads)
    queue = storage.get_study(study.name).user_attrs.get(QUEUE_KEY) or []
    total = per_thread * threads
    _check(sorted(entry["id"] for entry in queue) == list(range(total)),
           f"{threads} threads x {per_thread} enqueued configs got ids {[e['id'] for e in queue]}")
    _check(sorted(entry["config"]["x"] for entry in queue)
           == sorted(t + i / 10 for t in range(threads) for i in range(per_thread)),
           "configs enqueued at once were lost or changed")

    def take(_: int) -> None:
        for entry_id in range(total):  # Every thread tries every entry, in the same order.
            try:
                storage.create_trial(study.study_id, enqueued=entry_id)
            except EnqueuedConfigTakenError:
                continue

    _in_threads(take, threads)
    taken = sorted(t.user_attrs.get(ENQUEUED_KEY, -1) for t in storage.get_trials(study.study_id))
    _check(taken == list(range(total)), f"{threads} threads taking {total} entries took {taken}")


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


def check_heartbeats_and_stale_trials(storage: Storage) -> None:
    """Trials whose heartbeat stopped are FAILED; beating, silent and finished ones are not."""
    study = make_study(storage)
    silent, dying, alive, done, paused = (storage.create_trial(study.study_id, config={"x": x / 10})
                                          for x in range(1, 6))
    for trial in (dying, alive, done, paused):
        storage.heartbeat(study.study_id, trial.number)
    storage.finish_trial(study.study_id, done.number, TrialState.COMPLETE, 1.0)
    storage.heartbeat(study.study_id, done.number)  # Allowed, and changes nothing.
    _check(storage.fail_stale_trials(study.study_id) == [], "fresh heartbeats counted as stale")
    interval = storage.heartbeat_interval
    grace = getattr(storage, "grace_period", None) or (4 * interval if interval else None)
    if interval is None or grace is None or grace > MAX_WAITED_GRACE:
        _check(storage.get_trial(study.study_id, dying.number).state is TrialState.RUNNING,
               "a RUNNING trial was failed without heartbeats switched on")
        return
    deadline = time.monotonic() + grace * 1.5 + 0.05
    while time.monotonic() < deadline:
        storage.heartbeat(study.study_id, alive.number)
        time.sleep(min(interval, grace / 4))
    storage.heartbeat(study.study_id, alive.number)
    failed = storage.fail_stale_trials(study.study_id)
    _check(sorted(failed) == [dying.number, paused.number], f"fail_stale_trials returned {failed}")
    record = storage.get_trial(study.study_id, dying.number)
    _check(record.state is TrialState.FAILED and "heartbeat" in (record.error or ""),
           f"a stale trial became {record.state.value} with error {record.error!r}")
    _check(record.finished_at is not None, "a stale trial needs a finished_at")
    _check(STALE_KEY in record.user_attrs and is_stale_failure(record),
           f"a stale trial is not marked with user_attrs[{STALE_KEY!r}]: {dict(record.user_attrs)!r}")
    for trial in (silent, alive):
        state = storage.get_trial(study.study_id, trial.number).state
        _check(state is TrialState.RUNNING, f"trial {trial.number} became {state.value}")
    _check(storage.get_trial(study.study_id, done.number).state is TrialState.COMPLETE,
           "fail_stale_trials changed a finished trial")
    _check(storage.fail_stale_trials(study.study_id) == [], "a trial was failed twice")
    with _raises(TrialStateError, "reporting to a trial failed for its stopped heartbeat"):
        storage.report(study.study_id, dying.number, 1.0, 0.5)
    # Its process was only paused: the late result still finishes it, once.
    late = storage.finish_trial(study.study_id, dying.number, TrialState.COMPLETE, 0.1)
    _check(late.state is TrialState.COMPLETE and late.value == 0.1 and late.error is None,
           f"a late result left the stale trial {late.state.value} with error {late.error!r}")
    with _raises(TrialStateError, "finishing a trial a second time"):
        storage.finish_trial(study.study_id, dying.number, TrialState.COMPLETE, 0.2)
    # A late failure, the objective's own, is final too: no longer a stale one.
    told = storage.finish_trial(study.study_id, paused.number, TrialState.FAILED, error="boom")
    _check(told.state is TrialState.FAILED and told.error == "boom" and not is_stale_failure(told),
           f"a late failure left the stale trial {told!r}")
    with _raises(TrialStateError, "finishing a trial a second time after a late failure"):
        storage.finish_trial(study.study_id, paused.number, TrialState.COMPLETE, 0.2)


def check_bad_input_leaves_storage_unchanged(storage: Storage) -> None:
    """Malformed names and non-JSON values raise InvalidParameterError and write nothing."""
    study = make_study(storage)
    trial = storage.create_trial(study.study_id, config={"x": 0.5})
    before = snapshot(storage)
    nan = float("nan")
    bad_calls: list[tuple[str, Callable[[], Any]]] = [
        ("empty name", lambda: make_study(storage, "")),
        ("blank name", lambda: make_study(storage, "   ")),
        ("name too long", lambda: make_study(storage, "n" * 10_000)),
        ("name not a string", lambda: make_study(storage, 42)),  # type: ignore[arg-type]
        ("NaN in space", lambda: make_study(storage, "s1", space={"x": nan})),
        ("object in optimizer", lambda: make_study(storage, "s2", optimizer={"o": _NotJSON()})),
        ("set in scheduler", lambda: make_study(storage, "s3", scheduler={"s": {1, 2}})),
        ("infinity in user_attrs", lambda: make_study(storage, "s4", user_attrs={"i": math.inf})),
        ("NaN in study attrs", lambda: storage.set_study_user_attrs(study.study_id, {"a": nan})),
        ("NaN in config", lambda: storage.create_trial(study.study_id, config={"x": nan})),
        ("NaN in an enqueued config", lambda: storage.enqueue_config(study.study_id, {"x": nan})),
        ("an empty enqueued config", lambda: storage.enqueue_config(study.study_id, {})),
        ("a negative enqueued budget",
         lambda: storage.enqueue_config(study.study_id, {"x": 0.5}, -1.0)),
        ("object in trial attrs",
         lambda: storage.create_trial(study.study_id, user_attrs={"o": _NotJSON()})),
        ("bytes in set_trial_config",
         lambda: storage.set_trial_config(study.study_id, trial.number, {"x": b"1"})),
        ("NaN in trial attrs",
         lambda: storage.set_trial_user_attrs(study.study_id, trial.number, {"a": [nan]})),
        ("NaN value", lambda: storage.finish_trial(study.study_id, trial.number,
                                                   TrialState.COMPLETE, nan)),
        ("infinite value", lambda: storage.finish_trial(study.study_id, trial.number,
                                                        TrialState.PRUNED, -math.inf)),
        ("text value", lambda: storage.finish_trial(study.study_id, trial.number,
                                                    TrialState.COMPLETE, "0.5")),  # type: ignore[arg-type]
    ]
    for what, call in bad_calls:
        with _raises(InvalidParameterError, what):
            call()
        _check(snapshot(storage) == before, f"refused input ({what}) changed the storage")


STORAGE_CHECKS: tuple[Callable[[Storage], None], ...] = (
    check_create_get_list_studies,
    check_duplicate_study_name,
    check_missing_studies_and_trials,
    check_delete_study_removes_its_trials,
    check_trial_numbering,
    check_trial_numbering_across_threads,
    check_reserve_then_set_config,
    check_configs_keep_the_space_order,
    check_finish_trial,
    check_any_error_text_is_stored,
    check_intermediate_reports,
    check_user_attrs_merge,
    check_promotions_are_unique,
    check_enqueued_configs,
    check_enqueued_configs_across_threads,
    check_states_filter,
    check_min_number,
    check_heartbeats_and_stale_trials,
    check_bad_input_leaves_storage_unchanged,
    check_fingerprint,
    check_meta_model_round_trip,
    check_meta_model_versions,
    check_meta_model_versions_across_threads,
    check_meta_model_bad_input,
)


def check_storage(make_storage: Callable[[], Storage]) -> None:
    """Run every check of :data:`STORAGE_CHECKS` on a fresh storage from ``make_storage``."""
    for check in STORAGE_CHECKS:
        storage = make_storage()
        try:
            check(storage)
        finally:
            storage.close()
