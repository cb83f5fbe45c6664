"""--storage as users spell it: any SQLite driver, no password shown, and not a file path
or an in-memory database."""

from __future__ import annotations

import pytest
from _tune_cli import runner, tune

from metahpo.cli import app


def test_a_missing_sqlite_file_is_not_created_by_plot_whatever_its_driver(tmp_path):
    url = f"sqlite+pysqlite:///{tmp_path / 'missing.db'}"
    result = runner.invoke(app, ["plot", "s", "history", "--out", str(tmp_path / "h.html"), "--storage", url])
    assert result.exit_code == 1 and "No database at" in " ".join(result.output.split())
    assert not (tmp_path / "missing.db").exists()


@pytest.mark.parametrize("command", [["studies"], ["show", "s"], ["kb", "list"], ["delete", "s", "--yes"],
                                     ["tune", "--space", "space.yaml", "--trials", "1"]])
@pytest.mark.parametrize("storage", ["", "  "])
def test_an_empty_storage_option_is_refused_not_taken_for_the_default(tmp_path, monkeypatch, command, storage):
    import metahpo as mh

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("METAHPO_STORAGE", raising=False)
    (tmp_path / "space.yaml").write_text("x: {type: float, low: 0, high: 1}\n")
    mh.create_study(name="s", space=mh.Space({"x": mh.Float(0, 1)}), storage="sqlite:///metahpo.db",
                    optimizer="random")
    tail = ["--", "echo", "0.5"] if command[0] == "tune" else []
    result = runner.invoke(app, [*command, "--storage", storage, *tail])
    assert result.exit_code == (2 if command[0] == "kb" else 1)  # each command's bad-input code
    expected = f"--storage must be a database URL such as sqlite:///metahpo.db. Got {storage!r}; leave --storage out"
    assert " ".join(expected.split()) in " ".join(result.output.split())
    assert [study.name for study in mh.list_studies("sqlite:///metahpo.db")] == ["s"]


@pytest.mark.parametrize("command", [["list"], ["show", "t"], ["clusters"], ["export", "out"],
                                     ["map", "--out", "map.html"]])
def test_an_empty_storage_option_is_refused_by_kb_commands_given_knowledge_too(tmp_path, monkeypatch, command):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["kb", *command, "--knowledge", "bundled:hgb-classifier", "--storage", ""])
    assert result.exit_code == 2
    expected = "--storage must be a database URL such as sqlite:///metahpo.db. Got ''; leave --storage out"
    assert expected in " ".join(result.output.split())
    assert not list(tmp_path.iterdir())  # nothing exported or drawn


@pytest.mark.parametrize("url", ["postgresql+psycopg://:pw@db/x", "postgresql+psycopg://bob:pw@db/x?password=pw2"])
def test_the_dashboards_storage_label_shows_no_password(url):
    from metahpo.dashboard._app import _label

    class Stored:
        pass

    store = Stored()
    store.url = url  # type: ignore[attr-defined]
    assert "pw" not in _label(store).replace("password=", "")  # type: ignore[arg-type]


def test_a_study_stores_and_shows_no_password_given_in_its_urls_query(postgres_url):
    import json

    from sqlalchemy.engine import make_url

    import metahpo as mh
    from metahpo.storage import get_storage

    # libpq takes the password from the query as well as from the user's part of the URL
    # (a server that trusts local connections ignores it).
    url = make_url(postgres_url)
    secrets = {"password": url.password or "unused", "sslpassword": "k3y"}
    url = url.set(password=None).update_query_dict(secrets)
    url_text = url.render_as_string(hide_password=False)
    space = mh.Space({"x": mh.Float(0.0, 1.0)})
    auto = mh.create_study(name="auto", space=space, storage=url_text, optimizer="auto", seed=0)
    auto.optimize(lambda t: t.config["x"], n_trials=5, show_progress=False)
    mh.create_study(name="metabo", space=space, storage=url_text, optimizer="metabo", seed=0)
    storage = get_storage(url_text)
    for name in ("auto", "metabo"):
        record = storage.get_study(name)
        stored = json.dumps([record.optimizer, record.user_attrs])
        assert "knowledge" in stored and "password" not in stored and "k3y" not in stored
        shown = runner.invoke(app, ["show", name, "--storage", url_text])
        assert shown.exit_code == 0, shown.output
        assert "password" not in shown.output and "k3y" not in shown.output
    shown = runner.invoke(app, ["show", "auto", "--storage", url_text])
    assert "optimizer: GPBO (auto: " in shown.output
    # Reopened, the knowledge finds the password again in the storage's URL.
    reopened = mh.load_study("metabo", url_text)
    assert reopened.optimizer.knowledge is not None and "auto" in reopened.optimizer.knowledge


