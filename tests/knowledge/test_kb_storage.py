"""Knowledge bases from the finished studies of a storage, and back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import metahpo as mh
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge import KnowledgeBase, Task

SPACE = mh.Space({"x": mh.Float(0.0, 1.0), "k": mh.Int(1, 5), "c": mh.Categorical(["a", "b"])})


def _fill(url: str) -> None:
    descriptor = Task("ds", descriptor={"n_samples": 150.0, "n_classes": 3.0})
    study = mh.create_study(
        name="min", space=SPACE, storage=url, optimizer="random", seed=0, task=descriptor
    )
    study.optimize(
        lambda t: (t.config["x"] - 0.3) ** 2 + t.config["k"], n_trials=8, show_progress=False
    )
    study = mh.create_study(
        name="max", space=SPACE, storage=url, optimizer="random", seed=1, direction="maximize"
    )
    study.optimize(lambda t: t.config["x"], n_trials=6, show_progress=False)
    study = mh.create_study(name="short", space=SPACE, storage=url, optimizer="random", seed=2)
    study.optimize(lambda t: t.config["x"], n_trials=2, show_progress=False)
    study = mh.create_study(name="failing", space=SPACE, storage=url, optimizer="random", seed=3)
    for i in range(7):
        handle = study.ask()
        if i < 4:
            study.tell(handle, float(i))
        else:
            study.tell(handle, state=mh.TrialState.FAILED)


def test_from_storage_reads_finished_studies(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    _fill(url)
    kb = KnowledgeBase.from_storage(url)
    # "short" has 2 COMPLETE trials and "failing" 4: both below the default minimum of 5.
    assert kb.names == ["min", "max"]
    assert kb.spec == url
    low = kb["min"]
    assert low.n_evaluations == 8 and low.budgets is None
    assert low.descriptor == {"n_samples": 150.0, "n_classes": 3.0}
    assert low.source == f"study:min@{url}"
    stored = mh.load_study("max", storage=url)
    values = [t.value for t in stored.trials]
    np.testing.assert_allclose(kb["max"].losses, [-v for v in values])
    assert KnowledgeBase.from_storage(url, min_trials=4).names == ["min", "max", "failing"]
    assert KnowledgeBase.from_storage(url, min_trials=1, exclude=["min"]).names == [
        "max",
        "short",
        "failing",
    ]


def test_open_resolves_a_storage_url(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    _fill(url)
    kb = KnowledgeBase.open(url)
    assert kb.names == ["min", "max"] and kb.spec == url
    # The same file with its driver named: the same knowledge, also for "auto"'s default.
    with_driver = url.replace("sqlite:", "sqlite+pysqlite:")
    assert KnowledgeBase.open(with_driver).names == ["min", "max"]
    study = mh.create_study(name="new", space=mh.Space({"x": mh.Float(0, 1)}), storage=with_driver, seed=0)
    assert study.optimizer.name in ("gpbo", "metabo")


def test_knowledge_base_round_trips_through_storage(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    configs = SPACE.sample(rng, 5)
    kb = KnowledgeBase()
    kb.add_task(SPACE, configs, rng.random(5), name="plain", descriptor={"n_samples": 10.0})
    kb.add_task(
        SPACE, configs + configs, rng.random(10), budgets=[1.0] * 5 + [4.0] * 5, name="budgeted"
    )
    url = f"sqlite:///{tmp_path / 'rt.db'}"
    assert kb.to_storage(url) == ["plain", "budgeted"]
    back = KnowledgeBase.from_storage(url)
    assert back.names == kb.names
    for name in kb.names:
        a, b = kb[name].to_dict(), back[name].to_dict()
        a.pop("source"), b.pop("source")
        assert a == b
    # A second export refuses: the studies exist; nothing new is written.
    with pytest.raises(InvalidParameterError, match="studies of those names exist"):
        kb.to_storage(url)
    assert len(mh.list_studies(url)) == 2


def test_filled_in_parameters_stay_marked_through_storage(tmp_path: Path) -> None:
    # A task of a smaller space mapped onto SPACE: its "k" values are filled in, not observed.
    rng = np.random.default_rng(0)
    task = Task("mapped", space=SPACE, configs=SPACE.sample(rng, 6), losses=rng.random(6),
                missing=("k",))
    url = f"sqlite:///{tmp_path / 'm.db'}"
    KnowledgeBase([task]).to_storage(url)
    assert KnowledgeBase.from_storage(url)["mapped"].missing == ("k",)


def test_a_study_given_a_mapped_task_for_its_descriptor_is_all_observed(tmp_path: Path) -> None:
    # create_study(task=...) stores the task's dict, "missing" included: the study's own
    # values are observed, and its space may not even hold those names.
    rng = np.random.default_rng(0)
    mapped = Task("mapped", space=SPACE, configs=SPACE.sample(rng, 6), losses=rng.random(6),
                  missing=("k",), descriptor={"n_samples": 100.0})
    url = f"sqlite:///{tmp_path / 'm.db'}"
    small = mh.Space({"x": mh.Float(0.0, 1.0)})
    study = mh.create_study(name="mine", space=small, storage=url, optimizer="random", task=mapped)
    study.optimize(lambda t: t.config["x"], n_trials=6, show_progress=False)
    assert KnowledgeBase.from_storage(url)["mine"].missing == ()


def test_exclude_takes_a_list_of_names_not_a_string(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    _fill(url)
    with pytest.raises(InvalidParameterError, match=r"'exclude'.*list of study names.*\['min'\]"):
        KnowledgeBase.from_storage(url, exclude="min")
    assert "min" not in KnowledgeBase.from_storage(url, exclude=["min"]).names
    assert "min" not in KnowledgeBase.from_storage(url, exclude=(n for n in ["min"])).names


def test_storage_import_is_all_or_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    _fill(url)
    kb = KnowledgeBase()
    kb.add_task(SPACE, [{"x": 0.1, "k": 1, "c": "a"}], [0.0], name="max")
    with pytest.raises(InvalidParameterError, match="'max' is already"):
        kb.add_storage(url)
    assert kb.names == ["max"]


def test_in_memory_storage_object_has_no_spec() -> None:
    storage = mh.InMemoryStorage()
    study = mh.create_study(name="s", space=SPACE, storage=storage, optimizer="random", seed=0)
    study.optimize(lambda t: t.config["x"], n_trials=5, show_progress=False)
    kb = KnowledgeBase.from_storage(storage)
    assert kb.names == ["s"] and kb.spec is None
    assert kb["s"].source == "study:s@InMemoryStorage"


def test_password_is_masked_in_sources() -> None:
    from metahpo.knowledge._storage import storage_label

    class Fake:
        url = "postgresql+psycopg://user:secret@host/db"

    assert storage_label(Fake()) == "postgresql+psycopg://user:***@host/db"  # type: ignore[arg-type]


def test_tasks_named_alike_in_two_sources_are_told_apart(tmp_path) -> None:
    import metahpo as mh

    space = mh.Space({"x": mh.Float(0.0, 1.0)})
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    mh.storage.SQLStorage(url)  # an empty database: knowledge is read from existing ones only
    for source in ("a", "b"):
        kb = mh.KnowledgeBase()
        kb.add_task(space, [{"x": v / 5} for v in range(6)], [float(v) for v in range(6)], name="same")
        kb.save(tmp_path / source)
    kb = mh.KnowledgeBase.open([str(tmp_path / "a"), str(tmp_path / "b"), url])
    assert len(kb) == 2 and kb.names[0] == "same" and kb.names[1].startswith("same (")
    assert kb.spec == [str(tmp_path / "a"), str(tmp_path / "b"), url]
