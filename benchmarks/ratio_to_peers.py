"""MetaBO's mean normalised regret divided by the best peer's, with and without the portfolio.

The continuous targets compare MetaBO with the best of the other optimizers of a result
directory at each checkpoint. Whether the zero-shot portfolio (MetaBO's own warm start)
counts as one of them changes the answer at 10 trials, so both ratios are printed, each
with the peer it divides by. Regret uses the directory's bounds and the same curves as
``metahpo-bench`` and ``benchmarks/paired.py``.

    .venv/bin/python benchmarks/ratio_to_peers.py benchmarks/results/pibo_prior/lcbench_256 --trials 50
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from metahpo_bench.runner._records import read_records
from metahpo_bench.runner._regret import TaskBounds
from metahpo_bench.runner._report import CHECKPOINTS, build_curves


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path)
    parser.add_argument("--trials", type=int, required=True, help="Full-budget evaluations in the runs.")
    parser.add_argument("--metabo", default="metabo", help="The optimizer to divide (default: metabo).")
    parser.add_argument("--peers", help="Comma-separated peers (default: every optimizer of the directory "
                        "that is no MetaBO variant, relabelled run or ablation `name[...]`).")
    args = parser.parse_args()

    bounds = {t: TaskBounds(*b) for t, b in json.loads((args.dir / "bounds.json").read_text()).items()}
    records = list(read_records(args.dir / "results.jsonl"))
    names = {r.optimizer for r in records}
    if args.metabo not in names:
        parser.error(f"--metabo {args.metabo!r} has no runs in {args.dir}; it has {sorted(names)}")
    # Other variants of MetaBO (`metabo[...]`), relabelled runs of other code (`gpbo;before`)
    # and ablations (`gpbo[inverse]`) are not peers.
    if args.peers:
        peers = sorted(p.strip() for p in args.peers.split(",") if p.strip())
        missing = sorted(set(peers) - names)
        if missing:
            parser.error(f"--peers {missing} have no runs in {args.dir}; it has {sorted(names)}")
        if args.metabo in peers:
            parser.error(f"--peers must not name --metabo {args.metabo!r}, the optimizer they are compared with.")
    else:
        peers = sorted(n for n in names if n != args.metabo and not n.startswith("metabo") and ";" not in n
                       and "[" not in n)
    if not peers:
        parser.error(f"{args.dir} has no peer of {args.metabo!r} (MetaBO variants, relabelled runs and "
                     f"ablations are not peers); it has {sorted(names)}. Name them with --peers.")
    full = max((r.budget or 1.0) for r in records)
    checkpoints = [c for c in CHECKPOINTS if c <= args.trials]
    curves = build_curves(records, bounds, full, args.trials, checkpoints)
    # Means over the same runs only: a peer run on fewer tasks or seeds is not comparable.
    units = {n: set(curves.runs[n]) for n in [args.metabo, *peers]}
    unpaired = [
        f"{n} (lacks {_runs(units[args.metabo] - units[n])}, adds {_runs(units[n] - units[args.metabo])})"
        for n in peers if units[n] != units[args.metabo]
    ]
    if unpaired:
        parser.error(f"{'; '.join(unpaired)}: not run on the same tasks x seeds as {args.metabo!r}, so their "
                     "means are not comparable. Name the peers that were with --peers.")
    print(f"{args.dir}: {args.metabo} ÷ the best peer ({', '.join(peers)})\n")
    print("| N | MetaBO | best peer, portfolio counted | ratio | best peer, portfolio not counted | ratio |")
    print("|---:|---:|---|---:|---|---:|")
    for checkpoint in checkpoints:
        column = int(np.argmin(np.abs(curves.grid - checkpoint)))
        mean = {n: float(np.nanmean(curves.regret[n][:, column])) for n in [args.metabo, *peers]}
        cells = [f"{mean[args.metabo]:.4f}"]
        for pool in (peers, [p for p in peers if not p.startswith("portfolio")]):
            if not pool:  # every peer is a portfolio
                cells += ["n/a", "n/a"]
                continue
            best = min(pool, key=mean.__getitem__)
            cells += [f"{best} {mean[best]:.4f}", f"{mean[args.metabo] / mean[best]:.2f}×"]
        print(f"| {checkpoint} | " + " | ".join(cells) + " |")


def _runs(units: set[tuple[str, int]]) -> str:
    """Runs as `task/seed`, the first few only: a peer may miss whole tasks."""
    named = [f"{task}/{seed}" for task, seed in sorted(units)]
    return ", ".join(named[:5]) + (f" and {len(named) - 5} more" if len(named) > 5 else "") if named else "none"


if __name__ == "__main__":
    main()
