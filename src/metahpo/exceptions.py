"""Exceptions raised by metahpo.

Every error a user can trigger is a subclass of :class:`MetahpoError`, so one
``except MetahpoError`` catches them all; parameter errors are also
``ValueError`` so code written against the standard library keeps working.
"""

from __future__ import annotations

__all__ = [
    "DuplicatedPromotionError",
    "DuplicatedStudyError",
    "EnqueuedConfigTakenError",
    "InvalidParameterError",
    "MetahpoError",
    "SchemaVersionError",
    "StorageError",
    "StudyNotFoundError",
    "TrialPruned",
    "TrialStateError",
]


class MetahpoError(Exception):
    """Base class of every error raised by metahpo."""


class InvalidParameterError(MetahpoError, ValueError):
    """A parameter given to the public API is malformed.

    The message names the parameter, what was expected and what was given.
    """


class StorageError(MetahpoError):
    """The storage backend failed; the stored data is unchanged."""


class DuplicatedStudyError(StorageError):
    """A study with this name already exists in the storage."""


class DuplicatedPromotionError(StorageError):
    """The trial was already promoted; each trial may be continued only once."""


class EnqueuedConfigTakenError(StorageError):
    """The enqueued config was already taken by another trial; each is run once."""


class StudyNotFoundError(StorageError, KeyError):
    """No study with this name exists in the storage."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable.
        return str(self.args[0]) if self.args else ""


class SchemaVersionError(StorageError):
    """The database was written by a newer metahpo than this one."""


class TrialStateError(MetahpoError):
    """An operation is not allowed in the trial's current state."""


class TrialPruned(MetahpoError):
    """Raised by an objective to stop its trial early; the trial becomes PRUNED.

    Example:
        >>> import metahpo as mh
        >>> def objective(trial):
        ...     for epoch in range(10):
        ...         trial.report(epoch, 1.0 / (epoch + 1))
        ...         if trial.should_stop():
        ...             raise mh.TrialPruned()
        ...     return 0.1
    """
