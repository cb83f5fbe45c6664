"""What only the SQL storage has: schema versions, URLs, SQLite locking, forks, heartbeats."""

from __future__ import annotations

import multiprocessing
import pickle
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy.exc import SQLAlchemyError

from metahpo.exceptions import (
    InvalidParameterError,
    SchemaVersionError,
    StorageError,
    StudyNotFoundError,
)
from metahpo.storage import SCHEMA_VERSION, SQLStorage, get_storage
from metahpo.testing.storage import make_study, snapshot
from metahpo.trial import TrialState


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/metahpo.db"


def test_data_survives_reopening(sqlite_url: str) -> None:
    storage = SQLStorage(sqlite_url)
    study = make_study(storage)
    trial = storage.create_trial(study.study_id, config={"x": 0.5})
    storage.report(study.study_id, trial.number, 1, 0.25)
    storage.finish_trial(study.study_id, trial.number, TrialState.COMPLETE, 0.125)
    before = snapshot(storage)
    storage.close()
    reopened = SQLStorage(sqlite_url)
    assert snapshot(reopened) == before
    assert reopened.create_trial(study.study_id).number == 1


def test_schema_version_is_recorded_on_creation(sqlite_url: str, tmp_path: Path) -> None:
    SQLStorage(sqlite_url).close()
    with sqlite3.connect(tmp_path / "metahpo.db") as connection:
        rows = connection.execute("SELECT version FROM metahpo_schema_version").fetchall()
    assert rows == [(SCHEMA_VERSION,)]


def test_a_newer_schema_is_refused_naming_both_versions(sqlite_url: str, tmp_path: Path) -> None:
    SQLStorage(sqlite_url).close()
    with sqlite3.connect(tmp_path / "metahpo.db") as connection:
        connection.execute("UPDATE metahpo_schema_version SET version = ?", (SCHEMA_VERSION + 4,))
    with pytest.raises(SchemaVersionError, match=rf"version {SCHEMA_VERSION + 4}.*version {SCHEMA_VERSION}"):
        SQLStorage(sqlite_url)


@pytest.mark.postgres
def test_a_newer_schema_is_refused_on_postgres(postgres_url: str) -> None:
    from sqlalchemy import create_engine, text

    SQLStorage(postgres_url).close()
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE metahpo_schema_version SET version = 99"))
    engine.dispose()
    with pytest.raises(SchemaVersionError, match="version 99"):
        SQLStorage(postgres_url)


def test_sqlite_runs_in_wal_mode(sqlite_url: str, tmp_path: Path) -> None:
    SQLStorage(sqlite_url).close()
    with sqlite3.connect(tmp_path / "metahpo.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_in_memory_sqlite_is_shared_by_threads() -> None:
    storage = get_storage("sqlite://")
    assert isinstance(storage, SQLStorage)
    study = make_study(storage)
    threads = [threading.Thread(target=lambda: [storage.create_trial(study.study_id)
                                               for _ in range(10)]) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [t.number for t in storage.get_trials(study.study_id)] == list(range(30))


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("mysql://user@host/db", "backend must be 'sqlite' or 'postgresql'"),
        ("not a url", "'url' parameter of SQLStorage"),
        ("sqlite://host/relative.db", "three slashes"),
        (42, "'url' parameter of SQLStorage"),
    ],
)
def test_malformed_urls_name_the_parameter(url: object, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        SQLStorage(url)  # type: ignore[arg-type]


def test_an_unreachable_sqlite_file_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"its folder '.*missing/folder' does not exist"):
        SQLStorage(f"sqlite:///{tmp_path}/missing/folder/metahpo.db")
    assert not (tmp_path / "missing").exists()
    # A folder that exists but cannot hold the file: SQLite's own error, as a StorageError.
    with pytest.raises(StorageError, match="unable to open database file") as info:
        SQLStorage(f"sqlite:///{tmp_path}")
    assert isinstance(info.value.__cause__, SQLAlchemyError)


@pytest.mark.parametrize("replace", [False, True])
def test_a_sqlite_file_deleted_or_replaced_while_open_is_not_written_to(tmp_path: Path, replace: bool) -> None:
    # Open connections would go on writing to the deleted file: every result lost at exit.
    url = f"sqlite:///{tmp_path}/metahpo.db"
    storage = SQLStorage(url)
    study = make_study(storage)
    storage.create_trial(study.study_id, config={"x": 0.5})
    for path in tmp_path.glob("metahpo.db*"):
        path.unlink()
    if replace:
        SQLStorage(url).close()
    with pytest.raises(StorageError, match=r"metahpo\.db' was deleted or replaced while this storage had it open"):
        storage.create_trial(study.study_id, config={"x": 0.25})
    if replace:
        assert SQLStorage(url).list_studies() == []  # the new file stayed as it was


