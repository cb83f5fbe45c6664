"""Meta-models in SQL storage: older databases gain the table; processes share versions."""

from __future__ import annotations

import multiprocessing
import sqlite3
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from metahpo.storage import SCHEMA_VERSION, SQLStorage
from metahpo.testing.storage import make_study, snapshot
from metahpo.trial import TrialState

PROCESSES = 4
SAVES_PER_PROCESS = 5
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path}/metahpo.db"
    return str(request.getfixturevalue("postgres_url"))


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _drop_meta_models_table(url: str) -> None:
    """Turn the database into one written before meta-models were stored."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE metahpo_meta_models"))
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_older_database_gains_the_table_with_its_trials_intact(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = _url(backend, request, tmp_path)
    storage = SQLStorage(url)
    study = make_study(storage)
    for index in range(3):
        trial = storage.create_trial(study.study_id, config={"x": index / 4})
        storage.report(study.study_id, trial.number, 1, 0.5)
        storage.finish_trial(study.study_id, trial.number, TrialState.COMPLETE, float(index))
    storage.create_trial(study.study_id, config={"x": 0.9})  # Still RUNNING.
    before = snapshot(storage)
    storage.close()
    _drop_meta_models_table(url)
    assert "metahpo_meta_models" not in _tables(url)

    reopened = SQLStorage(url)
    assert "metahpo_meta_models" in _tables(url)
    assert snapshot(reopened) == before
    assert reopened.artefacts.versions("k") == []
    assert reopened.artefacts.save("k", b"\x00model", {"n": 1}) == 1
    assert reopened.create_trial(study.study_id).number == 4  # The trial counter carried on.
    reopened.close()
    again = SQLStorage(url)  # Opening it once more changes nothing.
    record = again.artefacts.load("k")
    assert record is not None and record.data == b"\x00model" and record.info == {"n": 1}
    again.close()


def test_an_older_sqlite_file_keeps_its_schema_version(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/metahpo.db"
    SQLStorage(url).close()
    with sqlite3.connect(tmp_path / "metahpo.db") as connection:
        connection.execute("DROP TABLE metahpo_meta_models")
    SQLStorage(url).close()
    with sqlite3.connect(tmp_path / "metahpo.db") as connection:
        versions = connection.execute("SELECT version FROM metahpo_schema_version").fetchall()
        columns = [row[1] for row in connection.execute("PRAGMA table_info(metahpo_meta_models)")]
    assert versions == [(SCHEMA_VERSION,)]  # Adding a table needs no new schema version.
    assert columns == ["id", "key", "version", "data", "info", "created_at"]


def _save_many(url: str, worker: int, start: object) -> list[int]:
    storage = SQLStorage(url)
    start.wait()  # type: ignore[attr-defined]  # All workers contend from the same moment.
    versions = [
        storage.artefacts.save("shared", f"worker {worker} save {i}".encode(), {"worker": worker})
        for i in range(SAVES_PER_PROCESS)
    ]
    storage.close()
    return versions


@pytest.mark.parametrize("backend", BACKENDS)
def test_processes_get_distinct_gap_free_versions(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = _url(backend, request, tmp_path)
    storage = SQLStorage(url)
    context = multiprocessing.get_context("fork")
    start = context.Manager().Event()
    with ProcessPoolExecutor(PROCESSES, mp_context=context) as pool:
        futures = [pool.submit(_save_many, url, worker, start) for worker in range(PROCESSES)]
        start.set()
        per_worker = [future.result(timeout=120) for future in futures]
    total = PROCESSES * SAVES_PER_PROCESS
    assert sorted(v for versions in per_worker for v in versions) == list(range(1, total + 1))
    assert storage.artefacts.versions("shared") == list(range(1, total + 1))
    for worker, versions in enumerate(per_worker):
        assert versions == sorted(versions)  # One process's saves are in order.
        for index, version in enumerate(versions):
            record = storage.artefacts.load("shared", version)
            assert record is not None
            assert record.data == f"worker {worker} save {index}".encode()
            assert record.info == {"worker": worker}
    storage.close()
