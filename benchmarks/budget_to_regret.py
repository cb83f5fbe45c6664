"""Total budget each optimizer needs to reach a regret, from a `metahpo-bench run` directory.

For each target regret, the mean normalised regret curve over tasks x seeds (incumbent =
best loss at the full budget, as in the run's summary) is read off at every cumulative budget;
the table gives the first full-budget-equivalent count at which each optimizer's mean
curve reaches the target, the ratio to the reference optimizer's, and a 90% bootstrap
interval of that ratio (tasks x seeds resampled, the same units for every optimizer).

It also writes ``budget_to_regret.png`` (mean regret against full-budget equivalents,
and against the simulated wall clock of runs with simulated workers), the share of each
optimizer's budget spent at each evaluation budget, Hyperband's bracket table, and with
``--fidelity-configs N`` the rank correlation between low and full budget on the run's
test tasks (N random configs per task).

    .venv/bin/python benchmarks/budget_to_regret.py benchmarks/results/schedulers_lcbench \
        --reference random --fidelity-configs 1000 \
        --note benchmarks/results/schedulers_lcbench/why_hyperband.md \
        --out benchmarks/results/schedulers_lcbench/budget_to_regret.md
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metahpo_bench.options import out_file
from metahpo_bench.runner._regret import counts_as_incumbent

N_BOOTSTRAP = 1000


@dataclass(frozen=True)
class Run:
    """One (optimizer, task, seed) run in record order (completion order)."""

    optimizer: str
    task: str
    seed: int
    cum_budget: np.ndarray
    sim_time: np.ndarray
    budget: np.ndarray
    regret: np.ndarray


def read_runs(run_dir: Path) -> tuple[list[Run], float]:
    """The runs of ``run_dir`` with each evaluation's normalised regret, and the max budget."""
    bounds = json.loads((run_dir / "bounds.json").read_text())
    lines: dict[tuple[str, str, int], list[dict[str, Any]]] = defaultdict(list)
    max_budget = 0.0
    for line in (run_dir / "results.jsonl").read_text().splitlines():
        r = json.loads(line)
        lines[(r["optimizer"], r["task"], r["seed"])].append(r)
        max_budget = max(max_budget, r["budget"])
    runs = []
    for (optimizer, task, seed), records in lines.items():
        low, high = bounds[task]
        records.sort(key=lambda r: r["trial"])
        cum = np.array([r["cum_budget"] for r in records])
        # Serial runs have no simulated clock: one worker's clock is the budget spent.
        sim = np.array([r.get("sim_time", r["cum_budget"]) for r in records])
        runs.append(
            Run(
                optimizer,
                task,
                seed,
                cum,
                sim,
                np.array([r["budget"] for r in records]),
                # A lower budget's loss is no result: regret 1 until a full-budget one.
                np.array([(r["loss"] - low) / (high - low) if counts_as_incumbent(r["budget"], max_budget)
                          else 1.0 for r in records]),
            )
        )
    return runs, max_budget


