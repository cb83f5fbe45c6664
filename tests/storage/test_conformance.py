"""Every storage backend passes the same conformance suite (metahpo.testing.storage)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from metahpo.storage import InMemoryArtefactStore, InMemoryStorage, SQLStorage, Storage
from metahpo.testing.storage import STORAGE_CHECKS, check_storage

# Short heartbeats so that the stale-trial check waits about a second and a half.
HEARTBEAT = {"heartbeat_interval": 0.5, "grace_period": 1.0}


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def make_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Storage]]:
    opened: list[Storage] = []

    def make() -> Storage:
        if request.param == "memory":
            storage: Storage = InMemoryStorage()
        elif request.param == "sqlite":
            storage = SQLStorage(f"sqlite:///{tmp_path}/{len(opened)}.db", **HEARTBEAT)
        else:
            storage = SQLStorage(request.getfixturevalue("postgres_url"), **HEARTBEAT)
        opened.append(storage)
        return storage

    yield make
    for storage in opened:
        storage.close()


@pytest.mark.parametrize("check", STORAGE_CHECKS, ids=lambda check: check.__name__)
def test_storage_conformance(make_storage: Callable[[], Storage], check: Callable[[Storage], None]) -> None:
    check(make_storage())


def test_check_storage_runs_every_check_on_fresh_storages() -> None:
    made: list[Storage] = []

    def make() -> Storage:
        made.append(InMemoryStorage())
        return made[-1]

    check_storage(make)
    assert len(made) == len(STORAGE_CHECKS)


class _ForgetsPromotions(InMemoryStorage):
    """A broken backend: it lets a parent be promoted twice."""

    def create_trial(self, study_id: int, **kwargs: object) -> object:  # type: ignore[override]
        parent = kwargs.pop("parent", None)
        trial = super().create_trial(study_id, **kwargs).evolve(parent=parent)  # type: ignore[arg-type]
        self._trials[study_id][trial.number] = trial
        return trial


def test_the_suite_catches_a_broken_backend() -> None:
    from metahpo.testing.storage import check_promotions_are_unique

    with pytest.raises(AssertionError, match="DuplicatedPromotionError"):
        check_promotions_are_unique(_ForgetsPromotions())


class _OverwritingArtefacts(InMemoryArtefactStore):
    """A broken artefact store: every save of a key overwrites version 1."""

    def save(self, key: str, data: bytes, info: object = None) -> int:  # type: ignore[override]
        self._records.pop(key, None)
        return super().save(key, data, info)  # type: ignore[arg-type]


class _AnyDataArtefacts(InMemoryArtefactStore):
    """A broken artefact store: it stores whatever it is given."""

    def save(self, key: str, data: object, info: object = None) -> int:  # type: ignore[override]
        return super().save(key, data if isinstance(data, bytes) else b"?", info)  # type: ignore[arg-type]


def _with_artefacts(store: InMemoryArtefactStore) -> InMemoryStorage:
    storage = InMemoryStorage()
    storage.artefacts = store
    return storage


def test_the_suite_catches_broken_meta_model_versions() -> None:
    from metahpo.testing.storage import check_meta_model_bad_input, check_meta_model_versions

    with pytest.raises(AssertionError, match=r"three saves got versions \[1, 1, 1\]"):
        check_meta_model_versions(_with_artefacts(_OverwritingArtefacts()))
    with pytest.raises(AssertionError, match="text data: expected InvalidParameterError"):
        check_meta_model_bad_input(_with_artefacts(_AnyDataArtefacts()))


class _TakesEntriesTwice(InMemoryStorage):
    """A broken backend: it forgets which enqueued configs were taken before each take."""

    def create_trial(self, study_id: int, **kwargs: Any) -> Any:  # type: ignore[override]
        if kwargs.get("enqueued") is not None:
            record = self._study_by_id(study_id)
            queue = [{k: v for k, v in entry.items() if k != "trial"}
                     for entry in record.user_attrs["enqueued_configs"]]
            self._studies[record.name] = replace(
                record, user_attrs={**record.user_attrs, "enqueued_configs": queue})
        return super().create_trial(study_id, **kwargs)


def test_the_suite_catches_a_backend_that_takes_an_entry_twice() -> None:
    from metahpo.testing.storage import check_enqueued_configs

    with pytest.raises(AssertionError, match="EnqueuedConfigTakenError"):
        check_enqueued_configs(_TakesEntriesTwice())


class _FingerprintOfStudiesOnly(InMemoryStorage):
    """A broken backend: its fingerprint sees studies come and go, but no trial."""

    def fingerprint(self) -> str:
        return repr([(s.study_id, s.name, s.user_attrs) for s in self.list_studies()])


def test_the_suite_catches_a_fingerprint_blind_to_trials() -> None:
    from metahpo.testing.storage import check_fingerprint

    with pytest.raises(AssertionError, match="did not change when a trial was created"):
        check_fingerprint(_FingerprintOfStudiesOnly())


def test_a_storage_without_a_fingerprint_passes_its_checks() -> None:
    from metahpo.testing.storage import check_fingerprint, check_study_fingerprint

    # fingerprint() and study_fingerprint() are optional: nothing to check, and nothing is written.
    storage = _StorageWithoutFingerprint()
    check_fingerprint(storage)  # type: ignore[arg-type]
    check_study_fingerprint(storage)  # type: ignore[arg-type]
    assert storage.list_studies() == []


class _FingerprintsOfNone(InMemoryStorage):
    """A storage of one's own whose fingerprints are ``None``: it has none to give."""

    def fingerprint(self) -> None:  # type: ignore[override]
        return None

    def study_fingerprint(self, study_id: int) -> None:  # type: ignore[override]
        return None


