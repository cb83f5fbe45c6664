"""What meta-learning costs: meta-training time and seconds per suggestion.

Meta-training: 100 tasks x 500 evaluations (a shifted Hartmann-6 family, random
designs), MetaTrainingConfig defaults, timed once. Suggestion: seconds per MetaBO ask at
50 / 100 / 200 observations beside Optuna's GPSampler and metahpo's GPBO on the same
history, in the same run (ratios are what matters on a shared machine).

    .venv/bin/python benchmarks/metabo_cost.py --out benchmarks/results/metabo_cost.md
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

import metahpo as mh
from metahpo.surrogates import torch_threads
from metahpo.surrogates.meta import MetaModelProvider, MetaTrainingConfig, TaskData, meta_train
from metahpo.testing.synthetic import ShiftedHartmann6
from metahpo_bench.options import out_file


def family_tasks(n_tasks: int, n_evals: int) -> tuple[ShiftedHartmann6, list[TaskData], mh.KnowledgeBase]:
    family = ShiftedHartmann6(n_tasks=n_tasks + 1, seed=0)
    rng = np.random.default_rng(0)
    data, kb = [], mh.KnowledgeBase()
    for task in family.tasks[1:]:
        configs = family.space.sample(rng, n_evals)
        losses = family.evaluate_batch(task, configs)
        data.append(TaskData(family.space.to_unit(configs), np.asarray(losses), task))
        kb.add_task(family.space, configs, losses, name=task)
    return family, data, kb


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--evals", type=int, default=500)
    parser.add_argument("--sizes", default="50,100,200")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=out_file, default="benchmarks/results/metabo_cost.md")
    args = parser.parse_args()
    load_start = os.getloadavg()[0]
    family, data, kb = family_tasks(args.tasks, args.evals)

    with torch_threads(1):
        started = time.perf_counter()
        model = meta_train(data, MetaTrainingConfig())
        train_seconds = time.perf_counter() - started

    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    target = family.tasks[0]
    for size in sizes:
        configs = family.space.sample(np.random.default_rng(size), size)
        losses = family.evaluate_batch(target, configs)
        timings = {}
        for label in ("metabo", "gpbo", "optuna-gp"):
            timings[label] = _suggest_seconds(label, family, configs, losses, kb, model, args.repeats)
        rows.append((size, timings))

    lines = [
        "# MetaBO cost", "",
        f"Command: `.venv/bin/python benchmarks/metabo_cost.py --tasks {args.tasks} --evals {args.evals} "
        f"--sizes {args.sizes} --repeats {args.repeats}`", "",
        f"Machine: {os.cpu_count()} cores, load average {load_start:.1f} at start, "
        f"{os.getloadavg()[0]:.1f} at end (shared machine: compare ratios within this run).", "",
        f"Meta-training on {len(data)} tasks x {args.evals} evaluations "
        f"({model.info['meta_steps']} meta-steps, meta-batch {model.config.meta_batch}, "
        f"inner steps {model.config.inner_steps}): **{train_seconds:.1f} s**.", "",
        "Seconds per suggestion (median of repeats), 6-d space, history of n COMPLETE trials:", "",
        "| n | MetaBO | GPBO | Optuna GPSampler | Optuna / MetaBO |",
        "|---:|---:|---:|---:|---:|",
    ]
    for size, t in rows:
        ratio = t["optuna-gp"] / t["metabo"] if t["metabo"] > 0 else float("nan")
        lines.append(f"| {size} | {t['metabo']:.3f} | {t['gpbo']:.3f} | {t['optuna-gp']:.3f} | {ratio:.1f}x |")
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


def _suggest_seconds(label, family, configs, losses, kb, model, repeats) -> float:
    """Median seconds of one suggestion after ``len(configs)`` observations."""
    if label == "optuna-gp":
        return _optuna_seconds(family, configs, losses, repeats)
    from metahpo.surrogates import SpaceEncoding

    # The meta-model is trained once per knowledge base (timed above): the provider has it.
    provider = MetaModelProvider()
    provider._remember(provider.key(kb, SpaceEncoding(family.space)), model)
    times = []
    for repeat in range(repeats):
        optimizer = mh.GPBO() if label == "gpbo" else mh.MetaBO(kb, meta_models=provider, continual_update=False)
        study = mh.create_study(space=family.space, optimizer=optimizer, seed=repeat)
        for config, loss in zip(configs, losses, strict=True):
            trial = study.storage.create_trial(study.study_id, config=config)
            study.storage.finish_trial(study.study_id, trial.number, mh.TrialState.COMPLETE, float(loss))
        started = time.perf_counter()
        study.ask()
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def _optuna_seconds(family, configs, losses, repeats) -> float:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    distributions = {
        name: optuna.distributions.FloatDistribution(param.low, param.high)
        for name, param in family.space.items()
    }
    times = []
    for repeat in range(repeats):
        study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=repeat))
        for config, loss in zip(configs, losses, strict=True):
            study.add_trial(optuna.trial.create_trial(params=config, distributions=distributions, value=float(loss)))
        started = time.perf_counter()
        trial = study.ask()
        for name, dist in distributions.items():
            trial.suggest_float(name, dist.low, dist.high)
        times.append(time.perf_counter() - started)
    return float(np.median(times))


if __name__ == "__main__":
    main()
