"""study.enqueue: validated, asked first and in order, recorded; objective value types."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import torch

import metahpo as mh
from metahpo.exceptions import InvalidParameterError

SPACE = mh.Space(
    {"booster": mh.Categorical(["linear", "tree"]), "depth": mh.Int(1, 8), "lr": mh.Float(1e-3, 1.0, log=True)},
    {"depth": mh.Equals("booster", "tree")},
)


def test_enqueued_configs_come_first_in_order_and_are_recorded() -> None:
    study = mh.create_study(space=SPACE, optimizer="sobol", seed=0)
    first = {"booster": "tree", "depth": 3, "lr": 0.1}
    second = {"booster": "linear", "lr": 0.01}
    study.enqueue(first)
    study.enqueue(second)
    study.optimize(lambda t: t.config["lr"], n_trials=4, show_progress=False)
    trials = study.trials
    assert [dict(t.config) for t in trials[:2]] == [first, second]
    assert [t.user_attrs.get("enqueued") for t in trials] == [0, 1, None, None]
    assert trials[0].user_attrs["why"]["source"] == "enqueued"
    assert all(SPACE.contains(dict(t.config)) for t in trials)
    study.enqueue(first)
    assert dict(study.ask().config) == first


def test_a_reloaded_study_sees_the_queue(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/q.db"  # type: ignore[operator]
    study = mh.create_study(name="q", space=SPACE, storage=url, optimizer="random", seed=0)
    study.enqueue({"booster": "linear", "lr": 0.5})
    again = mh.load_study("q", storage=url)
    assert dict(again.ask().config) == {"booster": "linear", "lr": 0.5}
    assert dict(study.ask().config) != {"booster": "linear", "lr": 0.5}


def test_configs_enqueued_by_several_threads_at_once_are_all_kept(tmp_path: object) -> None:
    # Callbacks of optimize(n_jobs=k) run in the worker threads and may enqueue at once.
    study = mh.create_study(space=SPACE, storage=f"sqlite:///{tmp_path}/q.db", optimizer="random", seed=0)

    def add(thread: int) -> None:
        for i in range(10):
            study.enqueue({"booster": "linear", "lr": (1 + thread * 10 + i) / 100})

    workers = [threading.Thread(target=add, args=(k,)) for k in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    queue = study.user_attrs["enqueued_configs"]
    assert sorted(entry["config"]["lr"] for entry in queue) == [(1 + k) / 100 for k in range(40)]
    assert sorted(entry["id"] for entry in queue) == list(range(40))


@pytest.mark.parametrize(
    ("config", "budget", "match"),
    [
        ({"booster": "linear", "depth": 2, "lr": 0.1}, None, "inactive keys"),
        ({"booster": "tree", "lr": 0.1}, None, "missing the keys"),
        ({"booster": "tree", "depth": 2, "lr": 5.0}, None, "'lr'"),
        ("x", None, "dict of parameter values"),
        ({"booster": "linear", "lr": 0.1}, 3, "must be None: the study's scheduler"),
    ],
)
def test_enqueue_validates(config: object, budget: object, match: str) -> None:
    study = mh.create_study(space=SPACE, optimizer="random", seed=0)
    with pytest.raises(InvalidParameterError, match=match):
        study.enqueue(config, budget=budget)  # type: ignore[arg-type]


def test_enqueue_with_a_budget_under_hyperband() -> None:
    study = mh.create_study(space=SPACE, optimizer="random", seed=0,
                            scheduler=mh.Hyperband(min_budget=1, max_budget=9, eta=3))
    with pytest.raises(InvalidParameterError, match=r"rung budgets \[1, 3, 9\]"):
        study.enqueue({"booster": "linear", "lr": 0.1}, budget=27)
    study.enqueue({"booster": "linear", "lr": 0.1}, budget=9)
    study.enqueue({"booster": "linear", "lr": 0.2})
    a, b = study.ask(), study.ask()
    assert (a.budget, b.budget) == (9.0, 1.0)
    assert b.bracket is not None


@pytest.mark.parametrize(
    ("scheduler", "budget", "rungs"),
    [(mh.Hyperband(min_budget=1, max_budget=9, eta=3), 2, "[1, 3, 9]"),
     (mh.SuccessiveHalving(min_budget=1, max_budget=27, eta=3), 4.5, "[1, 3, 9, 27]"),
     (mh.ASHA(min_budget=0.1, max_budget=0.9, eta=3), 0.2, "[0.1, 0.3, 0.9]"),
     (mh.ASHA(min_budget=1, max_budget=9, eta=3, mode="stopping"), 5, "[1, 3, 9]")],
)
def test_enqueue_refuses_a_budget_off_the_rungs(scheduler: Any, budget: float, rungs: str) -> None:
    study = mh.create_study(space=SPACE, optimizer="random", seed=0, scheduler=scheduler)
    message = (f"The 'budget' parameter of enqueue must be one of the scheduler's rung budgets "
               f"{rungs}, or None to let the scheduler choose. Got {budget!r} instead.")
    with pytest.raises(InvalidParameterError) as info:
        study.enqueue({"booster": "linear", "lr": 0.1}, budget=budget)
    assert str(info.value) == message
    assert not study.user_attrs.get("enqueued_configs")


def test_an_enqueued_budget_on_a_float_rung_is_the_rungs_own() -> None:
    # The lowest rung is 0.9 / 3**2 = 0.09999999999999999: 0.1 names it.
    study = mh.create_study(space=SPACE, optimizer="random", seed=0,
                            scheduler=mh.ASHA(min_budget=0.1, max_budget=0.9, eta=3))
    study.enqueue({"booster": "linear", "lr": 0.1}, budget=0.1)
    enqueued, proposed = study.ask(), study.ask()
    assert enqueued.budget == proposed.budget and (enqueued.bracket, enqueued.rung) == (0, 0)


@pytest.mark.parametrize("budget", [np.int64(9), np.float32(9.0)])
def test_enqueue_takes_a_numpy_budget(budget: object) -> None:
    study = mh.create_study(space=SPACE, optimizer="random", seed=0,
                            scheduler=mh.Hyperband(min_budget=1, max_budget=9, eta=3))
    study.enqueue({"booster": "linear", "lr": 0.1}, budget=budget)  # type: ignore[arg-type]
    trial = study.ask()
    assert trial.budget == 9.0 and type(trial.budget) is float


@pytest.mark.parametrize(
    "value",
    [np.array(0.5), torch.tensor(0.5), np.float32(0.5), np.float64(0.5), np.int64(1), torch.tensor(1),
     np.longdouble(0.5), np.array(0.5, dtype=np.longdouble), Fraction(1, 2)],
)
def test_scalar_arrays_tensors_and_numpy_scalars_are_values(value: object) -> None:
    study = mh.create_study(space=SPACE, optimizer="random", seed=0)
    study.optimize(lambda t: value, n_trials=1, show_progress=False)
    trial = study.trials[0]
    assert trial.state is mh.TrialState.COMPLETE and trial.value == float(value)  # type: ignore[arg-type]
    handle = study.ask()
    handle.report(1, value)  # type: ignore[arg-type]
    study.tell(handle, value)  # type: ignore[arg-type]


def test_a_report_that_is_not_finite_names_report_once() -> None:
    handle = mh.create_study(space=SPACE, optimizer="random", seed=0).ask()
    with pytest.raises(mh.InvalidParameterError) as info:
        handle.report(1, float("nan"))
    message = str(info.value)
    assert message.startswith("The 'value' parameter of TrialHandle.report must be a finite number. Got nan")
    assert message.count("must be") == 1 and "TrialPruned" in message


@pytest.mark.parametrize(
    ("value", "match"),
    [([0.5], "Got a list"), (np.array([0.5, 0.1]), r"shape \(2,\)"), (torch.ones(3), r"shape \(3,\)")],
)
def test_lists_and_arrays_fail_with_a_clear_message(value: object, match: str) -> None:
    study = mh.create_study(space=SPACE, optimizer="random", seed=0)
    study.optimize(lambda t: value, n_trials=1, show_progress=False)
    trial = study.trials[0]
    assert trial.state is mh.TrialState.FAILED
    assert "finite number (one scalar)" in trial.error and __import__("re").search(match, trial.error)


# --- Several Study objects and processes on one storage -----------------------------------
# Each enqueue and each ask that takes an entry is one storage transaction: entries are
# neither lost nor handed out twice, however many Study objects or processes share them.

SHARED_SPACE = mh.Space({"x": mh.Float(0.0, 1.0)})
ENTRIES_PER_WORKER = 8
WORKERS = 4


def _shared_url(backend: str, request: pytest.FixtureRequest, tmp_path: object) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/shared.db"
    return str(request.getfixturevalue("postgres_url"))


def _entry_x(worker: int, index: int) -> float:
    return (1 + worker * ENTRIES_PER_WORKER + index) / 100


def _enqueue_some(url: str, worker: int, start: object) -> None:
    study = mh.load_study("shared", storage=url)
    start.wait()  # type: ignore[attr-defined]  # Every worker enqueues from the same moment.
    for index in range(ENTRIES_PER_WORKER):
        study.enqueue({"x": _entry_x(worker, index)})


def _ask_some(url: str, asks: int, start: object) -> list[int]:
    study = mh.load_study("shared", storage=url)
    start.wait()  # type: ignore[attr-defined]
    numbers = []
    for _ in range(asks):
        trial = study.ask()
        study.tell(trial, trial.config["x"])
        numbers.append(trial.number)
    return numbers


def _check_queue_complete(study: mh.Study) -> dict[int, dict[str, float]]:
    """Every worker's entry is in the queue once, with ids 0, 1, ...; the queue by id."""
    expected = sorted(_entry_x(w, i) for w in range(WORKERS) for i in range(ENTRIES_PER_WORKER))
    queue = study.user_attrs["enqueued_configs"]
    assert sorted(entry["config"]["x"] for entry in queue) == expected
    assert sorted(entry["id"] for entry in queue) == list(range(len(expected)))
    return {entry["id"]: entry["config"] for entry in queue}


