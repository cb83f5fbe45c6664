"""Storages and files used wrongly: relative and URI SQLite URLs, missing files and folders,
another program's database, and knowledge whose source moved or was built in memory."""

from __future__ import annotations

import sys

import pytest

import metahpo as mh
from metahpo.cli import app
from metahpo.exceptions import InvalidParameterError, StudyNotFoundError

from ._shared import _space, runner


def test_a_relative_sqlite_url_names_the_same_database_from_another_folder(tmp_path, monkeypatch):
    first, elsewhere = tmp_path / "first", tmp_path / "elsewhere"
    first.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(first)
    study = mh.create_study(name="s", preset="logistic-regression", storage="sqlite:///rel.db", seed=0)
    specs = study.optimizer.knowledge.spec
    assert f"sqlite:///{first / 'rel.db'}" in specs and "sqlite:///rel.db" not in specs
    monkeypatch.chdir(elsewhere)
    reopened = mh.load_study("s", f"sqlite:///{first / 'rel.db'}")
    assert reopened.optimizer.knowledge.spec == specs
    assert not (elsewhere / "rel.db").exists()


def test_opening_a_missing_sqlite_file_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(StudyNotFoundError, match=r"typo\.db"):
        mh.load_study("x", "sqlite:///typo.db")
    with pytest.raises(InvalidParameterError, match=r"team\.db"):
        mh.KnowledgeBase.open("sqlite:///team.db")
    assert not list(tmp_path.iterdir())


def test_a_study_reopened_without_its_in_memory_knowledge_says_so(tmp_path, caplog):
    space = _space()
    kb = mh.KnowledgeBase()
    for i in range(3):
        kb.add_task(space, [{"x": v / 5} for v in range(6)], [float((v - i) ** 2) for v in range(6)], name=f"t{i}")
    url = f"sqlite:///{tmp_path}/k.db"
    mh.create_study(name="k", space=space, storage=url, optimizer=mh.MetaBO(kb, continual_update=False), seed=0)
    with caplog.at_level("WARNING", logger="metahpo.study"):
        mh.load_study("k", url)
    assert "learns from no past tasks" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="metahpo.study"):
        mh.load_study("k", url, knowledge=kb)
    assert "learns from no past tasks" not in caplog.text


def test_a_stored_knowledge_spec_is_reopened_as_it_can_be(tmp_path, caplog):
    from metahpo.storage import SQLStorage
    from metahpo.study._knowledge import reachable_knowledge

    own = SQLStorage(f"sqlite:///{tmp_path}/own.db")
    # As an earlier version stored it: the study's own storage by a relative URL.
    stored = ["bundled:keel-hgb", "sqlite:///own.db", f"sqlite:///{tmp_path}/gone.db"]
    with caplog.at_level("WARNING", logger="metahpo.study"):
        assert reachable_knowledge(stored, own, "s") == ["bundled:keel-hgb", f"sqlite:///{tmp_path}/own.db"]
    assert "gone.db does not exist any more" in caplog.text


def test_a_study_whose_knowledge_file_is_gone_still_opens(tmp_path, caplog):
    other = f"sqlite:///{tmp_path}/other.db"
    mh.create_study(name="o", space=_space(), storage=other, optimizer="random", seed=0)
    url = f"sqlite:///{tmp_path}/s.db"
    mh.create_study(name="s", space=_space(), storage=url, optimizer="metabo", knowledge=other, seed=0)
    (tmp_path / "other.db").unlink()
    with caplog.at_level("WARNING", logger="metahpo.study"):
        study = mh.load_study("s", url)
    assert "other.db does not exist any more" in caplog.text
    assert study.ask().config  # and it suggests (from no past tasks)
    assert not (tmp_path / "other.db").exists()


