"""What the tests of ``metahpo tune`` share: a CLI runner, and ``tune`` running the
``workdir`` fixture's ``train.py`` on its ``space.yaml`` (see conftest.py)."""

from __future__ import annotations

import sys

from typer.testing import CliRunner

from metahpo.cli import app

runner = CliRunner()


def tune(*extra):
    return runner.invoke(app, ["tune", "--space", "space.yaml", *extra, "--", sys.executable,
                               "train.py", "{x}", "{lr}", "{n}", "{budget}"])
