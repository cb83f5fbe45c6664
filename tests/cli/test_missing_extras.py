"""An extra that is not installed is named in one error line, not a traceback."""

from __future__ import annotations

import sys

import pytest
from typer.testing import CliRunner

import metahpo as mh
from metahpo.cli import app

runner = CliRunner()


@pytest.fixture
def stored(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    study = mh.create_study(name="s", space=mh.Space({"x": mh.Float(0, 1)}), storage=url, optimizer="random", seed=0)
    study.optimize(lambda t: t.config["x"], n_trials=3, show_progress=False)
    return url


@pytest.mark.parametrize(
    ("missing", "command"),
    [("kaleido", ["plot", "s", "history", "--out", "{tmp}/h.png"]), ("uvicorn", ["dashboard", "--port", "0"])],
)
def test_a_missing_extra_is_one_error_line(stored, tmp_path, monkeypatch, missing, command):
    monkeypatch.setitem(sys.modules, missing, None)  # importing it raises ImportError
    args = [part.replace("{tmp}", str(tmp_path)) for part in command]
    result = runner.invoke(app, [*args, "--storage", stored])
    assert result.exit_code == 1
    assert "pip install 'metahpo[dashboard]'" in " ".join(result.output.split())
    assert not isinstance(result.exception, ImportError)  # refused as an error, not raised