def test_kb_import_from_a_storage_neither_prints_nor_stores_its_password(postgres_url, tmp_path):
    import json

    from sqlalchemy.engine import make_url

    import metahpo as mh
    from metahpo.storage import get_storage

    url = make_url(postgres_url)
    password = url.password or "unused"

    def leaks(text: str) -> bool:  # the test role's password may also be its name; rich wraps lines
        text = text.replace("\n", "")
        return f":{password}@" in text or f"password={password}" in text

    space = mh.Space({"x": mh.Float(0.0, 1.0)})
    study = mh.create_study(name="past", space=space, storage=postgres_url, optimizer="random", seed=0)
    study.optimize(lambda t: t.config["x"], n_trials=6, show_progress=False)
    in_query = url.set(password=None).update_query_dict({"password": password}).render_as_string(hide_password=False)
    for i, source in enumerate((postgres_url, in_query)):
        target = f"sqlite:///{tmp_path / f'copy{i}.db'}"
        imported = runner.invoke(app, ["kb", "import", source, "--storage", target])
        assert imported.exit_code == 0, imported.output
        assert "imported 1 tasks from" in imported.output and not leaks(imported.output)
        # What the tasks' source carried into the copies: stored, and shown.
        record = get_storage(target).get_study("past")
        assert not leaks(json.dumps([record.optimizer, record.user_attrs]))
        shown = runner.invoke(app, ["show", "past", "--storage", target])
        assert shown.exit_code == 0 and not leaks(shown.output)
    assert not any(leaks(t.source) for t in mh.KnowledgeBase.open(in_query))


@pytest.mark.parametrize("command", [["studies"], ["show", "s"], ["plot", "s", "history", "--out", "h.html"],
                                     ["tune", "--space", "space.yaml", "--", "echo", "{x}"]])
def test_a_file_path_given_as_storage_is_refused_with_its_url(workdir, command):
    (workdir / "space.yaml").write_text("x: {type: float, low: 0, high: 1}\n")
    result = runner.invoke(app, [*command, "--storage", "e.db"] if command[0] != "tune"
                           else ["tune", "--storage", "e.db", *command[1:]])
    output = " ".join(result.output.split())
    assert result.exit_code == 1 and "--storage (or $METAHPO_STORAGE) must be a database URL" in output
    assert "give sqlite:///e.db" in output and "Storage object" not in output
    assert not (workdir / "e.db").exists()


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///:memory:"])
def test_an_in_memory_sqlite_storage_is_refused(workdir, url, monkeypatch):
    # `sqlite://` (one slash short) ran the study in memory: its trials were gone at exit.
    result = tune("--trials", "1", "--name", "lost", "--storage", url)
    assert result.exit_code == 1
    assert f"Got {url!r}, an in-memory SQLite database" in " ".join(result.output.split())
    for args in (["studies", "--storage", url], ["kb", "list", "--storage", url],
                 ["plot", "lost", "history", "--out", "h.html", "--storage", url]):
        refused = runner.invoke(app, args)
        assert refused.exit_code in (1, 2) and "in-memory SQLite database" in refused.output, args
    monkeypatch.setenv("METAHPO_STORAGE", url)
    assert "in-memory SQLite database" in runner.invoke(app, ["studies"]).output
    assert not (workdir / "metahpo.db").exists()
