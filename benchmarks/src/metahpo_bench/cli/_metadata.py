"""``metahpo-bench build-metadata``: a Sobol design on every task at every budget."""

from __future__ import annotations

import logging
import shlex
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from metahpo.exceptions import MetahpoError
from metahpo_bench.cli._app import app, fail, out_directory_option

console = Console(stderr=True)


@app.command("build-metadata")
def build_metadata_command(
    problem: Annotated[
        str, typer.Option(help="Problem name (keel-hgb, sklearn-hgb, keel-mlp, ...).")
    ],
    out: Annotated[
        Path,
        typer.Option(
            help="Output directory (an existing build resumes).",
            parser=out_directory_option,
            metavar="DIRECTORY",
        ),
    ],
    configs: Annotated[int, typer.Option(help="Number of Sobol configs.")] = 200,
    budgets: Annotated[
        str, typer.Option(help="Comma-separated budgets, e.g. 3,9,27,81.")
    ] = "3,9,27,81",
    tasks: Annotated[
        str | None, typer.Option(help="Comma-separated tasks (default: every task of the problem).")
    ] = None,
    max_tasks: Annotated[
        int | None, typer.Option(help="Only the first N tasks in name order.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the scrambled Sobol design.")] = 0,
    jobs: Annotated[
        int | None, typer.Option(help="Worker processes (default: every core; 1 runs in-process).")
    ] = None,
) -> None:
    """Evaluate one Sobol design of PROBLEM on every task at every budget.

    Writes parts/<task>.csv as tasks finish (rerun the same command to resume),
    then the knowledge directory (manifest.json, evaluations-0.parquet) that
    KnowledgeBase.from_files and create_study(knowledge=OUT) read. See docs/metadata.md.
    """
    from metahpo_bench._registry import get_problem
    from metahpo_bench.metadata import build_metadata

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    try:
        budget_list = [float(text) for text in budgets.split(",") if text.strip()]
    except ValueError:
        raise fail(f"--budgets must be comma-separated numbers. Got {budgets!r}.") from None
    try:
        bench = get_problem(problem)
        chosen = [t.strip() for t in tasks.split(",") if t.strip()] if tasks else list(bench.tasks)
        if max_tasks is not None:
            if max_tasks < 1:
                raise fail(f"--max-tasks must be >= 1. Got {max_tasks}.")
            chosen = sorted(chosen)[:max_tasks]
        start = time.perf_counter()
        build_metadata(
            bench,
            out,
            n_configs=configs,
            budgets=budget_list,
            tasks=chosen,
            seed=seed,
            jobs=jobs,
            command=shlex.join(["metahpo-bench", *sys.argv[1:]]),
        )
    except MetahpoError as exc:
        raise fail(str(exc)) from exc
    console.print(f"wrote {out} in {time.perf_counter() - start:.1f} s")
