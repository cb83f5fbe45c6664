"""Reports of a benchmark run: normalised regret at fixed budgets, ranks, tables and plots.

Conventions (stated in every report):

* the x axis is full-budget-equivalent evaluations, ``cum_budget / max_budget``; each
  evaluation counts its full budget, or under continuation accounting a promotion
  counts only the budget it adds (the header names the accounting);
* the incumbent after ``c`` full-budget-equivalents is the best loss observed at any
  budget among the evaluations whose ``cum_budget`` is at most ``c * max_budget``;
* its regret is normalised per task with the task's :class:`TaskBounds`;
* average rank: optimizers are ranked (ties share the mean rank) on each task x seed,
  then the ranks are averaged;
* distinct configs: how many different configs a run evaluated by then (a repeat, or on a
  pool problem a suggestion that snaps to a config already evaluated, is not a new one).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metahpo_bench.runner._paired import paired_lines
from metahpo_bench.runner._records import Record
from metahpo_bench.runner._regret import TaskBounds, counts_as_incumbent

__all__ = ["CHECKPOINTS", "Curves", "build_curves", "report_checkpoints", "summary_rows", "write_report"]

logger = logging.getLogger("metahpo_bench")

CHECKPOINTS = (5, 10, 25, 50)
_GRID_POINTS = 200


@dataclass(frozen=True)
class Curves:
    """Anytime normalised regret of every run on a common grid.

    ``regret[optimizer]`` has shape ``(n_runs, len(grid))``; row ``i`` belongs to
    ``runs[optimizer][i]`` = ``(task, seed)``. NaN before a run's first evaluation.
    ``distinct[optimizer]`` has the same shape: the distinct configs evaluated by each grid
    point (NaN where the records do not count them).
    """

    problem: str
    grid: np.ndarray
    regret: Mapping[str, np.ndarray]
    runs: Mapping[str, list[tuple[str, int]]]
    wall_time: Mapping[str, float]
    run_time: Mapping[str, float]
    evaluations: Mapping[str, float]
    distinct: Mapping[str, np.ndarray]


def incumbent_regret(
    cum_budget: np.ndarray,
    losses: np.ndarray,
    bounds: TaskBounds,
    full_budget: float,
    grid: np.ndarray,
) -> np.ndarray:
    """The normalised regret of the best loss so far at each grid point (full-budget-equivalents)."""
    order = np.argsort(cum_budget, kind="stable")
    spent = np.asarray(cum_budget, dtype=float)[order] / full_budget
    best = np.minimum.accumulate(np.asarray(losses, dtype=float)[order])
    index = np.searchsorted(spent, grid * (1 + 1e-9), side="right") - 1
    out = np.full(grid.shape, np.nan)
    seen = index >= 0
    out[seen] = np.asarray(bounds.regret(best[index[seen]]), dtype=float)
    return out


def distinct_configs(
    cum_budget: np.ndarray, distinct: np.ndarray, full_budget: float, grid: np.ndarray
) -> np.ndarray:
    """The distinct configs evaluated by each grid point (NaN before the first evaluation)."""
    order = np.argsort(cum_budget, kind="stable")
    spent = np.asarray(cum_budget, dtype=float)[order] / full_budget
    counts = np.fmax.accumulate(np.asarray(distinct, dtype=float)[order])
    index = np.searchsorted(spent, grid * (1 + 1e-9), side="right") - 1
    out = np.full(grid.shape, np.nan)
    out[index >= 0] = counts[index[index >= 0]]
    return out


def build_curves(
    records: Sequence[Record],
    bounds: Mapping[str, TaskBounds],
    full_budget: float,
    n_full_evals: int,
    checkpoints: Sequence[float] = CHECKPOINTS,
) -> Curves:
    """Group records by run and compute each run's anytime regret on a shared grid.

    The grid holds ``checkpoints`` (up to ``n_full_evals``) exactly.
    """
    grid = np.unique(
        np.concatenate(
            [
                np.linspace(0.0, n_full_evals, _GRID_POINTS + 1)[1:],
                np.array(
                    [c for c in checkpoints if c <= n_full_evals] + [n_full_evals], dtype=float
                ),
            ]
        )
    )
    groups: dict[tuple[str, str, int], list[Record]] = {}
    for record in records:
        groups.setdefault((record.optimizer, record.task, record.seed), []).append(record)
    regret: dict[str, list[np.ndarray]] = {}
    distinct: dict[str, list[np.ndarray]] = {}
    runs: dict[str, list[tuple[str, int]]] = {}
    times: dict[str, list[float]] = {}
    run_times: dict[str, list[float]] = {}
    problem = records[0].problem if records else ""
    for (optimizer, task, seed), group in sorted(groups.items()):
        cum = np.array([r.cum_budget for r in group])
        # Until its first full-budget evaluation a run has no incumbent: regret 1, the
        # task's worst known loss.
        losses = np.array([r.loss if counts_as_incumbent(r.budget, full_budget) else bounds[task].high
                           for r in group])
        regret.setdefault(optimizer, []).append(
            incumbent_regret(cum, losses, bounds[task], full_budget, grid)
        )
        counts = np.array(
            [np.nan if r.distinct_configs is None else r.distinct_configs for r in group]
        )
        distinct.setdefault(optimizer, []).append(distinct_configs(cum, counts, full_budget, grid))
        runs.setdefault(optimizer, []).append((task, seed))
        times.setdefault(optimizer, []).extend(r.wall_time for r in group)
        run_times.setdefault(optimizer, []).append(sum(r.wall_time for r in group))
    return Curves(
        problem=problem,
        grid=grid,
        regret={k: np.vstack(v) for k, v in regret.items()},
        runs=runs,
        wall_time={k: float(np.mean(v)) for k, v in times.items()},
        run_time={k: float(np.mean(v)) for k, v in run_times.items()},
        evaluations={k: len(v) / len(runs[k]) for k, v in times.items()},
        distinct={k: np.vstack(v) for k, v in distinct.items()},
    )


def average_ranks(curves: Curves, column: int) -> dict[str, float]:
    """Each optimizer's mean rank at grid ``column`` over the task x seed runs.

    Only optimizers with the full set of runs are ranked (an interrupted or failing
    optimizer gets NaN), and a run is ranked only where all of them have a value, so
    every rank is over the same runs.
    """
    from scipy.stats import rankdata

    most = max((len(runs) for runs in curves.runs.values()), default=0)
    names = sorted(n for n in curves.regret if len(curves.runs[n]) == most)
    by_run: dict[tuple[str, int], dict[str, float]] = {}
    for name in names:
        for run, value in zip(curves.runs[name], curves.regret[name][:, column], strict=True):
            by_run.setdefault(run, {})[name] = value
    ranks: dict[str, list[float]] = {name: [] for name in names}
    for values in by_run.values():
        present = [n for n in names if n in values and np.isfinite(values[n])]
        if len(present) < len(names):
            continue
        for name, rank in zip(present, rankdata([values[n] for n in present]), strict=True):
            ranks[name].append(float(rank))
    out = {
        name: float(np.mean(ranks[name])) if ranks.get(name) else float("nan")
        for name in curves.regret
    }
    return out


def summary_rows(curves: Curves, n_full_evals: int) -> list[dict[str, Any]]:
    """One row per optimizer and checkpoint: mean regret with its standard error, median
    regret, mean rank and mean distinct configs over task x seed."""
    rows = []
    checkpoints = report_checkpoints(n_full_evals)
    for checkpoint in checkpoints:
        column = int(np.argmin(np.abs(curves.grid - checkpoint)))
        ranks = average_ranks(curves, column)
        for name in sorted(curves.regret):
            values = curves.regret[name][:, column]
            values = values[np.isfinite(values)]
            counts = curves.distinct[name][:, column]
            counts = counts[np.isfinite(counts)]
            rows.append(
                {
                    "problem": curves.problem,
                    "optimizer": name,
                    "full_budget_evals": checkpoint,
                    "mean_regret": float(np.mean(values)) if values.size else float("nan"),
                    "stderr_regret": _stderr(values),
                    "median_regret": float(np.median(values)) if values.size else float("nan"),
                    "mean_rank": ranks[name],
                    "runs": int(values.size),
                    "mean_distinct_configs": float(np.mean(counts))
                    if counts.size
                    else float("nan"),
                    "mean_wall_time_per_eval": curves.wall_time[name],
                    "mean_wall_time_per_run": curves.run_time[name],
                    "evaluations_per_run": curves.evaluations[name],
                }
            )
    return rows


def report_checkpoints(n_full_evals: int) -> list[int]:
    """The checkpoints a report shows: those of :data:`CHECKPOINTS` within the run, and its end."""
    checkpoints = [c for c in CHECKPOINTS if c <= n_full_evals]
    return checkpoints if n_full_evals in checkpoints else [*checkpoints, n_full_evals]


def _stderr(values: np.ndarray) -> float:
    """The standard error of the mean (sample standard deviation / sqrt(n)); NaN below 2 values."""
    if values.size < 2:
        return float("nan")
    return float(np.std(values, ddof=1) / np.sqrt(values.size))


def write_report(
    out: Path,
    records: Sequence[Record],
    bounds: Mapping[str, TaskBounds],
    full_budget: float,
    n_full_evals: int,
    status: Mapping[str, str],
    header: str = "",
) -> list[Path]:
    """Write ``summary.md``, ``summary.csv``, ``bounds.json`` and the PNG plots into ``out``."""
    curves = build_curves(records, bounds, full_budget, n_full_evals)
    rows = summary_rows(curves, n_full_evals)
    paired = paired_lines(curves, report_checkpoints(n_full_evals))
    written = [
        _write_csv(out / "summary.csv", rows),
        _write_markdown(out / "summary.md", rows, status, header, paired),
    ]
    bounds_path = out / "bounds.json"
    bounds_path.write_text(
        json.dumps({t: [b.low, b.high] for t, b in sorted(bounds.items())}, indent=1)
    )
    written.append(bounds_path)
    if curves.regret:
        written.extend(_plot(out, curves))
    return written


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["problem"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def _write_markdown(
    path: Path,
    rows: list[dict[str, Any]],
    status: Mapping[str, str],
    header: str,
    paired: Sequence[str] = (),
) -> Path:
    checkpoints = sorted({r["full_budget_evals"] for r in rows})
    names = sorted({r["optimizer"] for r in rows})
    cell = {(r["optimizer"], r["full_budget_evals"]): r for r in rows}
    lines = [header.rstrip(), ""] if header else []
    tables = [
        ("Mean normalised regret", "mean_regret", "{:.4f}"),
        ("Standard error of the mean normalised regret", "stderr_regret", "{:.4f}"),
        ("Median normalised regret", "median_regret", "{:.4f}"),
        ("Average rank", "mean_rank", "{:.2f}"),
    ]
    if any(np.isfinite(r["mean_distinct_configs"]) for r in rows):
        tables.insert(2, ("Mean distinct configs evaluated", "mean_distinct_configs", "{:.1f}"))
    for title, key, fmt in tables:
        lines += [
            f"### {title} (tasks x seeds) after N full-budget-equivalent evaluations",
            "",
            "| optimizer | " + " | ".join(f"N={c}" for c in checkpoints) + " |",
            "|---|" + "---:|" * len(checkpoints),
        ]
        for name in names:
            values = [
                fmt.format(cell[(name, c)][key]) if (name, c) in cell else "" for c in checkpoints
            ]
            lines.append(f"| {name} | " + " | ".join(values) + " |")
        lines.append("")
    lines += [
        *paired,
        "### Runs and time",
        "",
        "| optimizer | runs | evaluations per run | wall time per evaluation (s) | wall time per run (s) | status |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name in sorted(set(names) | set(status)):
        row = cell.get((name, checkpoints[-1])) if checkpoints else None
        runs = str(row["runs"]) if row else "0"
        evals = f"{row['evaluations_per_run']:.1f}" if row else ""
        wall = f"{row['mean_wall_time_per_eval']:.4f}" if row else ""
        per_run = f"{row['mean_wall_time_per_run']:.1f}" if row else ""
        lines.append(f"| {name} | {runs} | {evals} | {wall} | {per_run} | {status.get(name, '')} |")
    incomplete = sorted({r["optimizer"] for r in rows if r["runs"] < max(x["runs"] for x in rows)})
    if incomplete:
        lines += [
            "",
            f"Incomplete: {', '.join(incomplete)} finished fewer runs than the others (see the runs "
            "column and the status): their regrets are over the runs they finished, and they are "
            "left out of the ranks (nan).",
        ]
    lines += [
        "",
        "Regret: (loss - low) / (high - low) per task; low/high: the bounds named above "
        "(bounds.json). Full-budget-equivalent "
        "evaluations = cumulative budget / max budget, with the budget accounting named above. "
        "The incumbent is the best loss observed at the full budget (on a multi-fidelity "
        "problem a lower budget's loss is no result; before its first full-budget evaluation "
        "a run has regret 1). Standard error: the sample standard deviation over tasks x seeds / "
        "sqrt(runs). Distinct configs: the configs a run evaluated that differ (a repeat, or "
        "on a pool problem a suggestion snapped to a config already evaluated, counts once). "
        "Wall time: the optimizer's own time plus the evaluation, measured with "
        "runs in parallel processes on a shared machine.",
        "",
    ]
    path.write_text("\n".join(lines))
    return path


def _plot(out: Path, curves: Curves) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    names = sorted(curves.regret)
    # Distinct colour and line style per optimizer (more optimizers than one colour cycle).
    colours = plt.get_cmap("tab20")
    colour = {name: colours(i % 20) for i, name in enumerate(names)}
    line = {name: ("-", "--", ":")[i % 3] for i, name in enumerate(names)}
    figure, axis = plt.subplots(figsize=(9, 5))
    for name in names:
        values = curves.regret[name]
        # Grid points before any run's first evaluation are left out.
        seen = np.isfinite(values).any(axis=0)
        grid, values = curves.grid[seen], values[:, seen]
        mean = np.nanmean(values, axis=0)
        stderr = np.nanstd(values, axis=0) / np.sqrt(
            np.maximum(np.sum(np.isfinite(values), axis=0), 1)
        )
        axis.plot(grid, mean, label=name, color=colour[name], linestyle=line[name])
        axis.fill_between(
            grid,
            np.maximum(mean - stderr, 1e-6),
            mean + stderr,
            alpha=0.08,
            color=colour[name],
        )
    axis.set_yscale("log")
    axis.set_xlabel("full-budget-equivalent evaluations (cumulative budget / max budget)")
    axis.set_ylabel("mean normalised regret (± s.e.)")
    axis.set_title(f"{curves.problem}: {len(next(iter(curves.runs.values())))} task x seed runs")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.tight_layout()
    paths.append(out / f"regret_{curves.problem}.png")
    figure.savefig(paths[-1], dpi=110)
    plt.close(figure)

    figure, axis = plt.subplots(figsize=(9, 5))
    columns = np.arange(len(curves.grid))
    ranks = [average_ranks(curves, int(c)) for c in columns]
    for name in sorted(curves.regret):
        axis.plot(
            curves.grid,
            [r[name] for r in ranks],
            label=name,
            color=colour[name],
            linestyle=line[name],
        )
    axis.set_xlabel("full-budget-equivalent evaluations (cumulative budget / max budget)")
    axis.set_ylabel("average rank (lower is better)")
    axis.set_title(f"{curves.problem}: average rank over tasks x seeds")
    axis.grid(True, alpha=0.3)
    axis.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.tight_layout()
    paths.append(out / f"rank_{curves.problem}.png")
    figure.savefig(paths[-1], dpi=110)
    plt.close(figure)
    return paths
