"""Run a study's trials on a Dask cluster; the study state stays in the SQL storage."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.schedulers import rebuilt_by_name
from metahpo.study._protocols import RunnableStudy
from metahpo.trial import FrozenTrial

if TYPE_CHECKING:
    from metahpo.study._handle import Objective

StudyT = TypeVar("StudyT", bound=RunnableStudy)


# What a worker process has opened, by the storage's settings: one connection pool per
# worker and storage, and one study object per study in it, reused by every task of a run
# instead of opened per trial (engine, schema check, connect, a read of every trial). The
# study's trial cache then reads only the trials still open. The driver closes them when
# the run ends.
_worker_storages: dict[str, Any] = {}
_worker_studies: dict[tuple[str, str], Any] = {}
_worker_lock = threading.Lock()


def _storage_key(storage_class: type[Any], settings: dict[str, Any]) -> str:
    return f"{storage_class.__module__}.{storage_class.__qualname__}:{json.dumps(settings, sort_keys=True, default=repr)}"


def _worker_study(
    study_class: type[RunnableStudy], storage_class: type[Any], settings: dict[str, Any], name: str,
    knowledge: Any, scheduler: Any,
) -> Any:
    key = _storage_key(storage_class, settings)
    with _worker_lock:
        study = _worker_studies.get((key, name))
        if study is not None:
            return study
        storage = _worker_storages.get(key)
        if storage is None:
            storage = object.__new__(storage_class)
            storage.__setstate__(dict(settings))
            _worker_storages[key] = storage
        study = _worker_studies[(key, name)] = study_class.load(name, storage, knowledge, scheduler)
        return study


def _close_worker_storage(key: str) -> None:
    with _worker_lock:
        storage = _worker_storages.pop(key, None)
        for opened in [k for k in _worker_studies if k[0] == key]:
            del _worker_studies[opened]
    if storage is not None:
        storage.close()


def _run_one(
    study_class: type[RunnableStudy], storage_class: type[Any], settings: dict[str, Any], name: str,
    objective: Objective, catch: tuple[type[BaseException], ...], retries: int, dispatch: str,
    knowledge: Any, scheduler: Any, deadline: float | None,
) -> int | None:
    # Runs on a worker: open the study from the shared storage, ask, evaluate, tell. The
    # class travels with the task (pickled by reference), so this module needs no import
    # of the study module. The storage travels by its settings (URL, heartbeat, grace),
    # not as an object: a worker unpickles the arguments of every task it is sent when it
    # receives them, and each unpickled storage would connect at once.
    study = _worker_study(study_class, storage_class, settings, name, knowledge, scheduler)
    # A task a worker takes up after the run's deadline, or once the optimizer says the
    # study has converged, starts no trial (``None``), as the local loop would not.
    if (deadline is not None and time.time() > deadline) or study.converged():
        return None
    # `dispatch` makes the task idempotent: Dask runs a finished task again when the
    # worker holding its result dies, and must then get the same trial back.
    return study.run_trial(objective, catch, retries, dispatch=dispatch).number


def optimize_on_dask(
    study: StudyT,
    objective: Objective,
    n_trials: int | None,
    timeout: float | None,
    client: Any,
    catch: tuple[type[BaseException], ...],
    callbacks: Sequence[Callable[[StudyT, FrozenTrial], None]] | None,
    retries: int = 0,
) -> None:
    """Submit one task per trial; each worker asks the shared storage for its trial.

    At most ``n_trials`` trials are started, whatever Dask re-runs after a lost worker: a
    task that lost its worker mid-trial starts a new trial (the old one is failed once its
    heartbeat is older than the grace period: when the run ends if it is by then, else
    when the study is next asked for a trial), and a finished task that Dask runs again
    returns the trial it already ran. A task taken up after the ``timeout`` or once the
    optimizer says the study has converged starts none; the run returns when the trials
    already running have ended. When ``optimize`` raises (an objective error not in
    ``catch``, Ctrl-C) the tasks not yet started are cancelled.
    """
    try:
        from distributed import Client, as_completed
    except ImportError as exc:
        raise ImportError(
            "optimize(executor=...) needs Dask distributed: pip install 'metahpo[dask]'"
        ) from exc
    if getattr(study.storage, "url", None) is None:
        raise InvalidParameterError(
            "optimize(executor=...) needs a storage that Dask workers can open (a SQL URL). "
            f"Got {describe(study.storage)} instead."
        )
    if not isinstance(client, Client):
        raise InvalidParameterError(
            "The 'executor' parameter of optimize must be a dask.distributed Client (trials "
            "in threads on this machine: n_jobs=). Got "
            f"{describe(client)} instead."
        )
    if client.status != "running":
        raise InvalidParameterError(
            f"The 'executor' parameter of optimize is a Dask client that is {client.status}, "
            "not running: connect it (or make a new one) first."
        )
    if n_trials is None:
        raise InvalidParameterError("optimize(executor=...) needs 'n_trials'. Got None instead.")
    # Wall-clock time: the workers compare it with their own clocks.
    deadline = None if timeout is None else time.time() + timeout
    run = uuid.uuid4().hex[:12]
    settings = study.storage.__getstate__()  # type: ignore[attr-defined]
    # Knowledge built in memory has no spec a worker could reopen it from: it travels
    # with the tasks, sent to each worker once. Reopened without it, MetaBO would run
    # as GP-BO there while the study says MetaBO.
    knowledge = getattr(study.optimizer, "knowledge", None)
    shipped = None
    if knowledge is not None and knowledge.spec is None:
        shipped = client.scatter(knowledge, broadcast=True)
    # A scheduler of the user's own (a subclass of a built-in one too) cannot be rebuilt
    # from its name on a worker: the instance travels (schedulers keep no state, so a
    # copy decides as it would).
    scheduler = None if rebuilt_by_name(study.scheduler) else client.scatter(study.scheduler, broadcast=True)
    futures = [
        client.submit(_run_one, type(study), type(study.storage), settings,
                      study.name, objective, catch, retries, f"{run}:{i}", shipped, scheduler, deadline,
                      pure=False)
        for i in range(n_trials)
    ]
    stopped = True
    try:
        # Every task ends: those past the deadline or after convergence start no trial,
        # and the trials already running are waited for, as the local loop waits.
        for future in as_completed(futures):
            number = future.result()
            if number is None:
                continue
            for callback in callbacks or ():
                callback(study, study.storage.get_trial(study.study_id, number))
        stopped = False
    finally:
        if stopped:  # an error or Ctrl-C: the tasks not yet started never start
            client.cancel([f for f in futures if not f.done()])
        # A trial whose worker died is failed now if its heartbeat is already stale,
        # rather than when the study is next asked for a trial.
        with contextlib.suppress(Exception):
            study.storage.fail_stale_trials(study.study_id)
        # Release the workers' pools: nothing stays connected between runs. A task still
        # running (after an error here) reopens a pool of its own and drops it when done.
        # A worker that died or is shutting down has nothing left to close.
        with contextlib.suppress(Exception):
            client.run(_close_worker_storage, _storage_key(type(study.storage), settings))
