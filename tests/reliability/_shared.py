"""What the misuse tests share: a CLI runner and a one-parameter space."""

from __future__ import annotations

from typer.testing import CliRunner

import metahpo as mh

runner = CliRunner()


def _space() -> mh.Space:
    return mh.Space({"x": mh.Float(0.0, 1.0)})
