"""Conformance checks of a storage's versioned meta-models (part of ``STORAGE_CHECKS``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import timezone
from typing import Any

from metahpo.exceptions import InvalidParameterError
from metahpo.storage import ArtefactStore, Storage, artefacts_of
from metahpo.testing._helpers import _check, _in_threads, _NotJSON, _raises, make_study, snapshot

__all__ = [
    "check_meta_model_bad_input",
    "check_meta_model_round_trip",
    "check_meta_model_versions",
    "check_meta_model_versions_across_threads",
    "meta_snapshot",
]


def _artefacts(storage: Storage) -> ArtefactStore:
    """The artefact store the storage offers (the checks below need one)."""
    store = artefacts_of(storage)
    _check(store is not None, f"{storage!r} offers no ArtefactStore as its 'artefacts' attribute")
    assert store is not None
    return store


def meta_snapshot(storage: Storage, keys: Iterable[str]) -> list[tuple[str, list[Any]]]:
    """Every stored version of each of ``keys``, comparable with ``==`` to a later one."""
    return [
        (key, [_artefacts(storage).load(key, v) for v in _artefacts(storage).versions(key)])
        for key in keys
    ]


def _utc(moment: Any) -> bool:
    return moment is not None and moment.utcoffset() == timezone.utc.utcoffset(None)


def check_meta_model_round_trip(storage: Storage) -> None:
    """Saved bytes and info come back exactly; unknown keys and versions give None and []."""
    _check(_artefacts(storage).versions("surrogate") == [], "a new storage lists meta-model versions")
    _check(_artefacts(storage).load("surrogate") is None, "a new storage loads a meta-model")
    data = bytes(range(256)) * 4096  # Every byte value, NUL included; 1 MiB.
    info = {"n_features": 3, "tasks": ["a", "b"], "nested": {"z": 1.5, "a": None}}
    version = _artefacts(storage).save("surrogate", data, info)
    _check(version == 1, f"the first version of a key must be 1, got {version!r}")
    for loaded in (_artefacts(storage).load("surrogate"), _artefacts(storage).load("surrogate", 1)):
        _check(loaded is not None and loaded.key == "surrogate" and loaded.version == 1,
               f"load_meta_model returned {loaded!r}")
        assert loaded is not None
        _check(isinstance(loaded.data, bytes) and loaded.data == data,
               "the saved bytes came back changed")
        _check(dict(loaded.info) == info and list(loaded.info["nested"]) == ["z", "a"],
               f"info came back as {loaded.info!r}")
        _check(_utc(loaded.created_at), f"created_at must be aware UTC, got {loaded.created_at!r}")
    mutable = _artefacts(storage).load("surrogate")
    _check(mutable is not None, "the saved meta-model is gone")
    assert mutable is not None  # For type checkers; _check raised already.
    mutable.info["tasks"].append("c")
    again = _artefacts(storage).load("surrogate")
    _check(again is not None and again.info["tasks"] == ["a", "b"],
           "changing a returned record's info changed the storage")
    _check(_artefacts(storage).load("surrogate", 2) is None, "a version never saved was loaded")
    _check(_artefacts(storage).load("surrogate", 2**40) is None, "a huge version was loaded")
    _check(_artefacts(storage).load("other") is None and _artefacts(storage).versions("other") == [],
           "an unknown key has a meta-model")
    _check(_artefacts(storage).save("other", bytearray(b"\x00\x01")) == 1,  # type: ignore[arg-type]
           "each key counts its versions from 1")
    other = _artefacts(storage).load("other")
    _check(other is not None and other.data == b"\x00\x01" and isinstance(other.data, bytes)
           and dict(other.info) == {}, f"bytearray data without info came back as {other!r}")
    _check(_artefacts(storage).versions("surrogate") == [1], "saving one key changed another")
    study = make_study(storage)  # Meta-models and studies live side by side.
    _check(storage.get_trials(study.study_id) == [] and _artefacts(storage).versions("study") == [],
           "meta-models and studies mix")


def check_meta_model_versions(storage: Storage) -> None:
    """Versions count 1, 2, 3 per key; ``load_meta_model`` without a version is the newest."""
    saved = [_artefacts(storage).save("k", f"model {i}".encode(), {"i": i}) for i in range(3)]
    _check(saved == [1, 2, 3], f"three saves got versions {saved}")
    _check(_artefacts(storage).versions("k") == [1, 2, 3],
           f"meta_model_versions gave {_artefacts(storage).versions('k')}")
    latest = _artefacts(storage).load("k")
    _check(latest is not None and latest.version == 3 and latest.data == b"model 2"
           and dict(latest.info) == {"i": 2}, f"the latest version is {latest!r}")
    for version in (1, 2, 3):
        record = _artefacts(storage).load("k", version)
        _check(record is not None and record.data == f"model {version - 1}".encode(),
               f"version {version} came back as {record!r}")
    first, last = _artefacts(storage).load("k", 1), _artefacts(storage).load("k", 3)
    _check(first is not None and last is not None and first.created_at is not None
           and last.created_at is not None and last.created_at >= first.created_at,
           "a later version was created earlier")
    _check(_artefacts(storage).save("k2", b"x") == 1 and _artefacts(storage).save("k", b"y") == 4,
           "keys must number their versions independently")


def check_meta_model_versions_across_threads(storage: Storage) -> None:
    """Threads saving one key get distinct, gap-free versions, each holding its own bytes."""
    got: dict[int, bytes] = {}
    lock = threading.Lock()

    def work(thread: int) -> None:
        for index in range(5):
            data = f"thread {thread} save {index}".encode()
            version = _artefacts(storage).save("shared", data, {"thread": thread})
            with lock:
                if version in got:
                    raise AssertionError(f"version {version} was handed out twice")
                got[version] = data

    _in_threads(work, 4)
    _check(sorted(got) == list(range(1, 21)), f"4 threads x 5 saves got versions {sorted(got)}")
    _check(_artefacts(storage).versions("shared") == list(range(1, 21)),
           f"stored versions: {_artefacts(storage).versions('shared')}")
    for version, data in got.items():
        record = _artefacts(storage).load("shared", version)
        _check(record is not None and record.data == data,
               f"version {version} holds bytes another save wrote")


def check_meta_model_bad_input(storage: Storage) -> None:
    """Bad keys, data, info and versions raise InvalidParameterError and store nothing."""
    _artefacts(storage).save("k", b"kept", {"a": 1})
    study = make_study(storage)
    storage.create_trial(study.study_id, config={"x": 0.5})
    before, meta_before = snapshot(storage), meta_snapshot(storage, ["k"])
    bad_calls: list[tuple[str, Callable[[], Any]]] = [
        ("empty key", lambda: _artefacts(storage).save("", b"x")),
        ("blank key", lambda: _artefacts(storage).save("   ", b"x")),
        ("key too long", lambda: _artefacts(storage).save("k" * 10_000, b"x")),
        ("key not a string", lambda: _artefacts(storage).save(42, b"x")),  # type: ignore[arg-type]
        ("NUL in key", lambda: _artefacts(storage).save("a\x00b", b"x")),
        ("lone surrogate in key", lambda: _artefacts(storage).save("a\ud800", b"x")),
        ("text data", lambda: _artefacts(storage).save("k", "not bytes")),  # type: ignore[arg-type]
        ("no data", lambda: _artefacts(storage).save("k", None)),  # type: ignore[arg-type]
        ("empty data", lambda: _artefacts(storage).save("k", b"")),
        ("list data", lambda: _artefacts(storage).save("k", [1, 2])),  # type: ignore[arg-type]
        ("NaN in info", lambda: _artefacts(storage).save("k", b"x", {"loss": float("nan")})),
        ("object in info", lambda: _artefacts(storage).save("k", b"x", {"o": _NotJSON()})),
        ("info not a mapping", lambda: _artefacts(storage).save("k", b"x", [1])),  # type: ignore[arg-type]
        ("load: empty key", lambda: _artefacts(storage).load("")),
        ("load: key not a string", lambda: _artefacts(storage).load(None)),  # type: ignore[arg-type]
        ("versions: key too long", lambda: _artefacts(storage).versions("k" * 10_000)),
    ]
    for bad in (0, -1, 1.5, "1", True):
        bad_calls.append((f"load: version {bad!r}",
                          lambda bad=bad: _artefacts(storage).load("k", bad)))  # type: ignore[misc]
    for what, call in bad_calls:
        with _raises(InvalidParameterError, what):
            call()
        _check(snapshot(storage) == before and meta_snapshot(storage, ["k"]) == meta_before,
               f"refused input ({what}) changed the storage")
    _check(_artefacts(storage).save("k", b"next") == 2, "a refused save left a gap in the versions")


