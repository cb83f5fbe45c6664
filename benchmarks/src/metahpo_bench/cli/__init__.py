"""The ``metahpo-bench`` command line: ``run``, ``report``, ``build-metadata``, ``maml-sinusoid``."""

from __future__ import annotations

# Each module registers its commands on `app` when imported.
from metahpo_bench.cli import _maml, _metadata, _run  # noqa: F401
from metahpo_bench.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    app()
