"""The typer applications every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="metahpo",
    help="Hyperparameter optimization that learns from every study it has run.",
    no_args_is_help=True,
    add_completion=False,
)

STORAGE_HELP = "Storage URL (default: $METAHPO_STORAGE or sqlite:///metahpo.db)."
