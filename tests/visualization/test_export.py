"""write_figure's ``plotlyjs="directory"``: plotly.min.js beside the page, as a real file."""

from __future__ import annotations

import os
from pathlib import Path

import plotly.graph_objects as go
import pytest

from metahpo.visualization import _export, write_figure

BUNDLE = b"/* plotly.js as installed */"


@pytest.fixture
def symlinked_bundle(tmp_path, monkeypatch) -> Path:
    """The package's plotly.min.js as a symlink (as some distributions install it); returns
    the file it points to."""
    real = tmp_path / "share" / "plotly.min.js"
    real.parent.mkdir()
    real.write_bytes(BUNDLE)
    package_data = tmp_path / "package_data"
    package_data.mkdir()
    (package_data / "plotly.min.js").symlink_to(real)
    monkeypatch.setattr(_export, "_plotly_bundle", lambda: package_data / "plotly.min.js")
    return real


def _page(folder: Path) -> Path:
    return write_figure(go.Figure(), folder / "page.html", plotlyjs="directory")


def _is_regular_bundle(path: Path) -> bool:
    return not path.is_symlink() and path.is_file() and path.read_bytes() == BUNDLE


def test_a_symlinked_bundle_is_copied_as_its_content(tmp_path, symlinked_bundle):
    folder = tmp_path / "pages"
    folder.mkdir()
    assert 'src="plotly.min.js"' in _page(folder).read_text()
    assert _is_regular_bundle(folder / "plotly.min.js")
    # A page folder whose plotly.min.js links to the package's: the copy went through the
    # link onto the package's file itself (refused as the same file, the page not written).
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "plotly.min.js").symlink_to(_export._plotly_bundle())
    _page(linked)
    assert _is_regular_bundle(linked / "plotly.min.js")
    assert symlinked_bundle.read_bytes() == BUNDLE and _export._plotly_bundle().is_symlink()


def test_a_symlink_at_the_destination_is_replaced_not_written_through(tmp_path, symlinked_bundle):
    elsewhere = tmp_path / "elsewhere.js"
    elsewhere.write_bytes(b"/* someone else's file */")
    folder = tmp_path / "pages"
    folder.mkdir()
    (folder / "plotly.min.js").symlink_to(elsewhere)
    _page(folder)
    assert _is_regular_bundle(folder / "plotly.min.js")
    assert elsewhere.read_bytes() == b"/* someone else's file */"
    # A dangling link: nothing is created where it points.
    dangling = tmp_path / "dangling"
    dangling.mkdir()
    (dangling / "plotly.min.js").symlink_to(tmp_path / "missing.js")
    _page(dangling)
    assert _is_regular_bundle(dangling / "plotly.min.js") and not (tmp_path / "missing.js").exists()
    assert sorted(p.name for p in dangling.iterdir()) == ["page.html", "plotly.min.js"]  # no temporary left


def test_an_identical_file_is_left_alone_and_a_different_one_replaced(tmp_path, symlinked_bundle):
    folder = tmp_path / "pages"
    folder.mkdir()
    there = folder / "plotly.min.js"
    there.write_bytes(BUNDLE)
    long_ago = 1_000_000_000_000_000_000
    os.utime(there, ns=(long_ago, long_ago))
    _page(folder)
    assert there.stat().st_mtime_ns == long_ago  # not written again
    there.write_bytes(b"/* an older plotly.js */")
    _page(folder)
    assert _is_regular_bundle(there)
