"""Versioned meta-models on disk and in a storage's artefacts; the knowledge says which."""

from __future__ import annotations

import doctest
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge import KnowledgeBase
from metahpo.storage import InMemoryStorage, SQLStorage
from metahpo.surrogates.meta import (
    ArtefactMetaModelStore,
    MetaModel,
    MetaModelStore,
    MetaTrainingConfig,
    TaskData,
    meta_train,
)
from metahpo.testing.storage import make_study, snapshot
from metahpo.trial import TrialState

Store = MetaModelStore | ArtefactMetaModelStore
KEY = "a1b2c3d4e5f6a1b2c3d4e5f6"


@pytest.fixture(scope="module")
def models() -> list[MetaModel]:
    """A tiny meta-trained model and two later versions of it (a few steps each)."""
    rng = np.random.default_rng(0)
    tasks = [TaskData(rng.random((24, 2)), rng.random(24), name=f"t{i}") for i in range(3)]
    config = MetaTrainingConfig(
        hidden=8, n_outputs=2, meta_steps=3, meta_batch=2, support_max=10, query=8
    )
    first = meta_train(tasks, config)
    second = meta_train(tasks[:2], replace(config, seed=1), init=first)
    third = meta_train(tasks[1:], replace(config, seed=2), init=second)
    return [first, second, third]


def _same(a: MetaModel, b: MetaModel) -> bool:
    """Equal parameters, configuration and info (safetensors bytes are not canonical:
    the order of their JSON header varies)."""
    import torch

    return (
        (a.n_features, a.config, a.info) == (b.n_features, b.config, b.info)
        and sorted(a.params) == sorted(b.params)
        and all(torch.equal(a.params[name], b.params[name]) for name in a.params)
    )


