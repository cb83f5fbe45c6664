"""What create_study and load_study refuse before they open a storage, and how they say it."""

from __future__ import annotations

import re

import pytest

import metahpo as mh
from metahpo.exceptions import InvalidParameterError, StudyNotFoundError
from metahpo.knowledge import check_sources

SPACE = mh.Space({"x": mh.Float(0.0, 1.0), "n": mh.Int(1, 5)})


def _bad_arguments(tmp_path):
    """Arguments create_study refuses, each with the start of its message."""
    no_manifest = tmp_path / "not-knowledge"
    no_manifest.mkdir()
    return {
        "knowledge-int": ({"knowledge": 5}, "The 'knowledge' parameter must be a KnowledgeBase"),
        "knowledge-list-of-int": ({"knowledge": ["bundled:keel-hgb", 5]}, "The 'knowledge' parameter must be"),
        "unknown-bundle": ({"knowledge": "bundled:nope"}, "The 'name' parameter of bundled_knowledge"),
        "missing-directory": ({"knowledge": str(tmp_path / "no" / "such" / "dir")}, "A knowledge spec must be"),
        "missing-file-directory": ({"knowledge": f"file:{tmp_path}/gone"}, "must be a knowledge directory"),
        "directory-without-manifest": ({"knowledge": str(no_manifest)}, "must be a knowledge directory"),
        "missing-sqlite": ({"knowledge": f"sqlite:///{tmp_path}/missing.db"}, "The knowledge storage"),
        "optimizer-int": ({"optimizer": 5}, "The 'optimizer' parameter must be one of"),
        "optimizer-none": ({"optimizer": None}, "The 'optimizer' parameter must be one of"),
        "optimizer-class": ({"optimizer": mh.RandomSearch}, "Got the class RandomSearch instead"),
        "knowledge-for-random": ({"optimizer": "random", "knowledge": "bundled:keel-hgb"},
                                 "The optimizer RandomSearch does not learn from knowledge"),
        "spec-with-instance": ({"optimizer": mh.RandomSearch(), "knowledge": "bundled:keel-hgb"},
                               "an optimizer instance takes its knowledge in its constructor"),
        "preset-with-another-space": ({"preset": "hgb-classifier"},
                                      "The 'space' parameter of create_study must be omitted or be the space"),
    }


@pytest.mark.parametrize("case", [
    "knowledge-int", "knowledge-list-of-int", "unknown-bundle", "missing-directory",
    "missing-file-directory", "directory-without-manifest", "missing-sqlite", "optimizer-int",
    "optimizer-none", "optimizer-class", "knowledge-for-random", "spec-with-instance",
    "preset-with-another-space",
])
def test_a_bad_argument_is_refused_before_a_database_file_is_created(tmp_path, case):
    arguments, message = _bad_arguments(tmp_path)[case]
    database = tmp_path / "study.db"
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        mh.create_study(name="s", space=SPACE, storage=f"sqlite:///{database}", **arguments)
    assert not database.exists()
    assert not (tmp_path / "missing.db").exists()


@pytest.mark.parametrize("case", ["unknown-bundle", "missing-sqlite", "knowledge-for-random", "optimizer-class"])
def test_a_resume_with_a_bad_argument_is_refused_and_the_study_is_unchanged(tmp_path, case):
    arguments, message = _bad_arguments(tmp_path)[case]
    url = f"sqlite:///{tmp_path}/study.db"
    mh.create_study(name="s", space=SPACE, storage=url, optimizer="random", seed=1)
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        mh.create_study(name="s", space=SPACE, storage=url, load_if_exists=True, **arguments)
    stored = mh.load_study("s", url)
    assert stored.optimizer.name == "random" and stored.seed == 1 and stored.trials == []


def test_the_studys_own_new_database_may_be_named_as_its_knowledge(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path}/new.db"
    study = mh.create_study(name="s", space=SPACE, storage=url, knowledge=url, optimizer="portfolio", seed=0)
    assert study.optimizer.knowledge.spec == url and len(study.optimizer.knowledge) == 0
    # ... through another spelling of its path, and as $METAHPO_STORAGE.
    monkeypatch.chdir(tmp_path)
    other = mh.create_study(name="t", space=SPACE, storage="sqlite:///./other.db",
                            knowledge=["sqlite:///other.db"], optimizer="portfolio", seed=0)
    assert other.optimizer.knowledge.spec == f"sqlite:///{tmp_path}/other.db"
    monkeypatch.setenv("METAHPO_STORAGE", "sqlite:///env.db")
    assert mh.create_study(name="u", space=SPACE, knowledge="sqlite:///env.db", optimizer="portfolio").name == "u"
    # Another missing file is still refused, with the storage left uncreated.
    with pytest.raises(InvalidParameterError, match=r"The knowledge storage 'sqlite:///typo\.db' does not exist"):
        mh.create_study(name="v", space=SPACE, storage="sqlite:///fresh.db", knowledge="sqlite:///typo.db",
                        optimizer="portfolio")
    assert not (tmp_path / "fresh.db").exists() and not (tmp_path / "typo.db").exists()


