"""Seconds per suggestion of GPBO beside Optuna's GPSampler, at 50/100/200/500 observations.

Both optimizers start from the same ``n`` observations (uniform random configs of
Hartmann-6 with their losses), make one warm-up suggestion, then ``--repeats``
suggestions in a row, each evaluated and added before the next, so both reuse kernel
hyperparameters from their previous fit as they would in a study (GPBO's periodic cold
refits included). The table shows the mean seconds per suggestion. GPBO runs torch
and BLAS on one thread (its default); Optuna's GPSampler is timed with torch's default
thread count and again with one torch thread.

Run:
    .venv/bin/python benchmarks/gpbo_speed.py --repeats 5
writes benchmarks/results/gpbo_speed.md and .csv.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import optuna
import torch

import metahpo as mh
from metahpo.history import history_from
from metahpo.trial import FrozenTrial, TrialState
from metahpo_bench import get_problem
from metahpo_bench.runner._optuna import optuna_distributions

RESULTS = Path(__file__).parent / "results"


# The defaults before the Gamma noise prior and the automatic output transform.
EARLIER_DEFAULTS = {"output_transform": "standardize", "noise_prior": "lognormal"}


def gpbo_times(problem, configs, losses, repeats: int, **params) -> list[float]:
    trials = [
        FrozenTrial(i, TrialState.COMPLETE, c, value=float(v))
        for i, (c, v) in enumerate(zip(configs, losses, strict=False))
    ]
    optimizer = mh.GPBO(**params)
    warm = optimizer.suggest(history_from(problem.space, trials[:-1], seed=0), 1)[0]  # warm-up fit
    del warm
    out = []
    for _ in range(repeats):
        history = history_from(problem.space, trials, seed=0)
        start = time.perf_counter()
        config = optimizer.suggest(history, 1)[0]
        out.append(time.perf_counter() - start)
        trials.append(
            FrozenTrial(
                len(trials), TrialState.COMPLETE, config, value=problem.evaluate("0", config)
            )
        )
    return out


def optuna_times(problem, configs, losses, repeats: int, threads: int | None) -> list[float]:
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        distributions = optuna_distributions(problem.space)
        study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=0))
        study.add_trials(
            [
                optuna.trial.create_trial(params=c, distributions=distributions, value=float(v))
                for c, v in zip(configs[:-1], losses[:-1], strict=False)
            ]
        )
        trial = study.ask(distributions)  # warm-up fit
        study.tell(trial, problem.evaluate("0", trial.params))
        out = []
        for _ in range(repeats):
            start = time.perf_counter()
            trial = study.ask(distributions)
            out.append(time.perf_counter() - start)
            study.tell(trial, problem.evaluate("0", trial.params))
        return out
    finally:
        torch.set_num_threads(previous)


def _commit() -> str:
    import subprocess

    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def _has_greenlet() -> bool:
    import importlib.util

    return importlib.util.find_spec("greenlet") is not None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,100,200,500")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tag", default="", help="suffix of the result files, e.g. 'nogreenlet'")
    parser.add_argument(
        "--earlier",
        action="store_true",
        help=f"also time GPBO with the earlier defaults {EARLIER_DEFAULTS}",
    )
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    problem = get_problem("hartmann6")
    load_before = os.getloadavg()[0]
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        configs = problem.space.sample(np.random.default_rng(n), n)
        losses = [problem.evaluate("0", c) for c in configs]
        gp = gpbo_times(problem, configs, losses, args.repeats)
        op = optuna_times(problem, configs, losses, args.repeats, None)
        op1 = optuna_times(problem, configs, losses, args.repeats, 1)
        row = {
            "observations": n,
            "gpbo_s": statistics.mean(gp),
            "optuna_gp_s": statistics.mean(op),
            "optuna_gp_1thread_s": statistics.mean(op1),
            "gpbo_median_s": statistics.median(gp),
            "optuna_gp_median_s": statistics.median(op),
        }
        row["speedup"] = row["optuna_gp_s"] / row["gpbo_s"]
        row["speedup_vs_1thread"] = row["optuna_gp_1thread_s"] / row["gpbo_s"]
        if args.earlier:
            row["gpbo_earlier_s"] = statistics.mean(
                gpbo_times(problem, configs, losses, args.repeats, **EARLIER_DEFAULTS)
            )
        rows.append(row)
        print(row, flush=True)
    RESULTS.mkdir(exist_ok=True)
    stem = "gpbo_speed" + (f"_{args.tag}" if args.tag else "")
    with open(RESULTS / f"{stem}.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = [
        "# Seconds per suggestion: GPBO vs Optuna GPSampler (Hartmann-6)",
        "",
        f"Command: `.venv/bin/python benchmarks/gpbo_speed.py --sizes {args.sizes} --repeats {args.repeats}"
        + (f" --tag {args.tag}" if args.tag else "")
        + (" --earlier" if args.earlier else "")
        + "`  ",
        f"GPBO: `{mh.GPBO()!r}` (the defaults) at commit {_commit()}.  ",
        f"greenlet installed (Optuna's batched acquisition optimisation): {_has_greenlet()}  ",
        f"Machine: {platform.machine()}, {torch.get_num_threads()} torch threads by default, "
        f"optuna {optuna.__version__}, torch {torch.__version__}; the machine is shared with other jobs, "
        "so absolute numbers are noisy. Mean seconds per suggestion over the repeats.  ",
        f"1-minute load average: {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
        f"({os.cpu_count()} cores).",
        "",
        "| observations | GPBO (s) | Optuna GPSampler (s) | Optuna GPSampler, 1 thread (s) | speed-up | speed-up vs 1 thread |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    if args.earlier:
        lines[-2] = lines[-2] + " GPBO, earlier defaults (s) |"
        lines[-1] = lines[-1] + "---:|"
    for r in rows:
        lines.append(
            f"| {r['observations']} | {r['gpbo_s']:.3f} | {r['optuna_gp_s']:.3f} | {r['optuna_gp_1thread_s']:.3f} "
            f"| {r['speedup']:.1f}x | {r['speedup_vs_1thread']:.1f}x |"
            + (f" {r['gpbo_earlier_s']:.3f} |" if args.earlier else "")
        )
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
