"""Paired differences between optimizers whose runs are in different result directories.

``metahpo-bench run`` pairs the optimizers of one directory. An ablation run later on the
same problem, tasks and seeds (same split, seeds and meta-train data) lands in another;
this reads the runs of several directories (optimizer names must not repeat across them),
normalises them all with the first directory's regret bounds and prints the mean regret
of each named optimizer at the checkpoints (``--checkpoints``, or those of 5, 10, 25 and
50 up to ``--trials``) and the paired differences ``first:second`` (mean ± standard
error, better/worse runs, Wilcoxon p).

    .venv/bin/python benchmarks/paired.py benchmarks/results/meta_sgd_steps/lcbench \
        benchmarks/results/tie_resolution/step_out_2/continuous_lcbench --trials 25 \
        --pairs 'metabo[learned_step_sizes=true;adapt_steps=1]:metabo[learned_step_sizes=true;adapt_steps=0]'
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np

from metahpo_bench.options import out_file
from metahpo_bench.runner._paired import paired_table
from metahpo_bench.runner._records import read_records
from metahpo_bench.runner._regret import TaskBounds
from metahpo_bench.runner._report import CHECKPOINTS, build_curves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", type=Path, nargs="+")
    parser.add_argument("--pairs", required=True, help="Comma-separated FIRST:SECOND optimizer names.")
    parser.add_argument("--trials", type=int, required=True, help="Full-budget evaluations to compare up to.")
    parser.add_argument(
        "--checkpoints", help="Comma-separated evaluation counts to compare at (default: 5, 10, 25, 50 up to --trials)."
    )
    parser.add_argument("--out", type=out_file)
    args = parser.parse_args()

    pairs = [tuple(p.split(":", 1)) for p in args.pairs.split(",") if p]
    if any(len(p) != 2 for p in pairs):
        parser.error(f"--pairs must be FIRST:SECOND names separated by commas; got {args.pairs!r}")
    bounds = {t: TaskBounds(*b) for t, b in json.loads((args.dirs[0] / "bounds.json").read_text()).items()}
    wanted = {name for pair in pairs for name in pair}
    records, owner = [], {}
    for folder in args.dirs:
        for record in read_records(folder / "results.jsonl"):
            if record.optimizer not in wanted:
                continue
            if owner.setdefault(record.optimizer, folder) != folder:
                parser.error(f"{record.optimizer!r} has runs in {owner[record.optimizer]} and {folder}")
            records.append(record)
    missing = sorted(wanted - set(owner))
    if missing:
        parser.error(f"no runs of {missing} in {[str(d) for d in args.dirs]}")
    runs: dict[str, set] = {}
    for record in records:
        runs.setdefault(record.optimizer, set()).add((record.task, record.seed))
    for first, second in pairs:
        if runs[first] != runs[second]:
            parser.error(f"{first!r} and {second!r} were not run on the same tasks and seeds")
    full = max((r.budget or 1.0) for r in records)
    checkpoints = _checkpoints(parser, args.checkpoints, args.trials)
    curves = build_curves(records, bounds, full, args.trials, checkpoints)
    columns = [int(np.argmin(np.abs(curves.grid - c))) for c in checkpoints]
    lines = [
        "Command: `.venv/bin/python " + " ".join(shlex.quote(a) for a in sys.argv) + "`",
        "",
        f"Regret bounds of `{args.dirs[0]}`. Mean normalised regret (tasks x seeds):",
        "",
        "| optimizer | " + " | ".join(f"N={c}" for c in checkpoints) + " |",
        "|---|" + "---:|" * len(checkpoints),
    ]
    for name in sorted(wanted):
        means = [float(np.nanmean(curves.regret[name][:, c])) for c in columns]
        lines.append(f"| {name} | " + " | ".join(f"{m:.4f}" for m in means) + " |")
    lines += ["", f"Paired over {len(runs[pairs[0][0]])} runs (first minus second; negative: the first is better):", ""]
    lines += paired_table(curves, pairs, checkpoints)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


def _checkpoints(parser: argparse.ArgumentParser, text: str | None, trials: int) -> list[int]:
    if text is None:
        return [c for c in CHECKPOINTS if c <= trials]
    try:
        chosen = [int(c) for c in text.split(",") if c.strip()]
    except ValueError:
        chosen = []
    if not chosen or any(c < 1 or c > trials for c in chosen):
        parser.error(f"--checkpoints must be evaluation counts from 1 to --trials ({trials}); got {text!r}")
    return sorted(set(chosen))


if __name__ == "__main__":
    main()
