"""``metahpo plot STUDY KIND --out FILE`` writes an image or a page."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

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


def test_plot_html_gets_plotlyjs_inline_by_default_or_beside_it_or_from_the_cdn(drawn_storage, tmp_path):
    # Every page embedded plotly.js (4.8 MB) with no way to share it or link to it.
    def plot(name: str, *options: str):
        return runner.invoke(app, ["plot", "finished-hb", "history", "--out", str(tmp_path / name),
                                   "--storage", drawn_storage, *options])

    assert plot("inline.html").exit_code == 0
    inline = (tmp_path / "inline.html").read_text()
    assert len(inline) > 3_000_000 and not re.findall(r"<script[^>]*\ssrc=", inline)  # embedded
    assert plot("cdn.html", "--plotlyjs", "cdn").exit_code == 0
    cdn = (tmp_path / "cdn.html").read_text()
    assert len(cdn) < 200_000 and 'src="https://cdn.plot.ly/plotly-' in cdn
    assert "Optimization history of finished-hb" in cdn
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "plotly.min.js").write_text("/* an older plotly.js */")
    for name in ("a.html", "b.html"):
        assert plot(f"pages/{name}", "--plotlyjs", "directory").exit_code == 0
        page = (folder / name).read_text()
        assert len(page) < 200_000 and 'src="plotly.min.js"' in page
    assert sorted(p.name for p in folder.iterdir()) == ["a.html", "b.html", "plotly.min.js"]
    import plotly  # the page gets the plotly.js its figure was made for, not the file left there

    assert (folder / "plotly.min.js").read_bytes() == (
        Path(plotly.__file__).with_name("package_data") / "plotly.min.js").read_bytes()


def test_plot_plotlyjs_is_refused_for_a_png_or_an_unknown_way(drawn_storage, tmp_path):
    for out, value, message in (
        ("h.png", "cdn", "is for an .html file only. Got plotlyjs='cdn' with"),
        ("h.html", "web", "must be one of ['inline', 'directory', 'cdn']. Got 'web' instead."),
    ):
        result = runner.invoke(app, ["plot", "finished-hb", "history", "--out", str(tmp_path / out),
                                     "--plotlyjs", value, "--storage", drawn_storage])
        assert result.exit_code == 1 and message in " ".join(result.output.split())
        assert "'plotlyjs' parameter" in result.output and not (tmp_path / out).exists()