def test_a_study_made_with_a_preset_and_knowledge_resumes_as_before(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    made = mh.create_study(name="p", preset="hgb-classifier", storage=url, optimizer="portfolio", seed=2)
    made.optimize(lambda t: t.config["learning_rate"], n_trials=2, show_progress=False)
    again = mh.create_study(name="p", preset="hgb-classifier", storage=url, optimizer="portfolio",
                            load_if_exists=True)
    assert again.study_id == made.study_id and len(again.trials) == 2
    assert again.optimizer.knowledge.spec == made.optimizer.knowledge.spec
    learnt = mh.create_study(name="k", space=SPACE, storage=url, optimizer="metabo", seed=0,
                             knowledge=["bundled:keel-hgb", url])
    resumed = mh.create_study(name="k", space=SPACE, storage=url, optimizer="metabo",
                              knowledge=["bundled:keel-hgb", url], load_if_exists=True)
    assert resumed.study_id == learnt.study_id
    assert resumed.optimizer.knowledge.spec == learnt.optimizer.knowledge.spec


@pytest.mark.parametrize(("given", "difference"), [
    (mh.Space({"x": mh.Float(0.0, 2.0), "n": mh.Int(1, 5)}), "whose 'x' has high 2.0 where the study's has high 1.0"),
    (mh.Space({"x": mh.Float(0.0, 1.0)}), "which lacks the study's parameters ['n']"),
    (mh.Space({"x": mh.Float(0.0, 1.0), "n": mh.Int(1, 5), "z": mh.Float(0, 1)}),
     "whose parameters ['z'] are not the study's"),
    (mh.Space({"x": mh.Float(0.0, 1.0), "n": mh.Int(1, 5, log=True)}),
     "whose 'n' has log true where the study's has log false"),
])
def test_a_resume_with_another_space_names_the_first_difference(given, difference):
    storage = mh.InMemoryStorage()
    mh.create_study(name="s", space=SPACE, storage=storage, optimizer="random")
    with pytest.raises(InvalidParameterError, match=re.escape(
            "The 'space' parameter of create_study must match the stored study 's' when "
            f"load_if_exists=True: it was created with another search space. Got a space {difference} "
            "instead.")):
        mh.create_study(name="s", space=given, storage=storage, load_if_exists=True)


@pytest.mark.parametrize("name", [None, "", "  ", 5])
def test_load_study_refuses_a_name_that_is_not_a_non_empty_string(tmp_path, name):
    with pytest.raises(InvalidParameterError, match=re.escape(
            "The 'name' parameter of load_study must be a non-empty string")):
        mh.load_study(name, f"sqlite:///{tmp_path}/none.db")
    assert not (tmp_path / "none.db").exists()


def test_a_study_not_found_lists_a_few_of_the_names_stored(tmp_path):
    url = f"sqlite:///{tmp_path}/s.db"
    mh.create_study(name="first", space=SPACE, storage=url, optimizer="random")
    with pytest.raises(StudyNotFoundError, match=re.escape(
            "No study named 'frist' in this storage. The storage holds 'first'.")):
        mh.load_study("frist", url)
    for name in "bcdefg":
        mh.create_study(name=name, space=SPACE, storage=url, optimizer="random")
    with pytest.raises(StudyNotFoundError, match=re.escape(
            "The storage holds 'first', 'b', 'c', 'd', 'e' and 2 more.")):
        mh.load_study("frist", url)
    with pytest.raises(StudyNotFoundError, match=r"The storage holds no study\.$"):
        mh.load_study("s", mh.InMemoryStorage())


def test_the_early_check_takes_a_postgresql_url_without_connecting_and_a_file_directory(tmp_path):
    unreachable = "postgresql+psycopg://nobody@nohost.invalid:1/none"
    # Only connecting tells whether a server's database exists: the check leaves it to the
    # opening, which names the unreachable server.
    assert check_sources([unreachable]) == [unreachable]
    directory = tmp_path / "kb"
    mh.bundled_knowledge("keel-hgb").save(directory)
    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = mh.create_study(name="s", space=mh.presets.get("hgb-classifier").space, storage=url,
                            optimizer="portfolio", knowledge=f"file:{directory}")
    assert study.optimizer.knowledge is not None and len(study.optimizer.knowledge) > 0


def test_a_study_not_found_is_reported_even_when_the_names_cannot_be_listed(tmp_path, monkeypatch):
    from metahpo.storage import SQLStorage

    storage = SQLStorage(f"sqlite:///{tmp_path / 'db.sqlite'}")

    def broken():
        raise RuntimeError("connection lost")

    monkeypatch.setattr(storage, "list_studies", broken)
    with pytest.raises(StudyNotFoundError, match="nope") as missing:
        mh.load_study("nope", storage)
    assert "connection lost" not in str(missing.value)


@pytest.mark.parametrize("name", [None, "", 5])
def test_delete_study_refuses_a_name_that_is_not_a_non_empty_string(tmp_path, name):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    mh.create_study(name="kept", space=SPACE, storage=url, optimizer="random")
    with pytest.raises(InvalidParameterError, match="'name' parameter of delete_study"):
        mh.delete_study(name, url)
    assert [s.name for s in mh.list_studies(url)] == ["kept"]


def test_deleting_a_study_not_stored_lists_the_names_stored(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    mh.create_study(name="kept", space=SPACE, storage=url, optimizer="random")
    with pytest.raises(StudyNotFoundError, match=re.escape("The storage holds 'kept'.")):
        mh.delete_study("nope", url)
