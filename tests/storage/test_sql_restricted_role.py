"""An older database opened by a connection that may not create tables."""

from __future__ import annotations

import logging
import sqlite3
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from metahpo.exceptions import StorageError
from metahpo.storage import SQLStorage
from metahpo.testing.storage import make_study, snapshot
from metahpo.trial import TrialState


@pytest.fixture
def restricted_role(postgres_url: str):
    """A login role with read/write rights on the schema's tables, but no CREATE on it."""
    url = make_url(postgres_url)
    schema = url.query["options"].split("search_path=")[1]
    role, password = f"metahpo_ro_{uuid.uuid4().hex[:8]}", "restricted"
    admin = create_engine(postgres_url)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'"))
        connection.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO {role}'))
        connection.execute(text(f'REVOKE CREATE ON SCHEMA "{schema}" FROM {role}'))
    try:
        yield role, url.set(username=role, password=password).render_as_string(hide_password=False), admin, schema
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP OWNED BY {role}'))
            connection.execute(text(f"DROP ROLE {role}"))
        admin.dispose()


@pytest.mark.postgres
def test_a_role_without_create_rights_opens_an_older_database(postgres_url, restricted_role, caplog):
    role, role_url, admin, schema = restricted_role
    owner = SQLStorage(postgres_url)
    study = make_study(owner)
    trial = owner.create_trial(study.study_id, config={"x": 0.5})
    owner.finish_trial(study.study_id, trial.number, TrialState.COMPLETE, 1.0)
    before = snapshot(owner)
    owner.close()
    with admin.begin() as connection:  # as written before meta-models were stored
        connection.execute(text(f'DROP TABLE "{schema}".metahpo_meta_models'))
        connection.execute(text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO {role}'))
        connection.execute(text(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA "{schema}" TO {role}'))

    with caplog.at_level(logging.WARNING, logger="metahpo.storage"):
        storage = SQLStorage(role_url)
    assert "may not create it" in caplog.text
    assert snapshot(storage) == before  # the studies open and read as they were
    assert storage.create_trial(study.study_id, config={"x": 0.25}).number == 1  # and take trials
    assert storage.meta_model_versions("k") == [] and storage.load_meta_model("k") is None
    with pytest.raises(StorageError, match=r"no metahpo_meta_models table.*CREATE rights"):
        storage.save_meta_model("k", b"model", None)
    storage.close()

    # The owner opens it once: the table appears, and nothing stored was lost.
    owner = SQLStorage(postgres_url)
    assert owner.save_meta_model("k", b"model", None) == 1
    assert [t.number for t in owner.get_trials(study.study_id)] == [0, 1]
    owner.close()


def test_a_read_only_sqlite_connection_opens_an_older_file(tmp_path, caplog):
    path = tmp_path / "metahpo.db"
    owner = SQLStorage(f"sqlite:///{path}")
    make_study(owner)
    before = snapshot(owner)
    owner.close()
    with sqlite3.connect(path) as connection:
        connection.execute("DROP TABLE metahpo_meta_models")
    with caplog.at_level(logging.WARNING, logger="metahpo.storage"):
        reader = SQLStorage(f"sqlite:///file:{path}?mode=ro&uri=true")
    assert "may not create it" in caplog.text
    assert snapshot(reader) == before and reader.meta_model_versions("k") == []
    with pytest.raises(StorageError, match="no metahpo_meta_models table"):
        reader.save_meta_model("k", b"model", None)
    reader.close()
