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
import pandas as pd


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", type=Path, nargs="+")
    parser.add_argument("--first", required=True)
    parser.add_argument("--second", required=True)
    parser.add_argument("--trials", type=int, required=True)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    checkpoints = [n for n in (5, 10, 25, 50) if n <= args.trials]
    frames, bounds = [], {}
    for folder in args.dirs:
        rows = pd.read_json(folder / "results.jsonl", lines=True, dtype={"task": str})
        frames.append(rows[rows.optimizer.isin([args.first, args.second])].assign(source=str(folder)))
        for task, (low, high) in json.loads((folder / "bounds.json").read_text()).items():
            old = bounds.get(task, (low, high))
            bounds[task] = (min(low, old[0]), max(high, old[1]))
    runs = pd.concat(frames)
    if runs.duplicated(["task", "optimizer", "seed", "trial"]).any():
        parser.error("a (task, optimizer, seed) run appears in more than one directory")
    lines = [
        f"# {args.first} ÷ {args.second}: mean normalised regret and its ratio", "",
        "Command: `.venv/bin/python " + " ".join(shlex.quote(a) for a in sys.argv) + "`", "",
        "Regret bounds: the union of the directories' bounds. Interval: 5th and 95th percentiles "
        "of the ratio over 2,000 resamples of the (task, seed) runs.", "",
        f"| runs from | runs | N | {args.first} | {args.second} | ratio | 90% interval |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    rng = np.random.default_rng(0)
    groups = [("all", None), *((str(d), str(d)) for d in args.dirs)]
    for n in checkpoints:
        best = runs[runs.trial < n].groupby(["source", "task", "seed", "optimizer"]).loss.min().reset_index()
        low = best.task.map(lambda t: bounds[t][0])
        high = best.task.map(lambda t: bounds[t][1])
        best["regret"] = (best.loss - low) / (high - low)
        table = best.pivot_table(index=["source", "task", "seed"], columns="optimizer", values="regret").dropna()
        for label, source in groups:
            part = table if source is None else table.xs(source, level="source", drop_level=False)
            a, b = part[args.first].to_numpy(), part[args.second].to_numpy()
            picks = rng.integers(len(a), size=(2000, len(a)))
            ratios = a[picks].mean(axis=1) / b[picks].mean(axis=1)
            lo, hi = np.percentile(ratios, [5, 95])
            lines.append(f"| {label} | {len(a)} | {n} | {a.mean():.4f} | {b.mean():.4f} | "
                         f"{a.mean() / b.mean():.2f} | {lo:.2f}–{hi:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
