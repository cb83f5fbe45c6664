"""Budget each run needs to reach a fixed normalised regret, from a `metahpo-bench run` directory.

Per run (task x seed), the budget spent when the incumbent (the best loss at the full
budget, as in the run's summary: a loss seen at a lower budget is not a result) first
reaches each target regret, under both accountings: restart
(every evaluation costs its budget) and continuation (a promotion costs only the budget
it adds to its parent's). The table gives, per optimizer, the median over runs (a run
that never gets there counts as infinite), the share of runs that got there, and the
ratio of the medians to the reference optimizer's. Budgets are in the problem's units
(epochs on lcbench).

    .venv/bin/python benchmarks/budget_to_target.py benchmarks/results/multifidelity_lcbench \
        --reference metabo --targets 0.1,0.05 --out benchmarks/results/multifidelity_lcbench/budget_to_target.md

The run must have been made with ``--continuation`` so that its records name each
promotion's parent budget; restart budgets are then the plain sums of the budgets. Under
a scheduler in stopping mode (``+asha[mode=stopping]``) a run's records are the reports of
one training run, so restart accounting does not apply and its columns say so.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from metahpo_bench.options import out_file
from metahpo_bench.runner._records import Record, read_records
from metahpo_bench.runner._regret import TaskBounds, counts_as_incumbent


def read_runs(run_dir: Path) -> tuple[dict[tuple[str, str, int], list[Record]], dict[str, TaskBounds]]:
    """Each run's records in trial order, and the per-task regret bounds."""
    bounds = {t: TaskBounds(*b) for t, b in json.loads((run_dir / "bounds.json").read_text()).items()}
    runs: dict[tuple[str, str, int], list[Record]] = defaultdict(list)
    for record in read_records(run_dir / "results.jsonl"):
        runs[(record.optimizer, record.task, record.seed)].append(record)
    for records in runs.values():
        records.sort(key=lambda r: r.trial)
    return runs, bounds


def budget_to_reach(
    records: list[Record], bounds: TaskBounds, target: float, full_budget: float
) -> tuple[float, float]:
    """(restart, continuation) budget spent when the incumbent's regret first is <= target."""
    restart = continuation = 0.0
    for r in records:
        budget = 1.0 if r.budget is None else r.budget  # one evaluation without fidelity
        restart += budget
        continuation += budget - (r.parent_budget or 0.0)
        if counts_as_incumbent(r.budget, full_budget) and bounds.regret(r.loss) <= target + 1e-12:
            return restart, continuation
    return math.inf, math.inf


def table(
    runs: dict[tuple[str, str, int], list[Record]],
    bounds: dict[str, TaskBounds],
    reference: str,
    target: float,
) -> list[str]:
    # The full budget: the largest any evaluation of the run directory was given (MetaBO
    # alone evaluates every config at it).
    full_budget = max((r.budget or 1.0 for records in runs.values() for r in records), default=1.0)
    need: dict[str, dict[tuple[str, int], tuple[float, float]]] = defaultdict(dict)
    for (optimizer, task, seed), records in runs.items():
        need[optimizer][(task, seed)] = budget_to_reach(records, bounds[task], target, full_budget)
    medians = {
        name: tuple(float(np.median([v[i] for v in cells.values()])) for i in (0, 1))
        for name, cells in need.items()
    }
    if reference not in medians:
        raise SystemExit(f"--reference {reference!r} is not in the run; it has {sorted(medians)}.")
    ref = medians[reference]
    lines = [
        f"| optimizer | runs | reached | median restart | x {reference} | median continuation | x {reference} |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in sorted(need):
        cells = need[name]
        reached = sum(math.isfinite(v[0]) for v in cells.values())
        med = medians[name]
        ratio = [m / r if math.isfinite(m) and math.isfinite(r) and r > 0 else math.nan
                 for m, r in zip(med, ref, strict=True)]
        if _reports_one_run(name):
            restart = "n/a | n/a"
        else:  # against a stopping-mode reference, there is no restart median to divide by
            restart = f"{med[0]:g} | " + ("n/a" if _reports_one_run(reference) else f"{ratio[0]:.2f}")
        lines.append(
            f"| {name} | {len(cells)} | {100 * reached / len(cells):.0f}% | {restart} "
            f"| {med[1]:g} | {ratio[1]:.2f} |"
        )
    return lines


def _reports_one_run(optimizer: str) -> bool:
    # Stopping mode: each record is a report of one continuing run, charged what it adds.
    # Read leniently: result files hold renamed rows ("asha[mode=stopping;before]").
    _, _, scheduler = optimizer.partition("+")
    inside = scheduler.partition("[")[2].rpartition("]")[0]
    settings = dict(item.split("=", 1) for item in inside.split(";") if "=" in item)
    return settings.get("mode", "").strip().strip("\"'") == "stopping"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--reference", default="metabo")
    parser.add_argument("--targets", default="0.1,0.05", help="Comma-separated normalised regrets.")
    parser.add_argument("--out", type=out_file)
    args = parser.parse_args()
    try:
        targets = [float(t) for t in args.targets.split(",")]
    except ValueError:
        parser.error(f"--targets must be comma-separated numbers such as 0.1,0.05; got {args.targets!r}")
    runs, bounds = read_runs(args.run_dir)
    run_info = json.loads((args.run_dir / "run.json").read_text())
    # A run file the runner wrote holds its spec, where a missing `continuation` means
    # restart (runs from before the option existed; the runner reads it so on resume); a
    # hand-made run file has no spec, and its records say what they hold.
    if "spec" in run_info and not run_info["spec"].get("continuation", False):
        # Without it no record names its parent: the continuation column would repeat the
        # restart one, and a stopping-mode run would be charged every report in full.
        parser.error(f"{args.run_dir} was run without --continuation (its run.json spec has continuation "
                     f"{run_info['spec'].get('continuation', 'unset')}); its records name no parent budget.")
    command = ".venv/bin/python " + " ".join(shlex.quote(a) for a in sys.argv)
    lines = [
        f"# Budget to reach a normalised regret ({args.run_dir.name})",
        "",
        f"Command: `{command}`",
        "",
        *([f"Run: `{run_info['command']}`", ""] if "command" in run_info else []),
        "Per run: the budget spent when the incumbent first reaches the target regret. "
        "Restart: every evaluation costs its budget; continuation: a promotion costs only "
        "what it adds to its parent's budget. Medians over runs (a run that never reaches "
        "the target counts as infinite); ratios are medians over the reference's median.",
        "",
    ]
    for target in targets:
        lines += [f"## Regret {target:g}", "", *table(runs, bounds, args.reference, target), ""]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
