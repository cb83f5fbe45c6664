"""study.enqueue: validated, asked first and in order, recorded; objective value types."""

from __future__ import annotations

import threading

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
    with pytest.raises(InvalidParameterError, match=r"in \[1"):
        study.enqueue({"booster": "linear", "lr": 0.1}, budget=27)
    study.enqueue({"booster": "linear", "lr": 0.1}, budget=9)
    study.enqueue({"booster": "linear", "lr": 0.2})
    a, b = study.ask(), study.ask()
    assert (a.budget, b.budget) == (9.0, 1.0)
    assert b.bracket is not None


@pytest.mark.parametrize("budget", [np.int64(9), np.float32(9.0)])
def test_enqueue_takes_a_numpy_budget(budget: object) -> None:
    study = mh.create_study(space=SPACE, optimizer="random", seed=0,
                            scheduler=mh.Hyperband(min_budget=1, max_budget=9, eta=3))
    study.enqueue({"booster": "linear", "lr": 0.1}, budget=budget)  # type: ignore[arg-type]
    trial = study.ask()
    assert trial.budget == 9.0 and type(trial.budget) is float


@pytest.mark.parametrize(
    "value", [np.array(0.5), torch.tensor(0.5), np.float32(0.5), np.float64(0.5), np.int64(1), torch.tensor(1)]
)
def test_scalar_arrays_tensors_and_numpy_scalars_are_values(value: object) -> None:
    study = mh.create_study(space=SPACE, optimizer="random", seed=0)
    study.optimize(lambda t: value, n_trials=1, show_progress=False)
    trial = study.trials[0]
    assert trial.state is mh.TrialState.COMPLETE and trial.value == float(value)  # type: ignore[arg-type]
    handle = study.ask()
    handle.report(1, value)  # type: ignore[arg-type]
    study.tell(handle, value)  # type: ignore[arg-type]


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
