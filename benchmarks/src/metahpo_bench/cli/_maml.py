"""``metahpo-bench maml-sinusoid``: the MAML sinusoid regression benchmark."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from metahpo_bench.cli._app import app, out_directory_option


@app.command("maml-sinusoid")
def maml_sinusoid(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Directory for summary.json, results.md/.csv, the PNG and checkpoints.",
            parser=out_directory_option, metavar="DIRECTORY",
        ),
    ],
    quick: Annotated[
        bool, typer.Option("--quick", help="600 meta-iterations per method instead of 15,000.")
    ] = False,
    iterations: Annotated[
        int | None,
        typer.Option("--iterations", min=1, help="Override the meta-iterations per method."),
    ] = None,
    test_tasks: Annotated[
        int | None,
        typer.Option("--test-tasks", min=2, help="Override the number of test tasks (600)."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Master seed.")] = 0,
    threads: Annotated[int, typer.Option("--threads", min=1, help="torch threads.")] = 1,
) -> None:
    """Reproduce MAML's sinusoid regression: MAML, first-order MAML, Reptile, pretrained."""
    # torch loads only when the command runs, so `metahpo-bench --help` stays fast.
    from metahpo_bench.maml_sinusoid import format_table, run_from_options

    options = ["--quick"] if quick else []
    for flag, value in (("--iterations", iterations), ("--test-tasks", test_tasks)):
        if value is not None:
            options += [flag, str(value)]
    options += ["--seed", str(seed), "--threads", str(threads), "--out", str(out)]
    command = "metahpo-bench maml-sinusoid " + " ".join(shlex.quote(option) for option in options)
    summary = run_from_options(
        quick=quick,
        out=out,
        iterations=iterations,
        test_tasks=test_tasks,
        seed=seed,
        threads=threads,
        command=command,
        progress=lambda message: typer.echo(message, err=True),
    )
    typer.echo(format_table(summary))
    typer.echo(f"wrote {out / 'summary.json'}")
