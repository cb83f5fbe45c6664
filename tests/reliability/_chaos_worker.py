"""A worker process of the chaos tests: ``python _chaos_worker.py URL STUDY N_TRIALS SLEEP RETRIES``.

Runs ``optimize`` on the stored study with short heartbeats (0.2 s, grace 1 s); each trial
records the worker's pid and sleeps, so that the test can kill or pause it mid-trial.
"""

from __future__ import annotations

import os
import sys
import time

import metahpo as mh
from metahpo.storage import SQLStorage


def main() -> None:
    url, name, n_trials, sleep, retries = sys.argv[1:6]
    study = mh.load_study(name, SQLStorage(url, heartbeat_interval=0.2, grace_period=1.0))

    def objective(trial: mh.TrialHandle) -> float:
        trial.set_user_attr("pid", os.getpid())
        time.sleep(float(sleep))
        return float(trial.config["x"]) ** 2

    study.optimize(objective, n_trials=int(n_trials), retries=int(retries))


if __name__ == "__main__":
    main()
