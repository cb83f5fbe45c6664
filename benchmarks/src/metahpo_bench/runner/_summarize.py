"""Turn a run directory (``results.jsonl`` + ``run.json``) into its report."""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
from pathlib import Path
from typing import Any

from metahpo.exceptions import InvalidParameterError, MetahpoError
from metahpo.testing.synthetic import Problem
from metahpo_bench._registry import get_problem
from metahpo_bench.pool import PoolProblem
from metahpo_bench.runner._records import Record, read_records
from metahpo_bench.runner._regret import (
    EMPTY_BOUNDS,
    TaskBounds,
    counts_as_incumbent,
    pool_bounds,
    table_bounds,
)
from metahpo_bench.runner._report import write_report
from metahpo_bench.runner._run import RESULTS_FILE, RUN_FILE, bounds_of

__all__ = ["summarize"]


def summarize(
    out: Path, cache_dir: Path | None = None, jobs: int = 1, command: str = ""
) -> list[Path]:
    """Compute the regret bounds of every task in ``out`` and write the report there.

    Returns the files written (``summary.md``, ``summary.csv``, ``bounds.json``, PNGs).
    """
    results, run_file = out / RESULTS_FILE, out / RUN_FILE
    if not results.exists() or not run_file.exists():
        raise InvalidParameterError(
            f"The run directory must hold {RESULTS_FILE} and {RUN_FILE} from `metahpo-bench run`. "
            f"Got {str(out)!r} without them."
        )
    run = json.loads(run_file.read_text())
    spec = run["spec"]
    records = list(read_records(results))
    problem = get_problem(spec["problem"], **spec["problem_kwargs"])
    tasks = sorted({r.task for r in records})
    full_budget = 1.0 if problem.max_budget is None else float(problem.max_budget)
    if isinstance(problem, PoolProblem):
        bounds = _pool_bounds(problem, records, tasks)
    else:
        draws = _given_bounds(spec, tasks, cache_dir, jobs)
        bounds = {task: draws[task].widen(_result_losses(records, task, full_budget)) for task in tasks}
    header = _header(spec, run, command or run.get("command", ""), problem) + _beyond_spec(spec, records)
    return write_report(
        out, records, bounds, full_budget, int(spec["n_full_evals"]), run["status"], header
    )


def _pool_bounds(
    problem: PoolProblem, records: list[Record], tasks: list[str]
) -> dict[str, TaskBounds]:
    """Each task's pool range; every observed loss must lie in it (it is a pool loss)."""
    bounds = {task: pool_bounds(problem, task) for task in tasks}
    outside = [r for r in records if not bounds[r.task].low <= r.loss <= bounds[r.task].high]
    if outside:
        raise MetahpoError(
            f"{problem.name} is a pool problem, so every loss must be a pool loss; the record "
            f"{outside[0].to_json()} is outside its task's pool range."
        )
    return bounds


def _given_bounds(
    spec: dict[str, Any], tasks: list[str], cache_dir: Path | None, jobs: int
) -> dict[str, TaskBounds]:
    """The bounds before the observed losses: a regret table's, random draws' or none."""
    if spec.get("regret_table"):
        table = table_bounds(spec["regret_table"], spec["problem"])
        missing = [t for t in tasks if t not in table]
        if missing:
            raise InvalidParameterError(
                f"The regret table {spec['regret_table']!r} must hold every test task. Got none for {missing}."
            )
        return {t: table[t] for t in tasks}
    if spec["n_draws"] > 0:
        return _draw_bounds(spec, tasks, cache_dir, jobs)
    return dict.fromkeys(tasks, EMPTY_BOUNDS)


