"""One optimizer's runs before and after a change, paired on the same task x seed runs.

Reads the optimizer's runs from two `metahpo-bench run` directories made with the same
command (the "before" one usually the committed result, the "after" one a rerun with the
changed code), normalises both with the after directory's regret bounds, and prints the
mean regret of each at the checkpoints and their paired difference (after minus before:
mean ± standard error, better/worse runs, Wilcoxon p), plus after minus each other
optimizer of the after directory named with ``--against``. With ``--evaluation K`` it also
gives the regret of each run's K-th evaluation (not the incumbent's) before and after.

    .venv/bin/python benchmarks/before_after.py benchmarks/results/pool_lcbench \
        benchmarks/results/trend_prior/pool_lcbench --optimizer metabo --against portfolio,gpbo
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from metahpo_bench.options import out_file
from metahpo_bench.runner._paired import paired_table
from metahpo_bench.runner._records import read_records
from metahpo_bench.runner._regret import TaskBounds
from metahpo_bench.runner._report import CHECKPOINTS, build_curves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--optimizer", default="metabo")
    parser.add_argument("--against", default="", help="Comma-separated optimizers of the after run.")
    parser.add_argument("--evaluation", type=int, default=0, help="Also the regret of the K-th evaluation (1-based).")
    parser.add_argument("--out", type=out_file)
    args = parser.parse_args()

    spec = json.loads((args.after / "run.json").read_text())["spec"]
    bounds = {t: TaskBounds(*b) for t, b in json.loads((args.after / "bounds.json").read_text()).items()}
    before_name = f"{args.optimizer} (before)"
    records = list(read_records(args.after / "results.jsonl"))
    records += [
        replace(r, optimizer=before_name)
        for r in read_records(args.before / "results.jsonl")
        if r.optimizer == args.optimizer
    ]
    present = {r.optimizer for r in records}
    others = [a for a in args.against.split(",") if a]
    missing = [n for n in [args.optimizer, before_name, *others] if n not in present]
    if missing:
        parser.error(f"--optimizer/--against name optimizers the runs do not have: {missing}; "
                     f"the after run has {sorted(present - {before_name})}")
    full = max((r.budget or 1.0) for r in records)
    n_full = int(spec["n_full_evals"])
    if not 0 <= args.evaluation <= n_full:
        parser.error(f"--evaluation must be between 1 and {n_full} (or 0: none); got {args.evaluation}")
    curves = build_curves(records, bounds, full, n_full)
    checkpoints = [c for c in CHECKPOINTS if c <= n_full]
    columns = [int(np.argmin(np.abs(curves.grid - c))) for c in checkpoints]
    header = "| | " + " | ".join(f"N={c}" for c in checkpoints) + " |"
    rule = "|---|" + "---:|" * len(checkpoints)
    lines = [
        f"# {args.optimizer}: before and after ({args.after.name})",
        "",
        "Command: `.venv/bin/python " + " ".join(shlex.quote(a) for a in sys.argv) + "`",
        "",
        f"Before: `{args.before}`; after: `{args.after}`; regret bounds of the after run.",
        "",
        "Mean normalised regret (tasks x seeds):",
        "",
        header,
        rule,
    ]
    for name in [args.optimizer, before_name, *others]:
        means = [float(np.nanmean(curves.regret[name][:, c])) for c in columns]
        lines.append(f"| {name} | " + " | ".join(f"{m:.4f}" for m in means) + " |")
    lines += [
        "",
        "Paired differences (first minus second; negative: the first is better): mean ± s.e.; "
        "better/worse runs; Wilcoxon p.",
        "",
    ]
    pairs = [(args.optimizer, before_name)] + [(args.optimizer, o) for o in others] + [
        (before_name, o) for o in others
    ]
    lines += paired_table(curves, pairs, checkpoints)
    if args.evaluation > 0:
        lines += ["", *evaluation_lines(records, bounds, args.evaluation, [args.optimizer, before_name])]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


def evaluation_lines(records: list, bounds: dict, k: int, names: list[str]) -> list[str]:
    """Mean and median regret of each run's ``k``-th evaluation, and the share of runs above 0.5."""
    lines = [
        f"Regret of evaluation {k} of each run (mean; median; share of runs above 0.5):",
        "",
        "| | mean | median | above 0.5 |",
        "|---|---:|---:|---:|",
    ]
    for name in names:
        values = np.array([
            float(bounds[r.task].regret(r.loss)) for r in records if r.optimizer == name and r.trial == k - 1
        ])
        lines.append(f"| {name} | {values.mean():.3f} | {np.median(values):.3f} | {np.mean(values > 0.5):.0%} |")
    return lines


if __name__ == "__main__":
    main()
