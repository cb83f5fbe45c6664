"""The typer application every command module registers on, and its error exit."""

from __future__ import annotations

import argparse
from pathlib import Path

import typer
from rich.console import Console

from metahpo_bench.options import out_directory

app = typer.Typer(
    name="metahpo-bench",
    help="metahpo's benchmark harness: run optimizers on problems, build meta-datasets, MAML demos.",
    no_args_is_help=True,
    add_completion=False,
)


def fail(message: str) -> typer.Exit:
    """Print ``message`` as an error and return the exit to raise."""
    Console(stderr=True).print(f"[bold red]error:[/] {message}")
    return typer.Exit(code=1)


def out_directory_option(value: str) -> Path:
    """A typer ``parser=`` for an ``--out`` directory, checked as
    :func:`metahpo_bench.options.out_directory` checks the programs' ``--out``. A parser
    sees the text given: a ``Path`` option's ``--out ''`` would already be ``Path(".")``."""
    try:
        return out_directory(str(value))
    except argparse.ArgumentTypeError as error:
        raise typer.BadParameter(str(error)) from error