@pytest.fixture(
    params=["disk", "memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store
    if request.param == "disk":
        made = MetaModelStore(tmp_path / "meta")
    elif request.param == "memory":
        made = ArtefactMetaModelStore(InMemoryStorage().artefacts)
    elif request.param == "sqlite":
        made = ArtefactMetaModelStore(SQLStorage(f"sqlite:///{tmp_path}/metahpo.db").artefacts)
    else:
        made = ArtefactMetaModelStore(SQLStorage(request.getfixturevalue("postgres_url")).artefacts)
    with made:
        yield made


def test_versions_count_up_and_latest_is_the_newest(store: Store, models: list[MetaModel]) -> None:
    assert store.versions(KEY) == [] and store.latest(KEY) is None
    assert [store.save(KEY, model) for model in models] == [1, 2, 3]
    assert store.versions(KEY) == [1, 2, 3]
    latest = store.latest(KEY)
    assert latest is not None and _same(latest, models[2])
    for version, model in enumerate(models, start=1):
        loaded = store.load(KEY, version)
        assert _same(loaded, model)
        assert loaded.n_features == model.n_features and loaded.config == model.config
        assert loaded.info == model.info
    assert not _same(models[0], models[1])  # The versions really differ.
    assert store.versions("f" * 24) == []
    with pytest.raises(KeyError, match="version 4"):
        store.load(KEY, 4)


def test_a_loaded_model_predicts_like_the_saved_one(store: Store, models: list[MetaModel]) -> None:
    store.save(KEY, models[0])
    loaded = store.latest(KEY)
    assert loaded is not None
    import torch

    rng = np.random.default_rng(1)
    X, y = rng.random((8, 2)), rng.random(8)
    candidates = torch.as_tensor(rng.random((5, 2)), dtype=torch.float64)
    with torch.no_grad():
        expected = models[0].surrogate(adapt_steps=2).fit(X, y).predict(candidates)
        got = loaded.surrogate(adapt_steps=2).fit(X, y).predict(candidates)
    assert torch.equal(got[0], expected[0]) and torch.equal(got[1], expected[1])


def test_storage_store_keeps_a_json_description_beside_the_bytes(models: list[MetaModel]) -> None:
    storage = InMemoryStorage()
    store = ArtefactMetaModelStore(storage.artefacts)
    store.save(KEY, models[0])
    info = store.info(KEY)
    record = storage.artefacts.load(KEY)
    assert info is not None and record is not None
    data = record.data  # The bytes as stored (safetensors headers are not canonical).
    assert info["sha256"] == hashlib.sha256(data).hexdigest() and info["bytes"] == len(data)
    assert info["n_features"] == models[0].n_features
    assert info["config"] == models[0].config.to_dict()
    assert info["model"]["task_names"] == ["t0", "t1", "t2"]
    assert store.info(KEY, 2) is None and store.info("other") is None


def test_a_model_whose_info_is_not_strict_json_is_still_stored(models: list[MetaModel]) -> None:
    store = ArtefactMetaModelStore(InMemoryStorage().artefacts)
    odd = replace(models[0], info={**models[0].info, "loss_last": float("nan")})
    assert store.save(KEY, odd) == 1
    loaded = store.latest(KEY)
    assert loaded is not None and np.isnan(loaded.info["loss_last"])  # The bytes keep it.
    assert store.info(KEY)["model"] is None  # type: ignore[index]


def _knowledge_store(spec: object) -> ArtefactMetaModelStore | None:
    artefacts = KnowledgeBase.open(spec).artefacts()  # type: ignore[arg-type]
    return None if artefacts is None else ArtefactMetaModelStore(artefacts)


def test_two_users_of_one_database_share_the_versions(
    tmp_path: Path, models: list[MetaModel]
) -> None:
    url = f"sqlite:///{tmp_path}/team.db"
    SQLStorage(url)  # the team's database (knowledge is read from existing ones only)
    alice, bob = _knowledge_store(url), _knowledge_store(["bundled:keel-hgb", url])
    assert alice is not None and bob is not None
    assert alice.save(KEY, models[0]) == 1
    assert bob.versions(KEY) == [1]
    assert bob.save(KEY, models[1]) == 2  # Bob's continual update...
    latest = alice.latest(KEY)  # ...is what Alice's next study starts from.
    assert latest is not None and _same(latest, models[1])


def test_the_database_keeps_its_studies(tmp_path: Path, models: list[MetaModel]) -> None:
    url = f"sqlite:///{tmp_path}/metahpo.db"
    storage = SQLStorage(url)
    study = make_study(storage)
    trial = storage.create_trial(study.study_id, config={"x": 0.5})
    storage.finish_trial(study.study_id, trial.number, TrialState.COMPLETE, 0.25)
    before = snapshot(storage)
    with ArtefactMetaModelStore(storage.artefacts) as store:
        store.save(KEY, models[0])
    assert snapshot(storage) == before
    assert storage.artefacts.versions(KEY) == [1]  # A storage it was given stays open.
    storage.close()


@pytest.mark.parametrize(
    ("spec", "shared"),
    [("bundled:keel-hgb", False), (["bundled:keel-hgb"], False), ("sqlite://", True),
     (["bundled:keel-hgb", "sqlite://"], True)],
)
def test_only_knowledge_from_a_storage_shares_meta_models(spec: object, shared: bool) -> None:
    assert (_knowledge_store(spec) is not None) is shared
    assert KnowledgeBase().artefacts() is None  # Built in memory: nowhere to share.


def test_the_first_storage_url_of_the_knowledge_keeps_its_meta_models(
    tmp_path: Path, models: list[MetaModel]
) -> None:
    first, second = f"sqlite:///{tmp_path}/first.db", f"sqlite:///{tmp_path}/second.db"
    SQLStorage(first), SQLStorage(second)
    store = _knowledge_store(["bundled:keel-hgb", first, second])
    assert store is not None
    store.save(KEY, models[0])
    assert SQLStorage(first).artefacts.versions(KEY) == [1]
    assert SQLStorage(second).artefacts.versions(KEY) == []


def test_the_folder_store_defaults_to_metahpo_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("METAHPO_HOME", str(tmp_path))
    assert MetaModelStore().root == tmp_path / "meta"


@pytest.mark.postgres
def test_knowledge_from_postgres_shares_meta_models(postgres_url: str, models: list[MetaModel]) -> None:
    store = _knowledge_store(postgres_url)
    assert store is not None and store.save(KEY, models[0]) >= 1
    again = _knowledge_store(["bundled:keel-hgb", postgres_url])
    latest = again.latest(KEY) if again is not None else None
    assert latest is not None and _same(latest, models[0])


BadCall = Callable[[Store], object]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda s: s.versions(""), "'key' parameter"),
        (lambda s: s.latest(42), "'key' parameter"),  # type: ignore[arg-type]
        (lambda s: s.save("", None), "'key' parameter|'model' parameter"),  # type: ignore[arg-type]
        (lambda s: s.save(KEY, b"raw bytes"), "'model' parameter"),  # type: ignore[arg-type]
        (lambda s: s.load(KEY, None), "'version' parameter"),  # type: ignore[arg-type]
        (lambda s: s.load(KEY, 0), "'version' parameter"),
    ],
)
def test_storage_store_refuses_bad_input(call: BadCall, match: str) -> None:
    storage = InMemoryStorage()
    with pytest.raises(InvalidParameterError, match=match):
        call(ArtefactMetaModelStore(storage.artefacts))
    assert storage.artefacts.versions(KEY) == []


