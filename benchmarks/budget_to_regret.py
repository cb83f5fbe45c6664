"""Total budget each optimizer needs to reach a regret, from a `metahpo bench run` directory.

For each target regret, the mean normalised regret curve over tasks x seeds (incumbent =
best loss at any budget, as in the run's summary) is read off at every cumulative budget;
the table gives the first full-budget-equivalent count at which each optimizer's mean
curve reaches the target, and the ratio to the reference optimizer's.

    .venv/bin/python benchmarks/budget_to_regret.py benchmarks/results/schedulers_lcbench \
        --reference random --out benchmarks/results/schedulers_lcbench/budget_to_regret.md
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np


def mean_curves(run_dir: Path, grid: np.ndarray) -> dict[str, np.ndarray]:
    bounds = json.loads((run_dir / "bounds.json").read_text())
    runs: dict[tuple[str, str, int], list[tuple[float, float]]] = defaultdict(list)
    max_budget = 0.0
    for line in (run_dir / "results.jsonl").read_text().splitlines():
        r = json.loads(line)
        runs[(r["optimizer"], r["task"], r["seed"])].append((r["cum_budget"], r["loss"]))
        max_budget = max(max_budget, r["budget"])
    curves: dict[str, list[np.ndarray]] = defaultdict(list)
    for (optimizer, task, _), points in runs.items():
        low, high = bounds[task]
        points.sort()
        spent = np.array([p[0] for p in points]) / max_budget
        best = np.minimum.accumulate([(p[1] - low) / (high - low) for p in points])
        index = np.searchsorted(spent, grid, side="right") - 1
        curves[optimizer].append(np.where(index >= 0, best[np.clip(index, 0, None)], 1.0))
    return {name: np.mean(values, axis=0) for name, values in curves.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--reference", default="random")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    grid = np.linspace(0.5, 50, 100)
    curves = mean_curves(args.run_dir, grid)
    reference = curves[args.reference]
    targets = [float(reference[np.searchsorted(grid, n)]) for n in (10, 25, 50) if n <= grid[-1]]

    def first(curve: np.ndarray, target: float) -> float:
        hit = np.flatnonzero(curve <= target + 1e-12)
        return float(grid[hit[0]]) if len(hit) else float("nan")

    lines = [
        f"# Budget to reach a regret ({args.run_dir.name})", "",
        f"Command: `.venv/bin/python benchmarks/budget_to_regret.py {args.run_dir} --reference {args.reference}`", "",
        f"Targets: the mean regret {args.reference} reaches after 10, 25 and 50 full-budget-equivalent "
        "evaluations. Cells: full-budget equivalents needed (grid step 0.5), and the saving "
        f"against {args.reference} (its budget / this budget).", "",
        "| optimizer | " + " | ".join(f"regret {t:.4f}" for t in targets) + " |",
        "|---|" + "---:|" * len(targets),
    ]
    for name in sorted(curves):
        cells = []
        for target in targets:
            need, ref = first(curves[name], target), first(reference, target)
            cells.append(f"{need:.1f} ({ref / need:.1f}x)" if np.isfinite(need) else "not reached")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
