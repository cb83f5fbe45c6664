"""Run a study's trials on a Dask cluster; the study state stays in the SQL storage."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.study._protocols import RunnableStudy
from metahpo.trial import FrozenTrial

if TYPE_CHECKING:
    from metahpo.study._handle import Objective

StudyT = TypeVar("StudyT", bound=RunnableStudy)


def _run_one(
    study_class: type[RunnableStudy], storage_class: type[Any], settings: dict[str, Any], name: str,
    objective: Objective, catch: tuple[type[BaseException], ...], retries: int, dispatch: str,
) -> int:
    # Runs on a worker: open the study from the shared storage, ask, evaluate, tell. The
    # class travels with the task (pickled by reference), so this module needs no import
    # of the study module. The storage travels by its settings (URL, heartbeat, grace)
    # and opens a fresh connection pool here, closed when the task ends: a worker that
    # kept one pool per task would hold connections until the server ran out of them.
    # Settings, not the storage object: a worker unpickles the arguments of every task it
    # is sent when it receives them, and each unpickled storage would connect at once.
    storage: Any = object.__new__(storage_class)
    storage.__setstate__(dict(settings))
    study = study_class.load(name, storage)
    try:
        # `dispatch` makes the task idempotent: Dask runs a finished task again when the
        # worker holding its result dies, and must then get the same trial back.
        return study.run_trial(objective, catch, retries, dispatch=dispatch).number
    finally:
        study.storage.close()


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

    Exactly ``n_trials`` trials are started, whatever Dask re-runs after a lost worker: a
    task that lost its worker mid-trial starts a new trial (the old one is failed once its
    heartbeat is older than the grace period), and a finished task that Dask runs again
    returns the trial it already ran. When ``optimize`` raises (an objective error not in
    ``catch``, a timeout, Ctrl-C) the tasks not yet started are cancelled.
    """
    try:
        from distributed import as_completed
    except ImportError as exc:
        raise ImportError(
            "optimize(executor=...) needs Dask distributed: pip install 'metahpo[dask]'"
        ) from exc
    if getattr(study.storage, "url", None) is None:
        raise InvalidParameterError(
            "optimize(executor=...) needs a storage that Dask workers can open (a SQL URL). "
            f"Got {describe(study.storage)} instead."
        )
    if n_trials is None:
        raise InvalidParameterError("optimize(executor=...) needs 'n_trials'. Got None instead.")
    deadline = None if timeout is None else time.monotonic() + timeout
    run = uuid.uuid4().hex[:12]
    futures = [
        client.submit(_run_one, type(study), type(study.storage), study.storage.__getstate__(),  # type: ignore[attr-defined]
                      study.name, objective, catch, retries, f"{run}:{i}", pure=False)
        for i in range(n_trials)
    ]
    try:
        for future in as_completed(futures):
            number = future.result()
            for callback in callbacks or ():
                callback(study, study.storage.get_trial(study.study_id, number))
            if deadline is not None and time.monotonic() > deadline:
                break
    finally:
        # Tasks already running finish their trial; the others never start.
        client.cancel([f for f in futures if not f.done()])
