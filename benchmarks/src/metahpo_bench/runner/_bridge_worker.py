"""Peer optimizers that need their own environment (DEHB: numpy<2; Syne Tune), as a JSON bridge.

This file runs as a script in the peer's virtualenv and imports nothing from metahpo.
Protocol, one JSON object per line: the parent writes an init object
``{"method", "space", "seed", "min_budget", "max_budget", "eta", "meta_train"}``; the
worker imports the peer and answers ``{"ready": true}``; then it writes a suggestion ``{"config": {...}, "budget": b}`` and reads back
``{"loss": x}`` (or ``{"stop": true}``), until stopped. Anything the peer prints goes
to stderr, so stdout carries only the protocol. Errors are reported as
``{"error": "..."}`` before exiting with status 1.
"""

from __future__ import annotations

import json
import sys
import tempfile
import traceback
from datetime import datetime
from typing import Any

PROTOCOL = sys.stdout


def send(obj: dict[str, Any]) -> None:
    PROTOCOL.write(json.dumps(obj) + "\n")
    PROTOCOL.flush()


def receive() -> dict[str, Any]:
    line = sys.stdin.readline()
    if not line:
        raise SystemExit(0)
    return json.loads(line)


def to_python(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


# Spaces -------------------------------------------------------------------------------
def to_configspace(space: dict[str, Any], seed: int) -> Any:
    import ConfigSpace as CS

    cs = CS.ConfigurationSpace(seed=seed)
    for name, p in space.items():
        if p["type"] == "float":
            cs.add(
                CS.UniformFloatHyperparameter(name, p["low"], p["high"], log=p.get("log", False))
            )
        elif p["type"] == "int":
            cs.add(
                CS.UniformIntegerHyperparameter(name, p["low"], p["high"], log=p.get("log", False))
            )
        else:
            cs.add(CS.CategoricalHyperparameter(name, [str(i) for i in range(len(p["choices"]))]))
    return cs


def from_configspace(space: dict[str, Any], values: Any) -> dict[str, Any]:
    data = dict(values)
    out = {}
    for name, p in space.items():
        value = to_python(data[name])
        out[name] = p["choices"][int(value)] if p["type"] == "categorical" else value
    return out


def to_synetune(space: dict[str, Any]) -> dict[str, Any]:
    from syne_tune import config_space as st

    out: dict[str, Any] = {}
    for name, p in space.items():
        if p["type"] == "float":
            out[name] = (st.loguniform if p.get("log") else st.uniform)(p["low"], p["high"])
        elif p["type"] == "int":
            out[name] = (st.lograndint if p.get("log") else st.randint)(p["low"], p["high"])
        else:
            out[name] = st.choice([str(i) for i in range(len(p["choices"]))])
    return out


def encode_categorical(space: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    out = dict(config)
    for name, p in space.items():
        if p["type"] == "categorical":
            keys = [json.dumps(c) for c in p["choices"]]
            out[name] = str(keys.index(json.dumps(config[name])))
    return out


# DEHB ----------------------------------------------------------------------------------
def run_dehb(init: dict[str, Any]) -> None:
    from dehb import DEHB

    space = init["space"]
    cs = to_configspace(space, init["seed"])
    dehb = DEHB(
        cs=cs,
        dimensions=len(space),
        min_fidelity=init["min_budget"],
        max_fidelity=init["max_budget"],
        eta=init["eta"],
        seed=init["seed"],
        n_workers=1,
        output_path=tempfile.mkdtemp(prefix="metahpo-dehb-"),
    )
    while True:
        job = dehb.ask()
        send({"config": from_configspace(space, job["config"]), "budget": float(job["fidelity"])})
        reply = receive()
        if reply.get("stop"):
            return
        dehb.tell(job, {"fitness": float(reply["loss"]), "cost": float(job["fidelity"])})


# Syne Tune -----------------------------------------------------------------------------
def transfer_evaluations(init: dict[str, Any], st_space: dict[str, Any]) -> dict[str, Any]:
    import numpy as np
    import pandas as pd
    from syne_tune.optimizer.schedulers.transfer_learning.transfer_learning_task_evaluation import (
        TransferLearningTaskEvaluations,
    )

    space = init["space"]
    meta = init["meta_train"]
    frame = pd.DataFrame([encode_categorical(space, c) for c in meta["configs"]])
    return {
        task: TransferLearningTaskEvaluations(
            configuration_space=st_space,
            hyperparameters=frame.copy(),
            objectives_names=["loss"],
            objectives_evaluations=np.asarray(losses, dtype=float).reshape(-1, 1, 1, 1),
        )
        for task, losses in meta["losses"].items()
    }


def run_synetune(init: dict[str, Any]) -> None:
    import numpy as np
    from syne_tune.backend.trial_status import Trial

    space, seed, method = init["space"], init["seed"], init["method"]
    st_space = to_synetune(space)
    evaluations = transfer_evaluations(init, st_space)
    rng = np.random.RandomState(seed)

    def random_config() -> dict[str, Any]:
        return {k: v.sample(random_state=rng) for k, v in st_space.items()}

    if method == "synetune-zeroshot":
        from syne_tune.optimizer.schedulers.transfer_learning.zero_shot import ZeroShotTransfer

        searcher = ZeroShotTransfer(
            st_space,
            metric="loss",
            transfer_learning_evaluations=evaluations,
            do_minimize=True,
            random_seed=seed,
        )

        def ask() -> dict[str, Any]:
            # The zero-shot choice happens only in get_config(); suggest() is random search.
            # Once the portfolio of meta-train configs is used up, sample at random.
            config = searcher.get_config()
            return random_config() if config is None else config

        def tell(config: dict[str, Any], trial_id: int, loss: float) -> None:
            del config, trial_id, loss  # zero-shot ignores the target task's results

    elif method == "synetune-quantile":
        from syne_tune.optimizer.schedulers.transfer_learning.quantile_based.quantile_based_searcher import (
            QuantileBasedSurrogateSearcher,
        )

        searcher = QuantileBasedSurrogateSearcher(
            st_space, transfer_learning_evaluations=evaluations, random_seed=seed
        )

        def ask() -> dict[str, Any]:
            return searcher.suggest()

        def tell(config: dict[str, Any], trial_id: int, loss: float) -> None:
            searcher.on_trial_complete(trial_id, config, loss)  # does not change its model

    elif method == "synetune-boundingbox":
        from syne_tune.optimizer.baselines import RandomSearch
        from syne_tune.optimizer.schedulers.transfer_learning.bounding_box import BoundingBox

        def scheduler_fun(
            box: dict[str, Any], metric: str, do_minimize: bool, random_seed: int
        ) -> Any:
            return RandomSearch(
                box, metrics=[metric], do_minimize=do_minimize, random_seed=random_seed
            )

        scheduler = BoundingBox(
            scheduler_fun,
            st_space,
            metric="loss",
            transfer_learning_evaluations=evaluations,
            do_minimize=True,
            random_seed=seed,
        )
        trials: dict[int, Any] = {}

        def ask() -> dict[str, Any]:
            suggestion = scheduler.suggest()
            trial = Trial(
                trial_id=len(trials), config=suggestion.config, creation_time=datetime.now()
            )
            trials[trial.trial_id] = trial
            scheduler.on_trial_add(trial)
            return dict(suggestion.config)

        def tell(config: dict[str, Any], trial_id: int, loss: float) -> None:
            scheduler.on_trial_complete(trials[trial_id], {"loss": loss})

    else:
        raise ValueError(f"unknown Syne Tune method {method!r}")

    trial_id = 0
    while True:
        config = {k: to_python(v) for k, v in ask().items()}
        send({"config": from_configspace(space, config), "budget": init["max_budget"]})
        reply = receive()
        if reply.get("stop"):
            return
        tell(config, trial_id, float(reply["loss"]))
        trial_id += 1


def main() -> None:
    # Peers print progress (Syne Tune's BoundingBox prints its box): keep stdout for the protocol.
    sys.stdout = sys.stderr
    init = receive()
    try:
        if init["method"] == "dehb":
            import dehb  # noqa: F401
        else:
            import syne_tune.optimizer.schedulers.transfer_learning  # noqa: F401
            import xgboost  # noqa: F401
        send({"ready": True})
        if init["method"] == "dehb":
            run_dehb(init)
        else:
            run_synetune(init)
    except Exception as exc:  # report any failure of the peer to the parent, then exit
        send({"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-3000:]})
        raise SystemExit(1) from exc


if __name__ == "__main__":
    main()
