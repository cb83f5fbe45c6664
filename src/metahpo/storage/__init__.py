"""Where studies live: in memory, SQLite (the default file) or PostgreSQL."""

from metahpo.storage._artefacts import (
    ArtefactRecord,
    ArtefactStore,
    InMemoryArtefactStore,
    artefacts_of,
)
from metahpo.storage._base import (
    SCHEMA_VERSION,
    STALE_KEY,
    STALE_TRIAL_ERROR,
    Storage,
    StudyRecord,
    is_stale_failure,
    reads_from_number,
    storage_fingerprint,
    study_fingerprint,
)
from metahpo.storage._cache import TrialCache
from metahpo.storage._checks import (
    check_objective_value,
    check_study_name,
    mask_password,
    mask_passwords_in,
)
from metahpo.storage._existing import (
    check_existing_sqlite,
    check_not_foreign_sqlite,
    existing_storage,
    stored_names,
)
from metahpo.storage._finished import (
    FINISHED_KEY,
    ended_trials,
    finished_marker,
    imported_from,
    is_finished,
)
from metahpo.storage._memory import InMemoryStorage
from metahpo.storage._queue import ENQUEUED_KEY, QUEUE_KEY, TAKEN_KEY
from metahpo.storage._url import (
    CLI_DEFAULT_URL,
    ENV_VAR,
    absolute_sqlite_url,
    get_storage,
    is_memory_sqlite,
    missing_sqlite_file,
    sqlite_path,
)

__all__ = [
    "CLI_DEFAULT_URL",
    "ENQUEUED_KEY",
    "ENV_VAR",
    "FINISHED_KEY",
    "QUEUE_KEY",
    "SCHEMA_VERSION",
    "STALE_KEY",
    "STALE_TRIAL_ERROR",
    "TAKEN_KEY",
    "ArtefactRecord",
    "ArtefactStore",
    "InMemoryArtefactStore",
    "InMemoryStorage",
    "SQLStorage",
    "Storage",
    "StudyRecord",
    "TrialCache",
    "absolute_sqlite_url",
    "artefacts_of",
    "check_existing_sqlite",
    "check_not_foreign_sqlite",
    "check_objective_value",
    "check_study_name",
    "ended_trials",
    "existing_storage",
    "finished_marker",
    "get_storage",
    "imported_from",
    "is_finished",
    "is_memory_sqlite",
    "is_stale_failure",
    "mask_password",
    "mask_passwords_in",
    "missing_sqlite_file",
    "reads_from_number",
    "sqlite_path",
    "storage_fingerprint",
    "stored_names",
    "study_fingerprint",
]


def __getattr__(name: str) -> object:
    # SQLAlchemy is imported only when SQL storage is used.
    if name == "SQLStorage":
        from metahpo.storage._sql import SQLStorage

        return SQLStorage
    raise AttributeError(name)
