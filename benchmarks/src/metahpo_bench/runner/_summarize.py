"""Turn a run directory (``results.jsonl`` + ``run.json``) into its report."""

from __future__ import annotations

import concurrent.futures
import json
import multiprocessing
from pathlib import Path
from typing import Any

from metahpo.exceptions import InvalidParameterError
from metahpo_bench._registry import get_problem
from metahpo_bench.runner._records import read_records
from metahpo_bench.runner._regret import EMPTY_BOUNDS, TaskBounds, table_bounds
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
    if spec.get("regret_table"):
        table = table_bounds(spec["regret_table"], spec["problem"])
        missing = [t for t in tasks if t not in table]
        if missing:
            raise InvalidParameterError(
                f"The regret table {spec['regret_table']!r} must hold every test task. Got none for {missing}."
            )
        draws = {t: table[t] for t in tasks}
    elif spec["n_draws"] > 0:
        draws = _draw_bounds(spec, tasks, cache_dir, jobs)
    else:
        draws = dict.fromkeys(tasks, EMPTY_BOUNDS)
    bounds = {task: draws[task].widen(r.loss for r in records if r.task == task) for task in tasks}
    full_budget = 1.0 if problem.max_budget is None else float(problem.max_budget)
    header = _header(spec, run, command or run.get("command", ""))
    return write_report(
        out, records, bounds, full_budget, int(spec["n_full_evals"]), run["status"], header
    )


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


def _header(spec: dict[str, Any], run: dict[str, Any], command: str) -> str:
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
        "Regret bounds: " + _bounds_text(spec) + ", plus all observed losses.",
        "Budget accounting: " + _accounting_text(spec) + ".",
        f"Run time: {run['seconds']} s with {spec['jobs']} processes. Versions: "
        + ", ".join(f"{k} {v}" for k, v in run["versions"].items())
        + ".",
    ]
    if command:
        lines += ["", f"Command: `{command}`"]
    return "\n".join(lines)


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
