"""The storage protocol and the records it returns."""

from __future__ import annotations

import inspect
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol, runtime_checkable

from metahpo.trial import FrozenTrial, TrialState

SCHEMA_VERSION = 1

# How the error of a trial failed for a stopped heartbeat begins. Such a failure is a
# presumption (the process was paused, not dead, or its network was down): a late result
# still finishes the trial, see :func:`is_stale_failure`.
STALE_TRIAL_ERROR = "The trial's heartbeat stopped"
# The ``user_attrs`` key a storage sets (to the UTC time, ISO 8601) on a trial it fails for
# a stopped heartbeat. It stays when a late result finishes the trial COMPLETE or PRUNED,
# which then reads as "taken for dead, told late"; a late FAILED drops it (that failure is
# the objective's own, and final); an objective's own error text can never look like it.
STALE_KEY = "taken_for_dead"
# The whole error text fail_stale_trials wrote before trials carried STALE_KEY: stored
# trials failed that way are still stale failures.
_UNMARKED_STALE_ERROR = re.compile(
    re.escape(STALE_TRIAL_ERROR) + r": no heartbeat for more than \S+ seconds \(the grace "
    r"period\), so its process is taken to be dead\."
)


def is_stale_failure(trial: FrozenTrial) -> bool:
    """Whether ``trial`` was FAILED only because its heartbeat stopped (it may still be told).

    Read off :data:`STALE_KEY` in its ``user_attrs``; a trial failed so before that key
    existed is known by its whole error text.
    """
    if trial.state is not TrialState.FAILED:
        return False
    return STALE_KEY in trial.user_attrs or _UNMARKED_STALE_ERROR.fullmatch(trial.error or "") is not None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class StudyRecord:
    """A stored study: its name and everything needed to rebuild it.

    ``space``, ``optimizer`` and ``scheduler`` are the JSON descriptions written
    by ``Space.to_dict``, ``optimizer_spec`` and ``scheduler_spec``.
    """

    study_id: int
    name: str
    space: Mapping[str, Any]
    direction: str
    seed: int
    optimizer: Mapping[str, Any]
    scheduler: Mapping[str, Any]
    user_attrs: Mapping[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None


@runtime_checkable
class Storage(Protocol):
    """Where studies and trials live.

    Ownership: the storage owns every record; callers receive frozen copies and
    change state only through these methods, each of which is atomic: it either
    happens entirely or raises :class:`~metahpo.exceptions.StorageError` (or a
    subclass) and leaves the stored data unchanged.

    Thread-safety: one storage object may be shared by the threads of a process.
    SQL storages may also be opened by many processes at once on the same
    database; trial numbers stay unique and gap-free per study across all of them.

    Trials are created RUNNING. ``create_trial`` without a config reserves the
    next number so that the caller can choose the config knowing it (this keeps
    parallel workers from proposing the same point); until ``set_trial_config``
    the trial's config is empty. A trial's ``parent`` may be promoted only once:
    a second ``create_trial`` with the same ``parent`` raises
    :class:`~metahpo.exceptions.DuplicatedPromotionError`.

    A study has a queue of configs to run first (``Study.enqueue``), kept in its
    ``user_attrs`` under ``"enqueued_configs"``: entries ``{"id", "config", "budget"}`` in
    the order they came, with ``"trial"`` (the number of the trial that took it) once
    taken. :meth:`enqueue_config` appends an entry and returns its id;
    ``create_trial(enqueued=id)`` creates the trial that runs entry ``id``, with the
    entry's config, marking the entry taken in the same transaction. An entry is taken
    once: a second ``create_trial`` with the same ``enqueued`` raises
    :class:`~metahpo.exceptions.EnqueuedConfigTakenError`. No entry is lost, and none is
    taken twice, when threads, processes or machines enqueue and take at once. The queue is changed
    only through these two methods; ``set_study_user_attrs`` of that key would replace it.

    Finished trials (COMPLETE, PRUNED, FAILED) never change, but for a trial FAILED
    for a stopped heartbeat, which its process may still finish late (see
    :func:`is_stale_failure`). So a reader may keep them and ask
    ``get_trials(study_id, min_number=k)`` only for the trials numbered ``k`` and above,
    where ``k`` is the smallest number that was not finished at its last read, re-reading
    the stale failures it keeps (see :class:`~metahpo.storage.TrialCache`). ``min_number`` is optional
    for storages written before it existed: :func:`~metahpo.storage.reads_from_number`
    says whether a storage accepts it.

    ``fingerprint()`` returns a short text, read without loading any trial, that changes
    whenever a study is created or deleted or its ``user_attrs`` change, and whenever a
    trial is created or ends (its state, value and error are set only then). Other writes
    (reports, heartbeats, a trial's config or ``user_attrs``) may change it or not. A reader
    that polls (the dashboard's studies list) reads the studies again only when it changed.
    It is optional for storages written before it existed: :func:`storage_fingerprint`
    reads it, or says there is none (also when it returns ``None``).

    ``study_fingerprint(study_id)`` is the same for one study, finer: read without loading
    the study's trials, it changes whenever the study's ``user_attrs`` change, a trial is
    created, a trial's config or ``user_attrs`` are set, a trial reports a step it had not
    reported or its latest step again with another value, and a trial ends. Heartbeats and
    a report that replaces the value of an earlier step may change it or not. Two studies
    never share one (a study made under the name of a deleted one included), and it raises
    :class:`~metahpo.exceptions.StudyNotFoundError` for a study that does not exist. A
    reader that shows one study (the dashboard's study page) reads its trials again only
    when it changed. It is optional too: :func:`study_fingerprint` reads it, or says there
    is none (also when it returns ``None``).

    Artefacts such as meta-models are not part of this protocol: a storage that keeps
    them offers an :class:`~metahpo.storage.ArtefactStore` as its ``artefacts`` attribute.
    """

    heartbeat_interval: float | None

    # Studies
    def create_study(
        self,
        name: str,
        *,
        space: Mapping[str, Any],
        direction: str,
        seed: int,
        optimizer: Mapping[str, Any],
        scheduler: Mapping[str, Any],
        user_attrs: Mapping[str, Any] | None = None,
    ) -> StudyRecord: ...

    def get_study(self, name: str) -> StudyRecord: ...

    def list_studies(self) -> list[StudyRecord]: ...

    def delete_study(self, name: str) -> None: ...

    def set_study_user_attrs(self, study_id: int, attrs: Mapping[str, Any]) -> None: ...

    def enqueue_config(
        self, study_id: int, config: Mapping[str, Any], budget: float | None = None
    ) -> int:
        """Append ``config`` (checked against the study's space) to the study's queue, with
        ``budget`` (``None``: the scheduler decides); return the new entry's id."""
        ...

    # Trials
    def create_trial(
        self,
        study_id: int,
        *,
        config: Mapping[str, Any] | None = None,
        budget: float | None = None,
        bracket: int | None = None,
        rung: int | None = None,
        parent: int | None = None,
        user_attrs: Mapping[str, Any] | None = None,
        enqueued: int | None = None,
    ) -> FrozenTrial:
        """A new RUNNING trial numbered next in the study.

        With ``enqueued``, the trial runs that entry of the study's queue: its config is the
        entry's (``config`` must not be given), its ``user_attrs`` record the entry's id
        under ``"enqueued"``, and the entry is marked taken by it.
        """
        ...

    def set_trial_config(self, study_id: int, number: int, config: Mapping[str, Any]) -> None: ...

    def finish_trial(
        self,
        study_id: int,
        number: int,
        state: TrialState,
        value: float | None = None,
        error: str | None = None,
    ) -> FrozenTrial: ...

    def report(self, study_id: int, number: int, step: float, value: float) -> None: ...

    def set_trial_user_attrs(self, study_id: int, number: int, attrs: Mapping[str, Any]) -> None: ...

    def heartbeat(self, study_id: int, number: int) -> None: ...

    def fail_stale_trials(self, study_id: int) -> list[int]:
        """FAIL the RUNNING trials whose heartbeat stopped and return their numbers; each gets
        :data:`STALE_KEY` in its ``user_attrs`` (see :func:`is_stale_failure`), and may
        still be finished once by ``finish_trial``."""
        ...

    def get_trial(self, study_id: int, number: int) -> FrozenTrial: ...

    def get_trials(
        self,
        study_id: int,
        states: Collection[TrialState] | None = None,
        min_number: int = 0,
    ) -> list[FrozenTrial]:
        """The trials of the study in ``states`` (all when ``None``) numbered
        ``min_number`` or more, in number order."""
        ...

    def close(self) -> None: ...


def reads_from_number(storage: Any) -> bool:
    """Whether ``storage.get_trials`` accepts ``min_number`` (storages written before it
    was added to the protocol do not, and are read whole)."""
    try:
        parameters = inspect.signature(storage.get_trials).parameters
    except (AttributeError, TypeError, ValueError):
        return False
    return "min_number" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


def storage_fingerprint(storage: Any) -> str | None:
    """``storage.fingerprint()`` (see :class:`Storage`), or ``None`` for a storage that has
    none (written before it was added to the protocol, or whose ``fingerprint()`` returns
    ``None``), whose readers must read it whole.

    Example:
        >>> from metahpo.storage import InMemoryStorage, storage_fingerprint
        >>> storage = InMemoryStorage()
        >>> before = storage_fingerprint(storage)
        >>> _ = storage.create_study("demo", space={}, direction="minimize", seed=0,
        ...                          optimizer={}, scheduler={})
        >>> storage_fingerprint(storage) != before
        True
    """
    method = getattr(storage, "fingerprint", None)
    # A None returned is no fingerprint, not the text "None": one that never changes would
    # leave a reader on what it read first.
    found = method() if callable(method) else None
    return None if found is None else str(found)


def study_fingerprint(storage: Any, study_id: int) -> str | None:
    """``storage.study_fingerprint(study_id)`` (see :class:`Storage`), or ``None`` for a
    storage that has none (written before it was added to the protocol, or whose
    ``study_fingerprint`` returns ``None``), whose readers must read the study whole.

    Example:
        >>> from metahpo.storage import InMemoryStorage, study_fingerprint
        >>> storage = InMemoryStorage()
        >>> study = storage.create_study("demo", space={}, direction="minimize", seed=0,
        ...                              optimizer={}, scheduler={})
        >>> before = study_fingerprint(storage, study.study_id)
        >>> _ = storage.create_trial(study.study_id, config={})
        >>> study_fingerprint(storage, study.study_id) != before
        True
    """
    method = getattr(storage, "study_fingerprint", None)
    found = method(study_id) if callable(method) else None  # None: no fingerprint (as above)
    return None if found is None else str(found)
