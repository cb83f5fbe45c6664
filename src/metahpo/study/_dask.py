"""Run a study's trials on a Dask cluster; the study state stays in the SQL storage."""

from __future__ import annotations

import time
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
    study_class: type[RunnableStudy], url: str, name: str, objective: Objective,
    catch: tuple[type[BaseException], ...],
) -> int:
    # Runs on a worker: open the study from the shared storage, ask, evaluate, tell. The
    # class travels with the task (pickled by reference), so this module needs no import
    # of the study module.
    study = study_class.load(name, url)
    return study.run_trial(objective, catch).number


def optimize_on_dask(
    study: StudyT,
    objective: Objective,
    n_trials: int | None,
    timeout: float | None,
    client: Any,
    catch: tuple[type[BaseException], ...],
    callbacks: Sequence[Callable[[StudyT, FrozenTrial], None]] | None,
) -> None:
    """Submit one task per trial; each worker asks the shared storage for its trial."""
    try:
        from distributed import as_completed
    except ImportError as exc:
        raise ImportError(
            "optimize(executor=...) needs Dask distributed: pip install 'metahpo[dask]'"
        ) from exc
    url = getattr(study.storage, "url", None)
    if url is None:
        raise InvalidParameterError(
            "optimize(executor=...) needs a storage that Dask workers can open (a SQL URL). "
            f"Got {describe(study.storage)} instead."
        )
    if n_trials is None:
        raise InvalidParameterError("optimize(executor=...) needs 'n_trials'. Got None instead.")
    deadline = None if timeout is None else time.monotonic() + timeout
    futures = [
        client.submit(_run_one, type(study), url, study.name, objective, catch, pure=False)
        for _ in range(n_trials)
    ]
    queue = as_completed(futures)
    for future in queue:
        number = future.result()
        for callback in callbacks or ():
            callback(study, study.storage.get_trial(study.study_id, number))
        if deadline is not None and time.monotonic() > deadline:
            for pending in futures:
                pending.cancel()
            break