def test_a_sqlite_storage_follows_its_file_across_a_change_of_folder(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    storage = SQLStorage("sqlite:///relative.db")
    study = make_study(storage)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert storage.create_trial(study.study_id, config={"x": 0.5}).number == 0


@pytest.mark.parametrize("name", ["heartbeat_interval", "grace_period"])
@pytest.mark.parametrize("value", [0, -1.0, float("nan"), float("inf"), "60", True])
def test_heartbeat_settings_are_checked(sqlite_url: str, name: str, value: object) -> None:
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of SQLStorage"):
        SQLStorage(sqlite_url, **{name: value})  # type: ignore[arg-type]


def test_grace_period_defaults_to_four_heartbeats(sqlite_url: str) -> None:
    storage = SQLStorage(sqlite_url, heartbeat_interval=7.5)
    assert storage.grace_period == 30.0
    assert SQLStorage(sqlite_url).heartbeat_interval == 5.0


def test_heartbeats_switched_off_never_fail_a_trial(sqlite_url: str) -> None:
    storage = SQLStorage(sqlite_url, heartbeat_interval=None, grace_period=0.01)
    study = make_study(storage)
    trial = storage.create_trial(study.study_id)
    storage.heartbeat(study.study_id, trial.number)
    time.sleep(0.05)
    assert storage.fail_stale_trials(study.study_id) == []
    assert storage.get_trial(study.study_id, trial.number).state is TrialState.RUNNING
    with pytest.raises(StudyNotFoundError):
        storage.fail_stale_trials(study.study_id + 100)


def test_another_process_fails_the_trials_of_a_dead_one(sqlite_url: str) -> None:
    worker = SQLStorage(sqlite_url, heartbeat_interval=0.05)
    study = make_study(worker)
    trial = worker.create_trial(study.study_id)
    worker.heartbeat(study.study_id, trial.number)
    worker.close()  # The worker dies: no more heartbeats.
    time.sleep(0.3)
    survivor = SQLStorage(sqlite_url, heartbeat_interval=0.05)
    assert survivor.fail_stale_trials(study.study_id) == [trial.number]
    record = survivor.get_trial(study.study_id, trial.number)
    assert record.state is TrialState.FAILED
    assert "heartbeat stopped" in (record.error or "")


def test_database_errors_become_storage_errors_raised_from_the_original(sqlite_url: str) -> None:
    storage = SQLStorage(sqlite_url)
    with (
        pytest.raises(StorageError, match="syntax error") as info,
        storage._db.session(write=True) as connection,
    ):
        connection.exec_driver_sql("SELEC 1")
    assert isinstance(info.value.__cause__, SQLAlchemyError)


def test_a_locked_sqlite_database_is_waited_for_and_retried(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="metahpo.storage")
    url = f"sqlite:///{tmp_path}/metahpo.db"
    # A busy timeout far shorter than the lock, so that the retry loop has to do the waiting.
    storage = SQLStorage(url, engine_kwargs={"connect_args": {"timeout": 0.01}})
    study = make_study(storage)
    locked = threading.Event()
    released_at: list[float] = []

    def hold_the_write_lock() -> None:
        connection = sqlite3.connect(tmp_path / "metahpo.db", isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        locked.set()
        time.sleep(0.5)
        released_at.append(time.monotonic())
        connection.execute("COMMIT")
        connection.close()

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    locked.wait()
    trial = storage.create_trial(study.study_id)
    done_at = time.monotonic()
    holder.join()
    assert trial.number == 0
    # It really was blocked, and got through once the lock was gone (timed against the
    # release itself, not a wall-clock wait a loaded machine could stretch or shorten).
    assert done_at >= released_at[0]
    assert any("database is locked" in record.getMessage() for record in caplog.records)


def _create_trials_in_child(storage: SQLStorage, study_id: int, count: int) -> None:
    storage.close()  # Closing first must not close the connections inherited from the parent.
    for _ in range(count):
        trial = storage.create_trial(study_id, config={"x": 1.0})
        storage.finish_trial(study_id, trial.number, TrialState.COMPLETE, 1.0)
    storage.close()  # Must close the child's connections only.


def _backend_pid(storage: SQLStorage) -> int:
    with storage._db.session(write=False) as connection:
        return int(connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one())


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_storage_made_before_fork_works_in_the_children(
    backend: str, request: pytest.FixtureRequest, sqlite_url: str
) -> None:
    url = sqlite_url if backend == "sqlite" else request.getfixturevalue("postgres_url")
    storage = SQLStorage(url)
    study = make_study(storage)
    storage.create_trial(study.study_id)  # The pool now holds a connection the children inherit.
    server_process = _backend_pid(storage) if backend == "postgres" else None
    context = multiprocessing.get_context("fork")
    children = [context.Process(target=_create_trials_in_child, args=(storage, study.study_id, 5))
                for _ in range(2)]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
    assert [child.exitcode for child in children] == [0, 0]
    storage.create_trial(study.study_id)  # The parent's connection still works...
    if server_process is not None:  # ... and is the same one, not a replacement.
        assert _backend_pid(storage) == server_process
    assert [t.number for t in storage.get_trials(study.study_id)] == list(range(12))
    assert len(storage.get_trials(study.study_id, states={TrialState.COMPLETE})) == 10


def test_pickling_sends_settings_only_and_reopens(sqlite_url: str) -> None:
    storage = SQLStorage(sqlite_url, heartbeat_interval=5.0, grace_period=30.0)
    study = make_study(storage)
    copy = pickle.loads(pickle.dumps(storage))
    assert (copy.heartbeat_interval, copy.grace_period) == (5.0, 30.0)
    assert copy.get_study(study.name) == study


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_unique_violations_map_to_their_errors(
    backend: str, request: pytest.FixtureRequest, sqlite_url: str
) -> None:
    """The database's own constraints back the checks up when two processes race."""
    from sqlalchemy import insert

    from metahpo.exceptions import DuplicatedPromotionError, DuplicatedStudyError
    from metahpo.storage._base import utcnow
    from metahpo.storage._sql_schema import studies, trials

    url = sqlite_url if backend == "sqlite" else request.getfixturevalue("postgres_url")
    storage = SQLStorage(url)
    study = make_study(storage, "taken")
    storage.create_trial(study.study_id)
    storage.create_trial(study.study_id, parent=0)
    before = snapshot(storage)
    duplicate_study = insert(studies).values(
        name="taken", direction="minimize", seed=0, space={}, optimizer={}, scheduler={},
        user_attrs={}, created_at=utcnow(), next_trial_number=0)
    duplicate_promotion = insert(trials).values(
        study_id=study.study_id, number=5, state="RUNNING", config={}, user_attrs={}, parent=0)
    for statement, error in ((duplicate_study, DuplicatedStudyError),
                             (duplicate_promotion, DuplicatedPromotionError)):
        with pytest.raises(error) as info, storage._db.session(write=True) as connection:
            connection.execute(statement)
        assert isinstance(info.value.__cause__, SQLAlchemyError)
    assert snapshot(storage) == before


def _run_forever(url: str, study_id: int) -> None:
    storage = SQLStorage(url, heartbeat_interval=0.1)
    trial = storage.create_trial(study_id, config={"x": 0.5})
    while True:  # The evaluation never ends; the heartbeat goes on until the process is killed.
        storage.heartbeat(study_id, trial.number)
        time.sleep(0.1)


def test_a_killed_worker_s_trial_is_failed_once_its_heartbeat_stops(sqlite_url: str) -> None:
    # A generous grace period: a loaded machine may delay a beat by several intervals.
    storage = SQLStorage(sqlite_url, heartbeat_interval=0.1, grace_period=1.0)
    study = make_study(storage)
    worker = multiprocessing.get_context("fork").Process(
        target=_run_forever, args=(sqlite_url, study.study_id))
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while not storage.get_trials(study.study_id) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.5)  # Longer than the grace period, bridged by heartbeats.
        assert storage.fail_stale_trials(study.study_id) == []
    finally:
        worker.kill()
        worker.join()
    time.sleep(1.2)
    assert storage.fail_stale_trials(study.study_id) == [0]
    assert storage.get_trial(study.study_id, 0).state is TrialState.FAILED


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_stale_failure_told_late_as_failed_changes_both_fingerprints(
    backend: str, request: pytest.FixtureRequest, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A trial failed for a stopped heartbeat, then told FAILED by its own process, whose
    clock is behind: the study's FAILED count and latest end stay as they were, its error
    changes, and the fingerprints with it (a page showing the stale error is read again)."""
    from datetime import timedelta

    from metahpo.storage import _sql, is_stale_failure, storage_fingerprint, study_fingerprint

    url = sqlite_url if backend == "sqlite" else request.getfixturevalue("postgres_url")
    storage = SQLStorage(url, heartbeat_interval=1.0, grace_period=1.0)
    study = make_study(storage)
    dying = storage.create_trial(study.study_id, config={"x": 0.5})
    storage.heartbeat(study.study_id, dying.number)
    now = _sql.utcnow()
    monkeypatch.setattr(_sql, "utcnow", lambda: now + timedelta(hours=1))  # long past the grace period
    assert storage.fail_stale_trials(study.study_id) == [dying.number]
    broken = storage.create_trial(study.study_id, config={"x": 0.25})
    monkeypatch.setattr(_sql, "utcnow", lambda: now + timedelta(hours=2))
    storage.finish_trial(study.study_id, broken.number, TrialState.FAILED, error="broken")
    before = study_fingerprint(storage, study.study_id), storage_fingerprint(storage)
    monkeypatch.setattr(_sql, "utcnow", lambda: now)  # the dying trial's process, its clock behind
    told = storage.finish_trial(study.study_id, dying.number, TrialState.FAILED, error="CUDA out of memory")
    assert told.error == "CUDA out of memory" and not is_stale_failure(told)
    assert told.finished_at is not None
    assert told.finished_at < storage.get_trial(study.study_id, broken.number).finished_at  # type: ignore[operator]
    after = study_fingerprint(storage, study.study_id), storage_fingerprint(storage)
    unchanged = [what for what, was, now in zip(("study", "storage"), before, after, strict=True) if was == now]
    assert unchanged == [], f"these fingerprints did not change: {unchanged}"
