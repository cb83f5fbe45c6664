"""Several processes writing one study: no trial lost, none duplicated, no lock error."""

from __future__ import annotations

import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from metahpo.storage import SQLStorage
from metahpo.testing.storage import make_study
from metahpo.trial import TrialState

PROCESSES = 4
TRIALS_PER_PROCESS = 25


def _worker(url: str, study_name: str, worker: int, start: object) -> list[int]:
    storage = SQLStorage(url)
    study_id = storage.get_study(study_name).study_id
    start.wait()  # type: ignore[attr-defined]  # All workers contend from the same moment.
    numbers = []
    for index in range(TRIALS_PER_PROCESS):
        trial = storage.create_trial(study_id, config={"worker": worker, "index": index})
        storage.report(study_id, trial.number, 1, float(index))
        storage.finish_trial(study_id, trial.number, TrialState.COMPLETE, float(worker))
        numbers.append(trial.number)
    storage.close()
    return numbers


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_processes_share_one_study(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/metahpo.db" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    storage = SQLStorage(url)
    study = make_study(storage, "shared")
    context = multiprocessing.get_context("fork")
    start = context.Manager().Event()
    with ProcessPoolExecutor(PROCESSES, mp_context=context) as pool:
        futures = [pool.submit(_worker, url, "shared", worker, start) for worker in range(PROCESSES)]
        start.set()
        per_worker = [future.result(timeout=120) for future in futures]  # Re-raises any error.
    total = PROCESSES * TRIALS_PER_PROCESS
    assert sorted(n for numbers in per_worker for n in numbers) == list(range(total))
    trials = storage.get_trials(study.study_id)
    assert [t.number for t in trials] == list(range(total))
    assert all(t.state is TrialState.COMPLETE for t in trials)
    for trial in trials:  # Each trial holds what the worker that got its number wrote.
        worker = trial.config["worker"]
        assert trial.number in per_worker[worker]
        assert trial.value == float(worker)
        assert trial.intermediate == {1.0: float(trial.config["index"])}
    assert sorted((t.config["worker"], t.config["index"]) for t in trials) == [
        (w, i) for w in range(PROCESSES) for i in range(TRIALS_PER_PROCESS)
    ]


def _optimize(url: str, start: object) -> None:
    import metahpo as mh

    space = mh.Space({"x": mh.Float(-1.0, 1.0)})
    study = mh.create_study(name="optimized", space=space, storage=url, optimizer="random",
                            seed=0, load_if_exists=True)
    start.wait()  # type: ignore[attr-defined]
    study.optimize(lambda trial: trial.config["x"] ** 2, n_trials=TRIALS_PER_PROCESS,
                   show_progress=False)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_processes_optimize_one_study(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    import metahpo as mh

    url = f"sqlite:///{tmp_path}/metahpo.db" if backend == "sqlite" else request.getfixturevalue("postgres_url")
    space = mh.Space({"x": mh.Float(-1.0, 1.0)})
    study = mh.create_study(name="optimized", space=space, storage=url, optimizer="random", seed=0)
    context = multiprocessing.get_context("fork")
    start = context.Manager().Event()
    with ProcessPoolExecutor(PROCESSES, mp_context=context) as pool:
        futures = [pool.submit(_optimize, url, start) for _ in range(PROCESSES)]
        start.set()
        for future in futures:
            future.result(timeout=300)
    trials = study.trials
    assert [t.number for t in trials] == list(range(PROCESSES * TRIALS_PER_PROCESS))
    assert all(t.state.value == "COMPLETE" for t in trials)
    assert len({json.dumps(dict(t.config)) for t in trials}) == len(trials)  # No config twice.
