"""``metahpo-bench run`` and ``metahpo-bench report``: optimizers and peers on benchmark problems."""

from __future__ import annotations

import logging
import os
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from metahpo.exceptions import MetahpoError
from metahpo_bench.cli._app import app, fail, out_directory_option

console = Console(stderr=True)


DEFAULT_JOBS = max(1, min(4, os.cpu_count() or 1))
OPTIMIZERS_HELP = (
    "Comma-separated: random, sobol, gpbo, metabo (each optionally +hyperband, +sh, +asha, "
    "and @N for N simulated parallel workers, e.g. random+asha@4), "
    "optuna-tpe, optuna-gp, optuna-random, optuna-tpe-hyperband, smac, smac-mf, dehb, "
    "synetune-zeroshot, synetune-boundingbox, synetune-quantile."
)
CACHE_HELP = (
    "Cache of random draws and meta-train data (default: $METAHPO_CACHE_DIR or ~/.cache/metahpo)."
)


@app.command("run")
def bench_run(
    problem: Annotated[
        str, typer.Option(help="Problem name (lcbench, rbv2_xgboost, branin, ...).")
    ],
    out: Annotated[
        Path,
        typer.Option(
            help="Directory for results.jsonl, run.json, summary, PNGs.",
            parser=out_directory_option, metavar="DIRECTORY",
        ),
    ],
    optimizers: Annotated[str, typer.Option(help=OPTIMIZERS_HELP)] = "random",
    seeds: Annotated[str, typer.Option(help="A count (5: seeds 0..4) or a list (0,3,7).")] = "5",
    trials: Annotated[
        int, typer.Option(help="Budget per run, in full-budget-equivalent evaluations.")
    ] = 50,
    test_tasks: Annotated[
        int | None,
        typer.Option(help="Number of test tasks drawn with --split-seed (default: all)."),
    ] = None,
    split: Annotated[
        str, typer.Option(help="'random' or 'K-fold:i' (fold i of K is the test set).")
    ] = "random",
    split_seed: Annotated[int, typer.Option(help="Seed of the task split.")] = 0,
    tasks: Annotated[
        str | None, typer.Option(help="Comma-separated test tasks (overrides --split).")
    ] = None,
    meta_train_size: Annotated[
        int, typer.Option(help="Sobol configs per training task for transfer methods.")
    ] = 64,
    meta_train_budgets: Annotated[
        str | None,
        typer.Option(
            help="Also evaluate the meta-train design at these budgets: comma-separated "
            "numbers, or 'hyperband' for the lower rungs of Hyperband with --eta."
        ),
    ] = None,
    draws: Annotated[
        int, typer.Option(help="Random configs per task for the regret bounds.")
    ] = 10_000,
    regret_table: Annotated[
        str | None,
        typer.Option(
            help="Meta-dataset directory whose per-task min/max set the regret bounds "
            "(instead of random draws; for problems too costly to sample)."
        ),
    ] = None,
    eta: Annotated[int, typer.Option(help="Reduction factor of every Hyperband-like method.")] = 3,
    jobs: Annotated[int, typer.Option(help="Runs in parallel processes.")] = DEFAULT_JOBS,
    problem_arg: Annotated[
        list[str] | None, typer.Option(help="Problem keyword argument name=value (repeatable).")
    ] = None,
    cache_dir: Annotated[Path | None, typer.Option(help=CACHE_HELP)] = None,
    resume: Annotated[
        bool, typer.Option(help="Keep the runs already in OUT/results.jsonl; do the others.")
    ] = False,
    continuation: Annotated[
        bool,
        typer.Option(
            "--continuation/--restart",
            help="Budget accounting: a promotion counts only budget - parent budget "
            "(it resumes its parent's checkpoint), or its full budget (the default).",
        ),
    ] = False,
) -> None:
    """Run optimizers on a problem's test tasks; write raw lines, a summary and plots in OUT.

    Each line of results.jsonl is one evaluation: problem, task, optimizer, seed, trial,
    budget, loss, cum_budget, wall_time. Peers that are not installed are reported in
    the summary, not run.
    """
    from metahpo_bench.runner._regret import default_cache_dir
    from metahpo_bench.runner._run import (
        BenchmarkSpec,
        parse_meta_train_budgets,
        parse_problem_args,
        parse_seeds,
        run_benchmark,
    )
    from metahpo_bench.runner._summarize import summarize

    logging.basicConfig(level=logging.WARNING)
    command = (
        "metahpo-bench run " + " ".join(shlex.quote(a) for a in sys.argv[2:])
        if len(sys.argv) > 2
        else ""
    )
    try:
        spec = BenchmarkSpec(
            problem=problem,
            optimizers=tuple(o.strip() for o in optimizers.split(",") if o.strip()),
            seeds=parse_seeds(seeds),
            n_full_evals=trials,
            problem_kwargs=parse_problem_args(problem_arg or []),
            test_tasks=test_tasks,
            split=split,
            split_seed=split_seed,
            tasks=tuple(t.strip() for t in tasks.split(",")) if tasks else None,
            meta_train_size=meta_train_size,
            meta_train_budgets=parse_meta_train_budgets(meta_train_budgets, problem, eta),
            n_draws=draws,
            regret_table=regret_table,
            eta=eta,
            jobs=jobs,
            continuation=continuation,
        )
        cache = cache_dir or default_cache_dir()
        outcome = run_benchmark(
            spec, out, cache, progress=console.print, resume=resume, command=command
        )
        for name, status in outcome.status.items():
            console.print(f"{name}: {status}")
        console.print("computing regret bounds and the report")
        written = summarize(out, cache, jobs, command)
    except MetahpoError as exc:
        raise fail(str(exc)) from exc
    console.print(
        f"{outcome.n_records} evaluations in {outcome.seconds:.1f} s; wrote "
        + ", ".join(p.name for p in [out / "results.jsonl", *written])
    )
    typer.echo((out / "summary.md").read_text())


@app.command("report")
def bench_report(
    out: Annotated[Path, typer.Argument(help="A directory written by `metahpo-bench run`.")],
    jobs: Annotated[
        int, typer.Option(help="Processes for the random draws of the regret bounds.")
    ] = 1,
    cache_dir: Annotated[Path | None, typer.Option(help=CACHE_HELP)] = None,
    command: Annotated[
        str,
        typer.Option(
            help="The command that made the run, for the summary (default: from run.json)."
        ),
    ] = "",
) -> None:
    """Rewrite the summary and plots of a run directory (finished or interrupted)."""
    from metahpo_bench.runner._regret import default_cache_dir
    from metahpo_bench.runner._summarize import summarize

    try:
        summarize(out, cache_dir or default_cache_dir(), jobs, command)
    except MetahpoError as exc:
        raise fail(str(exc)) from exc
    typer.echo((out / "summary.md").read_text())
