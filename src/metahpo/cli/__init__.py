"""The ``metahpo`` command line."""

from __future__ import annotations

# Each module registers its commands on `app` or `bench_app` when imported.
from metahpo.cli import _bench_maml, _bench_metadata, _bench_run, _studies, _tune  # noqa: F401
from metahpo.cli._app import app, bench_app

__all__ = ["app", "bench_app", "main"]


def main() -> None:
    app()
