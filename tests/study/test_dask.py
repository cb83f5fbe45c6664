from __future__ import annotations

import pytest

import metahpo as mh
from metahpo.trial import TrialState

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")


def test_trials_run_on_a_real_dask_cluster(tmp_path):
    url = f"sqlite:///{tmp_path / 'dask.db'}"
    space = mh.Space({"x": mh.Float(-2.0, 2.0), "y": mh.Float(-2.0, 2.0)})
    study = mh.create_study(name="dask", space=space, storage=url, optimizer="random", seed=0)

    def objective(trial):
        import os

        trial.set_user_attr("pid", os.getpid())
        if trial.config["x"] > 1.8:
            raise ValueError("diverged")
        return trial.config["x"] ** 2 + trial.config["y"] ** 2

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        study.optimize(objective, n_trials=12, executor=client)
    trials = study.trials
    assert sorted(t.number for t in trials) == list(range(12))
    assert all(t.state in (TrialState.COMPLETE, TrialState.FAILED) for t in trials)
    assert len({tuple(t.config.values()) for t in trials}) == 12
    import os

    pids = {t.user_attrs.get("pid") for t in trials}
    assert os.getpid() not in pids and len(pids) >= 1
    assert study.best_value == min(t.value for t in trials if t.state is TrialState.COMPLETE)


def test_dask_needs_a_sql_storage():
    study = mh.create_study(space=mh.Space({"x": mh.Float(0, 1)}), optimizer="random", seed=0)
    with pytest.raises(mh.InvalidParameterError, match="SQL URL"):
        study.optimize(lambda t: 0.0, n_trials=1, executor=object())


def test_the_executor_must_be_a_running_dask_client(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    url = f"sqlite:///{tmp_path}/e.db"
    study = mh.create_study(name="e", space=mh.Space({"x": mh.Float(0, 1)}), storage=url, optimizer="random")
    with ThreadPoolExecutor(2) as pool:
        for executor in (pool, "localhost:8786"):
            with pytest.raises(mh.exceptions.InvalidParameterError, match=r"'executor'.*dask.distributed Client.*n_jobs="):
                study.optimize(lambda t: t.config["x"], n_trials=2, executor=executor)
    client = distributed.Client(distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False))
    client.cluster.close()
    client.close()
    with pytest.raises(mh.exceptions.InvalidParameterError, match=r"'executor'.*closed, not running"):
        study.optimize(lambda t: t.config["x"], n_trials=2, executor=client)
    assert study.trials == []


def test_n_jobs_with_an_executor_is_refused(tmp_path):
    study = mh.create_study(space=mh.Space({"x": mh.Float(0, 1)}), storage=f"sqlite:///{tmp_path}/j.db",
                            optimizer="random")
    with pytest.raises(mh.exceptions.InvalidParameterError, match=r"'n_jobs'.*Dask executor.*n_jobs=2"):
        study.optimize(lambda t: t.config["x"], n_trials=2, n_jobs=2, executor=object())


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as c:
        c.run(lambda: __import__("metahpo.optimizers"))  # warm: imports do not eat a timeout
        yield c


def test_knowledge_built_in_memory_travels_to_the_workers(tmp_path, client):
    from metahpo.surrogates.meta import MetaModelProvider, MetaTrainingConfig
    from metahpo.testing.synthetic import ShiftedBranin

    family = ShiftedBranin(n_tasks=5, seed=0)
    design = family.space.sobol(32, seed=0)
    kb = mh.KnowledgeBase()
    for task in family.tasks[1:]:
        kb.add_task(family.space, design, [family.evaluate(task, c) for c in design], name=task)
    provider = MetaModelProvider(MetaTrainingConfig(meta_steps=20), store=tmp_path / "models")
    optimizer = mh.MetaBO(kb, meta_models=provider, continual_update=False)
    study = mh.create_study(name="kb", space=family.space, storage=f"sqlite:///{tmp_path / 'kb.db'}",
                            optimizer=optimizer, seed=0)
    study.optimize(lambda t: family.evaluate(family.tasks[0], t.config), n_trials=5, executor=client)
    sources = [t.user_attrs["why"]["source"] for t in study.trials]
    # Reopened without it, each worker's MetaBO was GP-BO: "0 related tasks (< 3)".
    assert sources.count("portfolio") == 3 and "surrogate" in sources


def test_plateau_and_timeout_stop_the_run_as_they_do_locally(tmp_path, client):
    import time

    url = f"sqlite:///{tmp_path / 'stop.db'}"
    space = mh.Space({"x": mh.Float(0.0, 1.0)})
    for i in range(3):  # knowledge for MetaBO: three finished studies in the storage
        past = mh.create_study(name=f"past-{i}", space=space, storage=url, optimizer="random", seed=i)
        past.optimize(lambda t: t.config["x"], n_trials=6, show_progress=False)
    optimizer = mh.MetaBO(mh.KnowledgeBase.open(url), plateau_patience=2, continual_update=False,
                          meta_models=str(tmp_path / "models"))
    flat = mh.create_study(name="flat", space=space, storage=url, optimizer=optimizer, seed=0)
    flat.optimize(lambda t: 0.0 if t.number == 0 else 1.0, n_trials=12, executor=client)
    assert 3 <= len(flat.trials) <= 5  # 3 trials locally; a worker may be one trial ahead

    slow = mh.create_study(name="slow", space=space, storage=url, optimizer="random", seed=0)
    started = time.monotonic()
    # 3 s leave a loaded machine time to start the first trials; none starts after them.
    slow.optimize(lambda t: time.sleep(4) or t.config["x"], n_trials=8, timeout=3, executor=client)
    assert time.monotonic() - started >= 4  # the running trials were waited for
    trials = mh.load_study("slow", url).trials
    assert 1 <= len(trials) <= 2 and all(t.state is TrialState.COMPLETE for t in trials)


def test_a_scheduler_of_the_user_s_own_travels_to_the_workers(tmp_path, client):
    from metahpo.schedulers import BaseScheduler, Job

    class TwoBudgets(BaseScheduler):  # defined here: the workers cannot import it by name
        name = "two_budgets"

        def __init__(self) -> None:
            self.min_budget, self.max_budget = 1.0, 4.0

        def next_job(self, history):
            return Job(budget=2.0, bracket=0, rung=0)

    url = f"sqlite:///{tmp_path / 'own.db'}"
    study = mh.create_study(name="own", space=mh.Space({"x": mh.Float(0, 1)}), storage=url,
                            optimizer="random", scheduler=TwoBudgets(), seed=0)
    study.optimize(lambda t: t.config["x"] * t.budget, n_trials=6, executor=client)
    trials = study.trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 6
    assert {t.budget for t in trials} == {2.0}  # the workers' jobs came from the user's scheduler


def test_a_subclass_of_a_built_in_scheduler_travels_to_the_workers(tmp_path, client):
    from metahpo.schedulers import FullBudget, Job

    class FullAtTwo(FullBudget):  # keeps the name "full", not the class
        def next_job(self, history):
            return Job(budget=2.0, bracket=0, rung=0)

    study = mh.create_study(name="sub", space=mh.Space({"x": mh.Float(0, 1)}),
                            storage=f"sqlite:///{tmp_path / 'sub.db'}", optimizer="random",
                            scheduler=FullAtTwo(), seed=0)
    study.optimize(lambda t: t.config["x"], n_trials=4, executor=client)
    assert [t.budget for t in study.trials] == [2.0] * 4  # rebuilt by name, the workers would run None
