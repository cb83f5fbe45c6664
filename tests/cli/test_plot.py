"""``metahpo plot STUDY KIND --out FILE`` writes an image or a page."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from metahpo.cli import app

runner = CliRunner()


@pytest.mark.skipif(shutil.which("chromium") is None, reason="PNG export needs Debian's chromium")
def test_plot_history_writes_a_png(drawn_storage, tmp_path):
    out = tmp_path / "h.png"
    result = runner.invoke(app, ["plot", "finished-hb", "history", "--out", str(out), "--storage", drawn_storage])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_plot_compare_writes_html(drawn_storage, tmp_path):
    out = tmp_path / "c.html"
    result = runner.invoke(app, ["plot", "finished-hb", "compare", "--with", "past-1", "--out", str(out),
                                 "--storage", drawn_storage])
    assert result.exit_code == 0, result.output
    assert "past-1" in out.read_text()


def test_plot_unknown_kind_fails_with_the_choices(drawn_storage, tmp_path):
    result = runner.invoke(app, ["plot", "finished-hb", "pie", "--out", str(tmp_path / "x.png"),
                                 "--storage", drawn_storage])
    assert result.exit_code == 1
    assert "must be one of" in result.output and "Got 'pie' instead" in result.output
