"""The ratio of two optimizers' mean regrets, with a bootstrap interval, over runs pooled from several directories.

The issues' targets are ratios of mean normalised regrets ("MetaBO at most 0.7x the best
peer's"), and a ratio of two small means moves between reruns. This pools the runs of
``FIRST`` and ``SECOND`` from several result directories (the same problem, tasks and
split; more seeds in each), scores them all on the union of the directories' regret
bounds, and prints each checkpoint's mean regrets, their ratio, and a 90% interval from
resampling the (task, seed) runs with both optimizers together (2,000 resamples, seeded),
for all runs and for each directory's runs.

    .venv/bin/python benchmarks/ratio_interval.py benchmarks/results/pibo_prior/lcbench_256 \
        benchmarks/results/lcbench_256_more_seeds --first metabo --second optuna-gp --trials 50
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np

from metahpo_bench.options import out_file
from metahpo_bench.runner._records import read_records
from metahpo_bench.runner._regret import TaskBounds
from metahpo_bench.runner._report import CHECKPOINTS, build_curves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", type=Path, nargs="+")
    parser.add_argument("--first", required=True)
    parser.add_argument("--second", required=True)
    parser.add_argument("--trials", type=int, required=True)
    parser.add_argument("--out", type=out_file)
    args = parser.parse_args()
    checkpoints = [c for c in CHECKPOINTS if c <= args.trials]
    records, source, bounds = [], {}, {}
    for folder in args.dirs:
        for record in read_records(folder / "results.jsonl"):
            if record.optimizer in (args.first, args.second):
                run = (record.optimizer, record.task, record.seed)
                if source.setdefault(run, folder) != folder:
                    parser.error(f"the run {run} appears in {source[run]} and {folder}")
                records.append(record)
        for task, (low, high) in json.loads((folder / "bounds.json").read_text()).items():
            bounds[task] = bounds.get(task, TaskBounds(low, high)).widen([low, high])
    full = max((r.budget or 1.0) for r in records)
    curves = build_curves(records, bounds, full, args.trials, checkpoints)
    # Both optimizers' regrets on the runs they share, and the directory of each run.
    shared = sorted(set(curves.runs[args.first]) & set(curves.runs[args.second]))
    rows = {name: [curves.runs[name].index(run) for run in shared] for name in (args.first, args.second)}
    origin = np.array([str(source[(args.first, *run)]) for run in shared])
    lines = [
        f"# {args.first} ÷ {args.second}: mean normalised regret and its ratio", "",
        "Command: `.venv/bin/python " + " ".join(shlex.quote(a) for a in sys.argv) + "`", "",
        "Regret bounds: the union of the directories' bounds. Interval: 5th and 95th percentiles "
        "of the ratio over 2,000 resamples of the (task, seed) runs.", "",
        f"| runs from | runs | N | {args.first} | {args.second} | ratio | 90% interval |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    rng = np.random.default_rng(0)
    for n in checkpoints:
        column = int(np.argmin(np.abs(curves.grid - n)))
        first = curves.regret[args.first][rows[args.first], column]
        second = curves.regret[args.second][rows[args.second], column]
        for label in ["all", *map(str, args.dirs)]:
            keep = np.ones(len(shared), bool) if label == "all" else origin == label
            a, b = first[keep], second[keep]
            picks = rng.integers(len(a), size=(2000, len(a)))
            lo, hi = np.percentile(a[picks].mean(axis=1) / b[picks].mean(axis=1), [5, 95])
            lines.append(f"| {label} | {len(a)} | {n} | {a.mean():.4f} | {b.mean():.4f} | "
                         f"{a.mean() / b.mean():.2f} | {lo:.2f}–{hi:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