def _check_every_entry_asked_once(study: mh.Study) -> None:
    by_id = _check_queue_complete(study)
    trials = study.trials
    assert len(trials) == len(by_id)
    # Every ask took an entry, none twice (so none was left over), and ran its config.
    assert sorted(t.user_attrs["enqueued"] for t in trials) == sorted(by_id)
    assert all(dict(t.config) == by_id[t.user_attrs["enqueued"]] for t in trials)


def test_study_objects_sharing_a_sqlite_file_enqueue_and_ask_from_threads(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"  # type: ignore[operator]
    mh.create_study(name="shared", space=SHARED_SPACE, storage=url, optimizer="random", seed=0)
    studies = [mh.load_study("shared", storage=url) for _ in range(2)]
    start = threading.Barrier(WORKERS)

    def enqueue(worker: int) -> None:
        start.wait()
        for index in range(ENTRIES_PER_WORKER):
            studies[worker % 2].enqueue({"x": _entry_x(worker, index)})

    def ask(worker: int) -> None:
        start.wait()
        for _ in range(ENTRIES_PER_WORKER):
            trial = studies[worker % 2].ask()
            studies[worker % 2].tell(trial, trial.config["x"])

    for work in (enqueue, ask):
        threads = [threading.Thread(target=work, args=(k,)) for k in range(WORKERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    _check_every_entry_asked_once(mh.load_study("shared", storage=url))


def _in_processes(work: Any, url: str, args: list[tuple[Any, ...]]) -> list[Any]:
    """``work(url, *arg, start)`` in one process per ``args``, all released at once."""
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(len(args), mp_context=context) as pool:
        start = context.Manager().Event()
        futures = [pool.submit(work, url, *arg, start) for arg in args]
        start.set()
        return [future.result(timeout=120) for future in futures]  # Re-raises any error.


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_processes_enqueueing_at_once_lose_no_entry(
    backend: str, request: pytest.FixtureRequest, tmp_path: object
) -> None:
    url = _shared_url(backend, request, tmp_path)
    study = mh.create_study(name="shared", space=SHARED_SPACE, storage=url, optimizer="random", seed=0)
    _in_processes(_enqueue_some, url, [(worker,) for worker in range(WORKERS)])
    _check_queue_complete(study)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_processes_asking_at_once_take_each_entry_once(
    backend: str, request: pytest.FixtureRequest, tmp_path: object
) -> None:
    url = _shared_url(backend, request, tmp_path)
    study = mh.create_study(name="shared", space=SHARED_SPACE, storage=url, optimizer="random", seed=0)
    for worker in range(WORKERS):
        for index in range(ENTRIES_PER_WORKER):
            study.enqueue({"x": _entry_x(worker, index)})
    numbers = _in_processes(_ask_some, url, [(ENTRIES_PER_WORKER,)] * WORKERS)
    assert sorted(n for numbers_of_one in numbers for n in numbers_of_one) == list(range(WORKERS * ENTRIES_PER_WORKER))
    _check_every_entry_asked_once(study)


def test_a_queue_stored_before_taken_entries_were_marked_goes_on(tmp_path: object) -> None:
    # Stored as earlier versions wrote it: entries without "trial", and the trial that took
    # an entry naming it in its user_attrs.
    url = f"sqlite:///{tmp_path}/old.db"  # type: ignore[operator]
    study = mh.create_study(name="old", space=SHARED_SPACE, storage=url, optimizer="random", seed=0)
    queue = [{"id": 0, "config": {"x": 0.1}, "budget": None}, {"id": 1, "config": {"x": 0.2}, "budget": None}]
    study.storage.set_study_user_attrs(study.study_id, {"enqueued_configs": queue})
    old = study.storage.create_trial(study.study_id, config={"x": 0.1},
                                     user_attrs={"enqueued": 0, "why": {"source": "enqueued", "entry": 0}})
    study.tell(old.number, 0.1)
    again = mh.load_study("old", storage=url)
    second = again.ask()
    assert (dict(second.config), second.user_attrs["enqueued"]) == ({"x": 0.2}, 1)
    again.enqueue({"x": 0.3})
    assert [entry["id"] for entry in again.user_attrs["enqueued_configs"]] == [0, 1, 2]
    assert dict(again.ask().config) == {"x": 0.3}
    assert "enqueued" not in again.ask().user_attrs  # The queue is empty: the optimizer's turn.


def test_an_ask_that_loses_its_entry_takes_one_enqueued_since_it_read_the_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    study = mh.create_study(space=mh.Space({"x": mh.Float(0, 1)}), optimizer="random", seed=0)
    study.enqueue({"x": 0.1})
    real = study.storage.create_trial
    raced: list[int] = []

    def racing(study_id: int, **fields: Any) -> Any:
        if fields.get("enqueued") == 0 and not raced:
            raced.append(real(study_id, **fields).number)  # another asker takes entry 0 first,
            study.enqueue({"x": 0.2})  # and another process enqueues
        return real(study_id, **fields)

    monkeypatch.setattr(study.storage, "create_trial", racing)
    trial = study.ask()
    assert raced == [0]
    assert dict(trial.config) == {"x": 0.2} and trial.user_attrs["enqueued"] == 1
