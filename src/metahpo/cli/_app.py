"""The typer applications every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="metahpo",
    help="Hyperparameter optimization that learns from every study it has run.",
    no_args_is_help=True,
    add_completion=False,
)
bench_app = typer.Typer(help="Benchmarks: run optimizers on problems, build meta-datasets.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")

STORAGE_HELP = "Storage URL (default: $METAHPO_STORAGE or sqlite:///metahpo.db)."
