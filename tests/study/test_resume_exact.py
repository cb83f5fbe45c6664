"""Resume is exact: a study stopped at trial k and reloaded elsewhere proposes what it would have.

Each case runs the same study twice with the same seed: once without interruption, and
once stopped after ``STOP_AT`` trials and continued by ``load_study`` in another Python
process (or, under Dask, with every trial on a worker that reloads the study). The
configs of all trials must be the same.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import metahpo as mh
from metahpo.testing.synthetic import ShiftedBranin

N_TRIALS = 12
STOP_AT = 5
FAMILY = ShiftedBranin(n_tasks=6, seed=3)
TARGET = FAMILY.tasks[0]
HERE = Path(__file__).resolve().parent


def objective(trial) -> float:
    # A budget term that shrinks with the budget, so Hyperband's rungs see different losses.
    penalty = 0.0 if trial.budget is None else 5.0 / trial.budget
    return FAMILY.evaluate(TARGET, trial.config) + penalty


def make_metabo(knowledge: str) -> mh.MetaBO:
    """MetaBO with tiny meta-training and no continual update when ``optimize`` returns.

    The update would save a new meta-model version after the first chunk of an interrupted
    run, which an uninterrupted run never sees; with it off both runs use one model.
    """
    from metahpo.surrogates.meta import MetaModelProvider, MetaTrainingConfig

    provider = MetaModelProvider(MetaTrainingConfig(meta_steps=20))
    return mh.MetaBO(knowledge=mh.KnowledgeBase.open(knowledge), meta_models=provider,
                     n_warm_start=2, continual_update=False)


def make_optimizer(kind: str, knowledge: str | None):
    return make_metabo(knowledge) if kind == "metabo" else mh.GPBO()


def make_scheduler(kind: str):
    return mh.Hyperband(min_budget=1, max_budget=9, eta=3) if kind == "hyperband" else None


def configs(study) -> list[tuple[int, float | None, dict]]:
    return [(t.number, t.budget, dict(t.config)) for t in study.trials]


def run_study(url: str, name: str, optimizer_kind: str, scheduler_kind: str, knowledge: str | None,
              n_trials: int):
    study = mh.create_study(name=name, space=FAMILY.space, storage=url, seed=7,
                            optimizer=make_optimizer(optimizer_kind, knowledge),
                            scheduler=make_scheduler(scheduler_kind))
    study.optimize(objective, n_trials=n_trials, show_progress=False)
    return study


def continue_study(url: str, name: str, n_trials: int) -> None:
    """What the other process runs: load the study by name and go on."""
    study = mh.load_study(name, url)
    study.optimize(objective, n_trials=n_trials, show_progress=False)


def _child_env() -> dict[str, str]:
    # Child processes import this copy of metahpo, not whichever one is installed.
    source = str(Path(mh.__file__).resolve().parents[1])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([source, *filter(None, [env.get("PYTHONPATH")])])
    return env


def continue_in_another_process(url: str, name: str, n_trials: int) -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import test_resume_exact as t; t.continue_study(sys.argv[2], sys.argv[3], int(sys.argv[4]))"
    )
    done = subprocess.run([sys.executable, "-c", code, str(HERE), url, name, str(n_trials)],
                          env=_child_env(), capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.fixture(autouse=True)
def meta_home(tmp_path, monkeypatch):
    monkeypatch.setenv("METAHPO_HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def knowledge_url(tmp_path_factory) -> str:
    """Four finished studies of related tasks in their own SQLite file."""
    url = f"sqlite:///{tmp_path_factory.mktemp('kb') / 'kb.db'}"
    for task in FAMILY.tasks[1:5]:
        past = mh.create_study(name=f"past-{task}", space=FAMILY.space, storage=url,
                               optimizer="random", seed=0)
        past.optimize(lambda t, task=task: FAMILY.evaluate(task, t.config), n_trials=12,
                      show_progress=False)
    return url


@pytest.mark.parametrize("optimizer_kind", ["gpbo", "metabo"])
@pytest.mark.parametrize("scheduler_kind", ["full", "hyperband"])
def test_a_study_reloaded_in_another_process_proposes_the_same_configs(
    tmp_path, request, optimizer_kind, scheduler_kind
):
    knowledge = request.getfixturevalue("knowledge_url") if optimizer_kind == "metabo" else None
    whole_url = f"sqlite:///{tmp_path / 'whole.db'}"
    whole = run_study(whole_url, "s", optimizer_kind, scheduler_kind, knowledge, N_TRIALS)

    resumed_url = f"sqlite:///{tmp_path / 'resumed.db'}"
    first = run_study(resumed_url, "s", optimizer_kind, scheduler_kind, knowledge, STOP_AT)
    assert len(first.trials) == STOP_AT
    continue_in_another_process(resumed_url, "s", N_TRIALS - STOP_AT)
    resumed = mh.load_study("s", resumed_url)

    assert len(resumed.trials) == N_TRIALS
    assert configs(resumed) == configs(whole)
    if optimizer_kind == "metabo":
        sources = {t.user_attrs["why"]["source"] for t in whole.trials if t.parent is None}
        assert {"portfolio", "surrogate"} <= sources  # the knowledge was used, not GP-BO's fallback


def test_the_reserved_state_attribute_stays_out_of_the_dataframe(tmp_path):
    study = run_study(f"sqlite:///{tmp_path / 'db.db'}", "s", "gpbo", "full", None, 5)
    assert "optimizer_state" in study.trials[-1].user_attrs
    columns = set(study.trials_dataframe().columns)
    assert "user_attrs_why" in columns and "user_attrs_optimizer_state" not in columns
    handle = study.ask()
    with pytest.raises(mh.InvalidParameterError, match="optimizer_state"):
        handle.set_user_attr("optimizer_state", {})


def test_a_study_run_on_dask_proposes_what_a_serial_run_proposes(tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")
    monkeypatch.setenv("PYTHONPATH", _child_env()["PYTHONPATH"])  # the workers' processes
    space = mh.Space({"x": mh.Float(-2.0, 2.0), "y": mh.Float(-1.0, 3.0)})

    def bowl(trial) -> float:  # defined here so that Dask ships it by value
        x, y = trial.config["x"], trial.config["y"]
        return (x - 0.4) ** 2 + 2.0 * (y - 1.1) ** 2 + 0.3 * math.sin(3.0 * x)

    serial = mh.create_study(name="s", space=space, storage=f"sqlite:///{tmp_path / 'serial.db'}",
                             optimizer=mh.GPBO(), seed=11)
    serial.optimize(bowl, n_trials=10, show_progress=False)
    on_dask = mh.create_study(name="s", space=space, storage=f"sqlite:///{tmp_path / 'dask.db'}",
                              optimizer=mh.GPBO(), seed=11)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        on_dask.optimize(bowl, n_trials=10, executor=client)
    assert configs(on_dask) == configs(serial)
