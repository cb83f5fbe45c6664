"""Conformance checks of a storage's queue of enqueued configs (part of ``STORAGE_CHECKS``)."""

from __future__ import annotations

from metahpo.exceptions import EnqueuedConfigTakenError, InvalidParameterError
from metahpo.storage import ENQUEUED_KEY, QUEUE_KEY, TAKEN_KEY, Storage
from metahpo.testing._helpers import _check, _in_threads, _raises, make_study, snapshot

__all__ = [
    "check_enqueued_configs",
    "check_enqueued_configs_across_threads",
]


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
