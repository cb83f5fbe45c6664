"""The SQL tables of :class:`~metahpo.storage.SQLStorage` (schema version 1).

Every table name starts with ``metahpo_`` so that metahpo can share a database with
other tools (Optuna, for one, also has ``studies`` and ``trials`` tables).

Version 1 is the first schema, so there are no migrations yet; when version 2 comes,
Alembic migrations start from this file.

A table that only adds to the schema does not change its version: opening a database
creates the tables it lacks (``metahpo_meta_models`` came after the first release, so
older databases gain it when opened), and an older metahpo opening a database that has
the table simply leaves it alone. The version changes when an existing table changes.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

from metahpo.storage._checks import MAX_META_KEY_LENGTH, MAX_NAME_LENGTH

# Constraint names are matched when an IntegrityError is mapped to a metahpo error.
STUDY_NAME_CONSTRAINT = "uq_metahpo_studies_name"
TRIAL_NUMBER_CONSTRAINT = "uq_metahpo_trials_study_number"
TRIAL_PARENT_CONSTRAINT = "uq_metahpo_trials_study_parent"
META_MODEL_VERSION_CONSTRAINT = "uq_metahpo_meta_models_key_version"


class JSONText(TypeDecorator[Any]):
    """Strict JSON (no NaN) kept as text.

    Text rather than PostgreSQL's ``json`` type so that both backends return exactly
    what was written: key order, escaped ``\\u0000`` and lone surrogates included.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(value, allow_nan=False)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC, returned timezone-aware UTC on every backend."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # Naive datetimes are taken to be UTC already.
            return value
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=timezone.utc)


class Real(TypeDecorator[float]):
    """A double that keeps NaN on SQLite too.

    SQLite stores a bound NaN as NULL, which would turn a reported NaN into "no
    value"; the text ``'NaN'`` survives a REAL column unchanged and reads back as NaN.
    """

    impl = Double
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = float(value)
        if dialect.name == "sqlite" and math.isnan(value):
            return "NaN"
        return value

    def bind_processor(self, dialect: Dialect) -> Any:
        # The float processor of the wrapped type would turn 'NaN' back into a float.
        def process(value: Any) -> Any:
            return self.process_bind_param(value, dialect)

        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> float | None:
        return None if value is None else float(value)


metadata = MetaData()

schema_version = Table(
    "metahpo_schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("created_at", UTCDateTime, nullable=False),
)

studies = Table(
    "metahpo_studies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(MAX_NAME_LENGTH), nullable=False),
    Column("direction", Text, nullable=False),
    Column("seed", BigInteger, nullable=False),
    Column("space", JSONText, nullable=False),
    Column("optimizer", JSONText, nullable=False),
    Column("scheduler", JSONText, nullable=False),
    Column("user_attrs", JSONText, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # The per-study trial counter: bumping it locks the study row, so numbers are
    # handed out one transaction at a time and a rolled-back creation leaves no gap.
    Column("next_trial_number", Integer, nullable=False, default=0),
    UniqueConstraint("name", name=STUDY_NAME_CONSTRAINT),
    sqlite_autoincrement=True,  # Never reuse the id of a deleted study.
)

trials = Table(
    "metahpo_trials",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "study_id",
        Integer,
        ForeignKey("metahpo_studies.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("number", Integer, nullable=False),
    Column("state", String(16), nullable=False),
    Column("config", JSONText, nullable=False),
    Column("budget", Real),
    Column("value", Real),
    Column("error", Text),
    Column("user_attrs", JSONText, nullable=False),
    Column("parent", Integer),
    Column("bracket", Integer),
    Column("rung", Integer),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("heartbeat_at", UTCDateTime),
    UniqueConstraint("study_id", "number", name=TRIAL_NUMBER_CONSTRAINT),
    # NULLs are distinct in a UNIQUE constraint on both backends, so only real
    # parents are constrained: each trial can be promoted once.
    UniqueConstraint("study_id", "parent", name=TRIAL_PARENT_CONSTRAINT),
    Index("ix_metahpo_trials_study_state", "study_id", "state"),
    sqlite_autoincrement=True,
)

intermediate_values = Table(
    "metahpo_intermediate_values",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "trial_id",
        Integer,
        ForeignKey("metahpo_trials.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("step", Real, nullable=False),
    Column("value", Real, nullable=False),
    UniqueConstraint("trial_id", "step", name="uq_metahpo_intermediate_trial_step"),
)

# Versioned meta-models (meta-trained surrogate parameters): one row per (key, version),
# the serialised bytes (safetensors) with their JSON description beside them.
meta_models = Table(
    "metahpo_meta_models",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(MAX_META_KEY_LENGTH), nullable=False),
    Column("version", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("info", JSONText, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Also the index behind "latest version of a key" and "versions of a key".
    UniqueConstraint("key", "version", name=META_MODEL_VERSION_CONSTRAINT),
    sqlite_autoincrement=True,
)