def test_bad_specs_and_storages_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="knowledge spec"):
        KnowledgeBase.open(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'artefacts' parameter of ArtefactMetaModelStore"):
        ArtefactMetaModelStore(None)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'storage' parameter"):
        KnowledgeBase.open("sqlite:no-slashes.db")


@pytest.mark.parametrize("key", ["", "../escape", "a/b", "..", "a\\b", 7])
def test_disk_store_keys_cannot_leave_its_folder(
    key: object, tmp_path: Path, models: list[MetaModel]
) -> None:
    store = MetaModelStore(tmp_path / "meta")
    with pytest.raises(InvalidParameterError, match="'key' parameter of MetaModelStore"):
        store.save(key, models[0])  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("version", [None, 0, -1, "1", 1.0, True, "../v1"])
def test_load_refuses_a_version_that_is_not_a_positive_int(
    version: object, tmp_path: Path, models: list[MetaModel]
) -> None:
    disk = MetaModelStore(tmp_path / "meta")
    disk.save(KEY, models[0])
    with pytest.raises(InvalidParameterError, match=r"'version' parameter of MetaModelStore\.load"):
        disk.load(KEY, version)  # type: ignore[arg-type]
    stored = ArtefactMetaModelStore(InMemoryStorage().artefacts)
    stored.save(KEY, models[0])
    with pytest.raises(
        InvalidParameterError, match=r"'version' parameter of ArtefactMetaModelStore\.load"
    ):
        stored.load(KEY, version)  # type: ignore[arg-type]
    assert _same(disk.load(KEY, np.int64(1)), models[0])  # NumPy integers are ints.


def test_disk_store_never_overwrites_a_version_saved_meanwhile(
    tmp_path: Path, models: list[MetaModel], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    store = MetaModelStore(tmp_path / "meta")
    other = models[1].to_bytes()
    link, rename = os.link, os.replace

    def another_writer_first() -> None:
        # Another thread or process saves version 1 after this save listed the versions.
        target = tmp_path / "meta" / KEY / "v1.safetensors"
        if not target.exists():
            target.write_bytes(other)

    def late_link(source: object, target: object) -> None:
        another_writer_first()
        link(source, target)  # type: ignore[arg-type]

    def late_replace(source: object, target: object) -> None:
        another_writer_first()
        rename(source, target)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "link", late_link)
    monkeypatch.setattr(os, "replace", late_replace)
    assert store.save(KEY, models[0]) == 2
    monkeypatch.undo()
    assert store.versions(KEY) == [1, 2]
    assert _same(store.load(KEY, 1), models[1]) and _same(store.load(KEY, 2), models[0])
    assert sorted(p.name for p in (tmp_path / "meta" / KEY).iterdir()) == [
        "v1.safetensors",
        "v2.safetensors",
    ]  # No temporary file is left behind.


def test_disk_store_threads_get_distinct_versions(tmp_path: Path, models: list[MetaModel]) -> None:
    import threading

    store = MetaModelStore(tmp_path / "meta")
    start = threading.Barrier(6)
    got: list[tuple[int, int]] = []

    def work(thread: int) -> None:
        start.wait()
        for _ in range(8):
            got.append((store.save(KEY, models[thread % 3]), thread % 3))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(version for version, _ in got) == list(range(1, 49))
    assert store.versions(KEY) == list(range(1, 49))
    for version, index in got:  # Each version holds the model its save wrote.
        assert _same(store.load(KEY, version), models[index])


def test_docstring_examples() -> None:
    import metahpo.surrogates.meta._store as module

    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
