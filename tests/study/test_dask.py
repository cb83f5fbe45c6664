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