def curve(times: np.ndarray, regret: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """The incumbent's regret at each grid time (1 before the first evaluation ends)."""
    order = np.argsort(times, kind="stable")
    times, best = times[order], np.minimum.accumulate(regret[order])
    index = np.searchsorted(times, grid, side="right") - 1
    return np.where(index >= 0, best[np.clip(index, 0, None)], 1.0)


def first_reach(mean_curve: np.ndarray, grid: np.ndarray, target: float) -> float:
    hit = np.flatnonzero(mean_curve <= target + 1e-12)
    return float(grid[hit[0]]) if len(hit) else math.nan


def per_run_curves(
    runs: list[Run], grid: np.ndarray, max_budget: float, clock: str
) -> dict[str, dict[tuple[str, int], np.ndarray]]:
    out: dict[str, dict[tuple[str, int], np.ndarray]] = defaultdict(dict)
    for run in runs:
        times = (run.cum_budget if clock == "budget" else run.sim_time) / max_budget
        out[run.optimizer][(run.task, run.seed)] = curve(times, run.regret, grid)
    return out


def budget_table(
    curves: dict[str, dict[tuple[str, int], np.ndarray]],
    grid: np.ndarray,
    reference: str,
    checkpoints: list[float],
) -> tuple[list[float], list[str]]:
    units = sorted(curves[reference])
    means = {name: np.mean([c[u] for u in units], axis=0) for name, c in curves.items()}
    targets = [float(means[reference][np.searchsorted(grid, n)]) for n in checkpoints]
    rng = np.random.default_rng(0)
    samples = rng.integers(0, len(units), size=(N_BOOTSTRAP, len(units)))
    stacked = {name: np.array([c[u] for u in units]) for name, c in curves.items()}
    rows = []
    for name in sorted(curves):
        cells = []
        for checkpoint, target in zip(checkpoints, targets, strict=True):
            need = first_reach(means[name], grid, target)
            ref = first_reach(means[reference], grid, target)
            if not np.isfinite(need):
                cells.append("not reached")
                continue
            ratios = []
            for sample in samples:
                # Each resample's target is its reference's regret at the checkpoint; a
                # resample in which this optimizer never gets there counts as saving 0.
                ref_mean = stacked[reference][sample].mean(axis=0)
                boot_target = float(ref_mean[np.searchsorted(grid, checkpoint)])
                ref_b = first_reach(ref_mean, grid, boot_target)
                need_b = first_reach(stacked[name][sample].mean(axis=0), grid, boot_target)
                ratios.append(ref_b / need_b if np.isfinite(need_b) else 0.0)
            low, high = np.quantile(ratios, [0.05, 0.95])
            cells.append(f"{need:.1f} ({ref / need:.1f}x; {low:.1f}-{high:.1f})")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return targets, rows


def clock_rows(
    curves: dict[str, dict[tuple[str, int], np.ndarray]], grid: np.ndarray, targets: list[float]
) -> list[str]:
    rows = []
    for name in sorted(curves):
        mean = np.mean(list(curves[name].values()), axis=0)
        cells = [first_reach(mean, grid, t) for t in targets]
        rows.append(
            f"| {name} | "
            + " | ".join(f"{c:.1f}" if np.isfinite(c) else "not reached" for c in cells)
            + " |"
        )
    return rows


def spend_table(runs: list[Run], ladder: list[float]) -> list[str]:
    """Share of each optimizer's budget spent at each step of the eta ladder.

    A column holds the evaluations whose budget is above the previous step and at most
    this one (DEHB's and the pruned runs' budgets fall between the steps).
    """
    spent: dict[str, np.ndarray] = defaultdict(lambda: np.zeros(len(ladder)))
    for run in runs:
        for budget in run.budget:
            column = int(np.searchsorted(np.array(ladder) * (1 + 1e-9), float(budget)))
            spent[run.optimizer][min(column, len(ladder) - 1)] += float(budget)
    lines = [
        "| optimizer | " + " | ".join(f"<= {b:g}" for b in ladder) + " |",
        "|---|" + "---:|" * len(ladder),
    ]
    for name in sorted(spent):
        share = 100 * spent[name] / spent[name].sum()
        lines.append(f"| {name} | " + " | ".join(f"{v:.0f}%" for v in share) + " |")
    return lines


def ladder_of(spec: dict[str, Any]) -> list[float]:
    from metahpo_bench import get_problem
    from metahpo_bench.runner._budget import budget_steps

    problem = get_problem(spec["problem"], **spec.get("problem_kwargs", {}))
    return budget_steps(problem, spec.get("eta", 3))


def bracket_table(spec: dict[str, Any]) -> list[str]:
    """Hyperband's brackets for the run's problem and eta, with the budgets as evaluated."""
    import metahpo as mh
    from metahpo_bench import get_problem

    problem = get_problem(spec["problem"], **spec.get("problem_kwargs", {}))
    hyperband = mh.Hyperband(
        min_budget=problem.min_budget, max_budget=problem.max_budget, eta=spec.get("eta", 3)
    )

    def as_evaluated(budget: float) -> float:
        if problem.integer_budget:
            return float(
                min(max(round(budget), math.ceil(problem.min_budget or 1)), problem.max_budget)
            )
        return budget

    rows = []
    totals = []
    for row in hyperband.ladder.table():
        spent = sum(n * as_evaluated(b) for n, b in row) / float(problem.max_budget)
        totals.append(spent)
        rungs = ", ".join(f"{n} x {as_evaluated(b):g}" for n, b in row)
        rows.append((len(row) - 1, row[0][0], rungs, spent))
    iteration = sum(totals)
    lines = [
        "| bracket s | configs started | rungs (configs x budget) | full-budget equivalents "
        "| share of an iteration | configs started per full-budget equivalent |",
        "|---:|---:|---|---:|---:|---:|",
    ]
    for s, n, rungs, spent in rows:
        lines.append(
            f"| {s} | {n} | {rungs} | {spent:.1f} | {100 * spent / iteration:.0f}% | {n / spent:.1f} |"
        )
    started = sum(r[1] for r in rows)
    lines.append(f"| all | {started} | | {iteration:.1f} | 100% | {started / iteration:.1f} |")
    return lines


def fidelity_table(spec: dict[str, Any], tasks: list[str], n_configs: int) -> list[str]:
    """Spearman correlation of the losses at each ladder budget with those at the maximum,
    and how many of the best 10% at the maximum survive a top-1/eta cut at that budget."""
    from scipy.stats import spearmanr

    from metahpo_bench import get_problem
    from metahpo_bench.runner._budget import budget_steps

    eta = spec.get("eta", 3)
    problem = get_problem(spec["problem"], **spec.get("problem_kwargs", {}))
    ladder = budget_steps(problem, eta)
    lows = ladder[:-1]
    rho: dict[float, list[float]] = defaultdict(list)
    keep: dict[float, list[float]] = defaultdict(list)
    for task in tasks:
        configs = problem.space.sample(12345, n_configs)
        batch = getattr(problem, "evaluate_budgets", None)
        if batch is not None:
            table = np.array([batch(task, c, ladder) for c in configs])
        else:
            table = np.column_stack([problem.evaluate_batch(task, configs, b) for b in ladder])
        full = table[:, -1]
        best = set(np.argsort(full, kind="stable")[: max(1, n_configs // 10)])
        for column, budget in enumerate(lows):
            rho[budget].append(float(spearmanr(table[:, column], full).statistic))
            top = set(np.argsort(table[:, column], kind="stable")[: n_configs // eta])
            keep[budget].append(len(best & top) / len(best))
    lines = [
        f"| budget | Spearman rho with budget {ladder[-1]:g} (mean; min-max over tasks) "
        f"| best 10% at {ladder[-1]:g} kept by a top-1/{eta} cut here |",
        "|---:|---|---:|",
    ]
    for budget in lows:
        r = np.array(rho[budget])
        lines.append(
            f"| {budget:g} | {r.mean():.2f} ({r.min():.2f}-{r.max():.2f}) | {100 * np.mean(keep[budget]):.0f}% |"
        )
    return lines


def plot(
    by_budget: dict[str, dict[tuple[str, int], np.ndarray]],
    by_clock: dict[str, dict[tuple[str, int], np.ndarray]],
    grid: np.ndarray,
    targets: list[float],
    title: str,
    path: Path,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharey=True)
    for axis, curves, label in (
        (axes[0], by_budget, "total budget spent (full-budget equivalents)"),
        (axes[1], by_clock, "simulated wall clock (full-budget evaluations of one worker)"),
    ):
        for name in sorted(curves):
            mean = np.mean(list(curves[name].values()), axis=0)
            style = "--" if "@" in name else "-"
            axis.plot(grid, mean, style, label=name)
        for target in targets:
            axis.axhline(target, color="grey", linewidth=0.6, linestyle=":")
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel(label)
        axis.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("mean normalised regret (tasks x seeds)")
    axes[0].set_title(title)
    axes[1].set_title("with simulated parallel workers (@N) on their clock")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--reference", default="random")
    parser.add_argument(
        "--at",
        default="",
        help="Checkpoints (full-budget equivalents) whose reference regret are the targets; default n/5, n/2, n.",
    )
    parser.add_argument("--fidelity-configs", type=int, default=0)
    parser.add_argument("--note", type=Path, help="A Markdown file appended under 'Why'.")
    parser.add_argument("--out", type=out_file)
    args = parser.parse_args()

    run_info = json.loads((args.run_dir / "run.json").read_text())
    spec = run_info["spec"]
    n_full = float(spec["n_full_evals"])
    checkpoints = (
        [float(x) for x in args.at.split(",")] if args.at else [n_full / 5, n_full / 2, n_full]
    )
    grid = np.arange(0.5, n_full + 0.25, 0.5)
    runs, max_budget = read_runs(args.run_dir)
    by_budget = per_run_curves(runs, grid, max_budget, "budget")
    by_clock = per_run_curves(runs, grid, max_budget, "sim")
    targets, rows = budget_table(by_budget, grid, args.reference, checkpoints)
    n_units = len(by_budget[args.reference])
    png = args.run_dir / "budget_to_regret.png"
    plot(
        by_budget, by_clock, grid, targets, f"{spec['problem']}: {n_units} runs per optimizer", png
    )

    command = ".venv/bin/python " + " ".join(shlex.quote(a) for a in sys.argv)
    lines = [
        f"# Budget to reach a regret ({args.run_dir.name})",
        "",
        f"Command: `{command}`",
        "",
        f"Run: `{run_info['command']}`",
        "",
        f"Targets: the mean normalised regret {args.reference} reaches after "
        + ", ".join(f"{c:g}" for c in checkpoints)
        + f" full-budget-equivalent evaluations ({len(run_info['test_tasks'])} tasks x "
        f"{len(spec['seeds'])} seeds). Cells: full-budget equivalents needed (grid step 0.5), "
        f"the saving against {args.reference} (its budget / this budget), and a 90% bootstrap "
        f"interval of the saving ({N_BOOTSTRAP} resamples of the task x seed runs). "
        "Every evaluation counts its full budget (promotions do not resume).",
        "",
        "| optimizer | " + " | ".join(f"regret {t:.4f}" for t in targets) + " |",
        "|---|" + "---:|" * len(targets),
        *rows,
        "",
        f"![regret against budget]({png.name})",
        "",
        "Simulated wall clock to reach the same targets, in full-budget evaluations of one "
        "worker (serial runs: their budget spent; `@N`: the simulated clock of N workers):",
        "",
        "| optimizer | " + " | ".join(f"regret {t:.4f}" for t in targets) + " |",
        "|---|" + "---:|" * len(targets),
        *clock_rows(by_clock, grid, targets),
        "",
        "Right panel: optimizers with `@N` on their simulated clock (an evaluation at budget b "
        "takes b); serial runs' clock is their budget spent.",
        "",
        "## Where the budget goes",
        "",
        "Share of each optimizer's total budget spent in evaluations at each budget:",
        "",
        *spend_table(runs, ladder_of(spec)),
        "",
        f"Hyperband's brackets here (`Hyperband(min_budget, max_budget, eta={spec.get('eta', 3)})`, "
        "budgets as evaluated), one iteration:",
        "",
        *bracket_table(spec),
        "",
    ]
    if args.fidelity_configs > 0:
        lines += [
            "## How well low budgets predict the full budget",
            "",
            f"{args.fidelity_configs} random configs per test task, evaluated at every budget "
            "of the eta ladder:",
            "",
            *fidelity_table(spec, list(run_info["test_tasks"]), args.fidelity_configs),
            "",
        ]
    if args.note:
        lines += ["## Why", "", args.note.read_text().strip(), ""]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