def test_uri_and_environment_sqlite_urls_are_opened_as_created(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    uri = "sqlite:///file:u.db?uri=true"
    mh.create_study(name="u", space=_space(), storage=uri, optimizer="random", seed=0)
    assert mh.load_study("u", uri).name == "u"
    monkeypatch.setenv("METAHPO_STORAGE", "sqlite:///typo.db")
    with pytest.raises(StudyNotFoundError, match=r"typo\.db"):
        mh.load_study("u")
    assert not (tmp_path / "typo.db").exists()


def test_two_openings_of_one_database_are_one_study_whatever_the_driver_or_password():
    from metahpo.study._tell import storage_key

    class Opened:
        def __init__(self, url: str) -> None:
            self.url = url

    assert storage_key(Opened("postgresql://u:secret@db:5432/hpo")) == storage_key(
        Opened("postgresql+psycopg://u@db:5432/hpo"))
    assert storage_key(Opened("postgresql://u@db:5432/hpo")) != storage_key(Opened("postgresql://u@db:5432/other"))


def test_a_sqlite_file_in_a_missing_folder_names_the_folder(tmp_path):
    url = f"sqlite:///{tmp_path}/no/such/x.db"
    with pytest.raises(mh.exceptions.StorageError, match=r"folder '.*no/such' does not exist"):
        mh.create_study(space=_space(), storage=url)
    assert not (tmp_path / "no").exists()


def test_deleting_or_listing_in_a_missing_sqlite_file_creates_nothing(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/typo.db"
    with pytest.raises(mh.exceptions.StorageError, match=r"no database at .*typo\.db.*nothing was created"):
        mh.delete_study("s", url)
    assert mh.list_studies(url) == []  # no study there, as before; and no file made for it
    monkeypatch.setenv("METAHPO_STORAGE", url)
    with pytest.raises(mh.exceptions.StorageError, match="nothing was created"):
        mh.delete_study("s")
    assert mh.list_studies() == []
    assert not (tmp_path / "typo.db").exists()


def _foreign_sqlite(path):
    import sqlite3

    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE other_program (x INTEGER)")
    db.close()
    return path.read_bytes()


@pytest.mark.parametrize("reader", ["plot", "dashboard", "figure", "cli-plot", "cli-dashboard"])
def test_readers_leave_another_programs_sqlite_file_and_a_missing_path_alone(tmp_path, reader):
    from metahpo import visualization as vis
    from metahpo.dashboard import create_app

    foreign = tmp_path / "other.db"
    before = _foreign_sqlite(foreign)
    for path, message in ((foreign, "not a metahpo database"), (tmp_path / "missing.db", "no database at")):
        url = f"sqlite:///{path}"
        if reader.startswith("cli-"):
            args = ["plot", "s", "history", "--out", str(tmp_path / "h.html")] if reader == "cli-plot" else ["dashboard", "--port", "0"]
            result = runner.invoke(app, [*args, "--storage", url])
            assert result.exit_code != 0 and message in " ".join(result.output.split()).lower()
            assert "http://" not in result.output  # a bad storage fails before a URL is announced
        else:
            calls = {"plot": lambda u: vis.plot("s", "history", storage=u),
                     "dashboard": create_app,
                     "figure": lambda u: vis.plot_knowledge_map(storage=u)}
            with pytest.raises(mh.exceptions.StorageError, match=message):
                calls[reader](url)
    assert foreign.read_bytes() == before
    assert not (tmp_path / "missing.db").exists()


def test_a_study_missing_from_the_in_memory_storage_says_where_stored_studies_are():
    with pytest.raises(StudyNotFoundError, match=r"in memory.*sqlite:///FILE\.db"):
        mh.load_study("made-by-metahpo-tune")


def test_a_file_that_is_no_database_is_named_in_the_error(tmp_path):
    junk = tmp_path / "notes.db"
    junk.write_text("not a database\n")
    with pytest.raises(mh.StorageError, match=rf"The database sqlite:///{junk} failed .*not a database"):
        mh.create_study(space=mh.Space({"x": mh.Float(0.0, 1.0)}), storage=f"sqlite:///{junk}")
    assert junk.read_text() == "not a database\n"


@pytest.mark.parametrize("writer", ["tune", "presets-tune", "kb-import"])
def test_writers_refuse_another_programs_sqlite_file(tmp_path, monkeypatch, writer):
    # Opening a storage creates metahpo's tables: into another program's file they must not go.
    monkeypatch.chdir(tmp_path)
    foreign = tmp_path / "other.db"
    before = _foreign_sqlite(foreign)
    url = f"sqlite:///{foreign}"
    if writer == "tune":
        (tmp_path / "space.yaml").write_text("x: {type: float, low: 0, high: 1}\n")
        args = ["tune", "--space", "space.yaml", "--trials", "1", "--storage", url, "--",
                sys.executable, "-c", "print(0.5)"]
    elif writer == "presets-tune":
        rows = ["a,b,label", *(f"{i},{i % 3},{i % 2}" for i in range(40))]
        (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
        args = ["presets", "tune", "hgb-classifier", "--data", "data.csv", "--target", "label", "--trials", "1",
                "--storage", url]
    else:
        space = mh.Space({"x": mh.Float(0.0, 1.0)})
        kb = mh.KnowledgeBase()
        configs = space.sobol(8, seed=0)
        kb.add_task(space, configs, [c["x"] for c in configs], name="t")
        kb.save(tmp_path / "knowledge")
        args = ["kb", "import", "knowledge", "--storage", url]
    result = runner.invoke(app, args)
    said = " ".join(result.output.split())
    assert result.exit_code != 0 and "another program's sqlite database" in said.lower(), said
    assert foreign.read_bytes() == before
    # A new file in the same folder is set up as before.
    assert not (tmp_path / "metahpo.db").exists()
