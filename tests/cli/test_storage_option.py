"""--storage as users spell it: any SQLite driver, and no password shown."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from metahpo.cli import app

runner = CliRunner()


def test_a_missing_sqlite_file_is_not_created_by_plot_whatever_its_driver(tmp_path):
    url = f"sqlite+pysqlite:///{tmp_path / 'missing.db'}"
    result = runner.invoke(app, ["plot", "s", "history", "--out", str(tmp_path / "h.html"), "--storage", url])
    assert result.exit_code == 1 and "No database at" in " ".join(result.output.split())
    assert not (tmp_path / "missing.db").exists()


@pytest.mark.parametrize("url", ["postgresql+psycopg://:pw@db/x", "postgresql+psycopg://bob:pw@db/x?password=pw2"])
def test_the_dashboards_storage_label_shows_no_password(url):
    from metahpo.dashboard._app import _label

    class Stored:
        pass

    store = Stored()
    store.url = url  # type: ignore[attr-defined]
    assert "pw" not in _label(store).replace("password=", "")  # type: ignore[arg-type]
