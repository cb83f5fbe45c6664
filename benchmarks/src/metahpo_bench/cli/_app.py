"""The typer application every command module registers on, and its error exit."""

from __future__ import annotations

import typer
from rich.console import Console

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