def _draw_bounds(
    spec: dict[str, Any], tasks: list[str], cache_dir: Path | None, jobs: int
) -> dict[str, TaskBounds]:
    args = [
        (spec["problem"], spec["problem_kwargs"], task, spec["n_draws"], cache_dir)
        for task in tasks
    ]
    if jobs <= 1 or len(tasks) < 4:
        return {task: bounds_of(*a) for task, a in zip(tasks, args, strict=True)}
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        values = list(pool.map(bounds_of, *zip(*args, strict=True)))
    return dict(zip(tasks, values, strict=True))


def _header(spec: dict[str, Any], run: dict[str, Any], command: str, problem: Problem) -> str:
    lines = [
        f"## {spec['problem']}: {len(run['test_tasks'])} test tasks x {len(spec['seeds'])} seeds x "
        f"{spec['n_full_evals']} full-budget-equivalent evaluations",
        "",
        f"Test tasks: {', '.join(run['test_tasks'])}.",
        f"Split: {spec['split']} (seed {spec['split_seed']}); meta-train for transfer methods: "
        f"{spec['meta_train_size']} Sobol configs at max budget"
        + (
            f" (and at budgets {', '.join(f'{b:g}' for b in spec['meta_train_budgets'])})"
            if spec.get("meta_train_budgets")
            else ""
        )
        + " on "
        + (
            f"the {len(run['train_tasks'])} other tasks."
            if run["train_tasks"]
            else "all other tasks (leave one out)."
        ),
        *(
            [
                f"Pool: {problem.pool_description}; a suggestion is snapped to the nearest pool "
                "config, and a repeat costs a trial.",
                "Regret bounds: each task's pool's best and worst loss (0 is the pool's best config).",
            ]
            if isinstance(problem, PoolProblem)
            else ["Regret bounds: " + _bounds_text(spec) + ", plus all observed losses."]
        ),
        "Budget accounting: " + _accounting_text(spec) + ".",
        f"Run time: {run['seconds']} s with {spec['jobs']} processes. Versions: "
        + ", ".join(f"{k} {v}" for k, v in run["versions"].items())
        + ".",
    ]
    if command:
        lines += ["", f"Command: `{command}`"]
    return "\n".join(lines)


def _result_losses(records: list[Record], task: str, full_budget: float) -> list[float]:
    """The losses that may set ``task``'s bounds: only results count (a loss seen at a lower
    budget neither sets the zero nor the one), unless no run reached the full budget, when
    every loss gives the scale."""
    losses = [r.loss for r in records if r.task == task]
    full = [r.loss for r in records if r.task == task and counts_as_incumbent(r.budget, full_budget)]
    return full or losses


def _beyond_spec(spec: dict[str, Any], records: list[Record]) -> str:
    """A note naming the runs of the results file that the spec does not ask for: a resume
    with fewer optimizers or seeds keeps the others' records, and they are reported (and
    widen the regret bounds) too."""
    optimizers = sorted({r.optimizer for r in records} - set(spec["optimizers"]))
    seeds = sorted({r.seed for r in records} - set(spec["seeds"]))
    if not optimizers and not seeds:
        return ""
    parts = ([f"optimizers {', '.join(optimizers)}"] if optimizers else []) + (
        [f"seeds {', '.join(map(str, seeds))}"] if seeds else []
    )
    return (
        f"\n\nThe results file also holds runs of {' and '.join(parts)}, which the command above "
        "did not ask for (an earlier run or a relabelled one): they are in the tables, and their "
        "losses widen the regret bounds."
    )


def _accounting_text(spec: dict[str, Any]) -> str:
    if spec.get("continuation", False):
        return (
            "continuation (a promotion resumes its parent's checkpoint and counts only "
            "budget - parent budget; evaluations that name no parent count their full budget)"
        )
    return "restart (every evaluation counts its full budget; promotions do not resume)"


def _bounds_text(spec: dict[str, Any]) -> str:
    if spec.get("regret_table"):
        return f"min / max of each task's rows in the meta-dataset {spec['regret_table']}"
    if spec["n_draws"] > 0:
        return f"{spec['n_draws']} random configs per task at max budget"
    return "no random draws"
