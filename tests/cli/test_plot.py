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


def test_plot_contour_takes_its_two_parameters(drawn_storage, tmp_path):
    out = tmp_path / "c.html"
    result = runner.invoke(app, ["plot", "finished-hb", "contour", "--param", "depth", "--param", "lr",
                                 "--out", str(out), "--storage", drawn_storage])
    assert result.exit_code == 0, result.output
    assert "Contour of finished-hb: depth \\u00d7 lr" in out.read_text()  # × escaped in the JSON
    result = runner.invoke(app, ["plot", "finished-hb", "contour", "--param", "x", "--param", "lr2",
                                 "--out", str(tmp_path / "bad.html"), "--storage", drawn_storage])
    output = " ".join(result.output.split())
    assert result.exit_code == 1 and not (tmp_path / "bad.html").exists()
    assert "(its parameters: ['x', 'lr', 'depth', 'kind'])" in output
    assert "'lr2' is not a parameter of the study" in output


def test_plot_contour_of_one_numeric_parameter_suggests_the_slice_plot(tmp_path):
    import metahpo as mh

    url = f"sqlite:///{tmp_path / 's.db'}"
    study = mh.create_study(name="one", space=mh.Space({"x": mh.Float(0.0, 1.0)}), storage=url,
                            optimizer="random", seed=0)
    study.optimize(lambda t: t.config["x"], n_trials=5, show_progress=False)
    result = runner.invoke(app, ["plot", "one", "contour", "--out", str(tmp_path / "c.html"), "--storage", url])
    output = " ".join(result.output.split())
    assert result.exit_code == 1
    assert "A contour needs two numeric (float or int) parameters; study 'one' has only ['x']" in output
    assert "`metahpo plot STUDY slice`" in output
