"""An older database opened by a connection that may not create tables."""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from metahpo.exceptions import StorageError
from metahpo.storage import SQLStorage
from metahpo.testing.storage import make_study, snapshot
from metahpo.trial import TrialState


@dataclass
class RestrictedRole:
    name: str
    url: str
    admin: Engine
    schema: str


@pytest.fixture
def restricted_role(postgres_url: str) -> Iterator[RestrictedRole]:
    """A login role with read/write rights on the schema's tables, but no CREATE on it."""
    url = make_url(postgres_url)
    schema = url.query["options"].split("search_path=")[1]
    name, password = f"metahpo_ro_{uuid.uuid4().hex[:8]}", "restricted"
    admin = create_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'"))
        connection.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO {name}'))
        connection.execute(text(f'REVOKE CREATE ON SCHEMA "{schema}" FROM {name}'))
    role_url = url.set(username=name, password=password).render_as_string(hide_password=False)
    try:
        yield RestrictedRole(name, role_url, admin, schema)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP OWNED BY {name}"))
            connection.execute(text(f"DROP ROLE {name}"))
        admin.dispose()


@pytest.mark.postgres
def test_a_role_without_create_rights_opens_an_older_database(
    postgres_url: str, restricted_role: RestrictedRole, caplog: pytest.LogCaptureFixture
) -> None:
    role = restricted_role
    owner = SQLStorage(postgres_url)
    study = make_study(owner)
    trial = owner.create_trial(study.study_id, config={"x": 0.5})
    owner.finish_trial(study.study_id, trial.number, TrialState.COMPLETE, 1.0)
    before = snapshot(owner)
    owner.close()
    with role.admin.begin() as connection:  # as written before meta-models were stored
        connection.execute(text(f'DROP TABLE "{role.schema}".metahpo_meta_models'))
        connection.execute(
            text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{role.schema}" TO {role.name}')
        )
        connection.execute(text(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA "{role.schema}" TO {role.name}'))

    with caplog.at_level(logging.WARNING, logger="metahpo.storage"):
        storage = SQLStorage(role.url)
    assert "may not create it" in caplog.text
    assert snapshot(storage) == before  # the studies open and read as they were
    assert storage.create_trial(study.study_id, config={"x": 0.25}).number == 1  # and take trials
    assert storage.artefacts.versions("k") == [] and storage.artefacts.load("k") is None
    with pytest.raises(StorageError, match=r"no metahpo_meta_models table.*CREATE rights"):
        storage.artefacts.save("k", b"model", None)

    # The owner opens it: the table appears, and nothing stored was lost.
    owner = SQLStorage(postgres_url)
    assert owner.artefacts.save("k", b"model", None) == 1
    assert [t.number for t in owner.get_trials(study.study_id)] == [0, 1]
    owner.close()
    with role.admin.begin() as connection:
        connection.execute(text(f'GRANT SELECT ON "{role.schema}".metahpo_meta_models TO {role.name}'))
    # The restricted storage, still open, now finds the table and its version.
    assert storage.artefacts.versions("k") == [1]
    storage.close()


def _older_file(tmp_path: Path, drop: tuple[str, ...]) -> tuple[Path, list]:
    path = tmp_path / "metahpo.db"
    owner = SQLStorage(f"sqlite:///{path}")
    study = make_study(owner)
    trial = owner.create_trial(study.study_id, config={"x": 0.5})
    owner.finish_trial(study.study_id, trial.number, TrialState.COMPLETE, 1.0)
    before = snapshot(owner)
    owner.close()
    with sqlite3.connect(path) as connection:
        for table in drop:
            connection.execute(f"DROP TABLE {table}")
    return path, before


def test_a_read_only_sqlite_connection_opens_an_older_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, before = _older_file(tmp_path, ("metahpo_meta_models",))
    with caplog.at_level(logging.WARNING, logger="metahpo.storage"):
        reader = SQLStorage(f"sqlite:///file:{path}?mode=ro&uri=true")
    assert "may not create it" in caplog.text
    assert snapshot(reader) == before and reader.artefacts.versions("k") == []
    with pytest.raises(StorageError, match="no metahpo_meta_models table"):
        reader.artefacts.save("k", b"model", None)
    writer = SQLStorage(f"sqlite:///{path}")  # a writable connection adds the table
    writer.artefacts.save("k", b"model", None)
    writer.close()
    record = reader.artefacts.load("k")  # seen without reopening
    assert record is not None and record.data == b"model"
    reader.close()


def test_a_partly_created_database_gets_every_missing_table(tmp_path: Path) -> None:
    path, before = _older_file(tmp_path, ("metahpo_meta_models", "metahpo_intermediate_values"))
    storage = SQLStorage(f"sqlite:///{path}")
    assert snapshot(storage) == before
    study_id = storage.list_studies()[0].study_id
    trial = storage.create_trial(study_id, config={"x": 0.1})
    storage.report(study_id, trial.number, 1, 0.3)  # the table it lacked is back
    assert storage.artefacts.save("k", b"model", None) == 1
    storage.close()
    # A read-only connection may not add a core table: it fails, rather than opening half a schema.
    other = tmp_path / "other"
    other.mkdir()
    lacking_trials, _ = _older_file(other, ("metahpo_trials",))
    with pytest.raises(StorageError):
        SQLStorage(f"sqlite:///file:{lacking_trials}?mode=ro&uri=true")