def test_a_fingerprint_of_none_is_no_fingerprint() -> None:
    from metahpo.storage import storage_fingerprint, study_fingerprint
    from metahpo.testing.storage import check_fingerprint, check_study_fingerprint, make_study

    # Not the text "None", which would never change: its readers read it whole.
    storage = _FingerprintsOfNone()
    study = make_study(storage)
    assert storage_fingerprint(storage) is None
    assert study_fingerprint(storage, study.study_id) is None
    check_fingerprint(_FingerprintsOfNone())
    check_study_fingerprint(_FingerprintsOfNone())


class _FingerprintsOfNoneWhileEmpty(InMemoryStorage):
    """Fingerprints of None while nothing is stored, then one that never changes."""

    def fingerprint(self) -> str | None:
        return None if not self.list_studies() else "frozen"

    def study_fingerprint(self, study_id: int) -> str | None:
        return None if not self.get_trials(study_id) else "frozen"


def test_a_fingerprint_of_none_that_later_appears_is_refused() -> None:
    from metahpo.testing.storage import check_fingerprint, check_study_fingerprint

    # Its readers would read it whole while empty, then trust "frozen" for ever.
    with pytest.raises(AssertionError, match="fingerprint\\(\\) was None, then 'frozen'"):
        check_fingerprint(_FingerprintsOfNoneWhileEmpty())
    with pytest.raises(AssertionError, match="study_fingerprint\\(\\) was None, then 'frozen'"):
        check_study_fingerprint(_FingerprintsOfNoneWhileEmpty())


class _StorageWithoutFingerprint:
    """A storage class written before the protocol had fingerprint() and study_fingerprint()."""

    def __init__(self) -> None:
        self._inner = InMemoryStorage()

    def __getattr__(self, name: str) -> Any:
        if name in ("fingerprint", "study_fingerprint"):
            raise AttributeError(name)
        return getattr(self._inner, name)


class _StudyFingerprintOfStatesOnly(InMemoryStorage):
    """A broken backend: its study fingerprint sees trials come and end, but no config,
    attribute or report of a running trial."""

    def study_fingerprint(self, study_id: int) -> str:
        states = [t.state.value for t in self.get_trials(study_id)]
        return repr((study_id, self._study_by_id(study_id).user_attrs, states))


class _StudyFingerprintOfTheWholeStorage(InMemoryStorage):
    """A broken backend: its study fingerprint changes with any write, to any study."""

    def study_fingerprint(self, study_id: int) -> str:
        self._study_by_id(study_id)
        return f"{study_id}:{self.fingerprint()}"


def test_the_suite_catches_a_study_fingerprint_blind_to_running_trials() -> None:
    from metahpo.testing.storage import check_study_fingerprint

    with pytest.raises(AssertionError, match="did not change when a reserved trial's config was set"):
        check_study_fingerprint(_StudyFingerprintOfStatesOnly())


def test_the_suite_catches_a_study_fingerprint_that_other_studies_change() -> None:
    from metahpo.testing.storage import check_study_fingerprint

    with pytest.raises(AssertionError, match="writing to another study changed"):
        check_study_fingerprint(_StudyFingerprintOfTheWholeStorage())
