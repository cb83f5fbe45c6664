"""The ``metahpo`` command line (the benchmark harness has its own: ``metahpo-bench``)."""

from __future__ import annotations

# Each module registers its commands on `app` when imported.
from metahpo.cli import _kb, _plot, _presets, _studies, _tune  # noqa: F401
from metahpo.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    app()
