"""``Study.optimize``: a loop over ask and tell, serial or on worker threads."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from metahpo._validation import check_finite_number, check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.study._protocols import RunnableStudy
from metahpo.trial import FrozenTrial

if TYPE_CHECKING:
    from metahpo.study._handle import Objective

StudyT = TypeVar("StudyT", bound=RunnableStudy)


def run_optimize(
    study: StudyT,
    objective: Objective,
    n_trials: int | None,
    timeout: float | None,
    n_jobs: int,
    catch: Sequence[type[BaseException]] | type[BaseException],
    callbacks: Sequence[Callable[[StudyT, FrozenTrial], None]] | None,
    show_progress: bool | None,
    executor: Any,
) -> None:
    if not callable(objective):
        raise InvalidParameterError(
            f"The 'objective' parameter of optimize must be callable. Got {describe(objective)} instead."
        )
    if n_trials is not None:
        n_trials = check_int(n_trials, "n_trials", "optimize", minimum=0)
    if timeout is not None:
        timeout = check_finite_number(timeout, "timeout", "optimize")
    if n_trials is None and timeout is None:
        raise InvalidParameterError(
            "optimize needs 'n_trials' or 'timeout' (or both) so that it ends. Got neither."
        )
    n_jobs = check_int(n_jobs, "n_jobs", "optimize")
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    if n_jobs < 1:
        raise InvalidParameterError(
            f"The 'n_jobs' parameter of optimize must be >= 1 or -1 (all cores). Got {n_jobs} instead."
        )
    catch_tuple = (catch,) if isinstance(catch, type) else tuple(catch)
    if executor is not None:
        from metahpo.study._dask import optimize_on_dask

        optimize_on_dask(study, objective, n_trials, timeout, executor, catch_tuple, callbacks)
    else:
        _optimize_here(study, objective, n_trials, timeout, n_jobs, catch_tuple, callbacks, show_progress)


def _optimize_here(
    study: StudyT,
    objective: Objective,
    n_trials: int | None,
    timeout: float | None,
    n_jobs: int,
    catch_tuple: tuple[type[BaseException], ...],
    callbacks: Sequence[Callable[[StudyT, FrozenTrial], None]] | None,
    show_progress: bool | None,
) -> None:
    from metahpo.study._progress import progress_display

    deadline = None if timeout is None else time.monotonic() + timeout
    budget = _TrialBudget(n_trials)
    with progress_display(study, n_trials, timeout, show_progress) as progress:

        def worker() -> None:
            while (deadline is None or time.monotonic() < deadline) and not study.converged() and budget.take():
                trial = study.run_trial(objective, catch_tuple)
                for callback in callbacks or ():
                    callback(study, trial)
                progress.advance(trial)

        if n_jobs == 1:
            worker()
            return
        errors: list[BaseException] = []

        def guarded() -> None:
            try:
                worker()
            except BaseException as exc:
                budget.close()
                errors.append(exc)

        threads = [threading.Thread(target=guarded, name=f"metahpo-worker-{i}") for i in range(n_jobs)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]


class _TrialBudget:
    """How many trials are left to start, shared by the worker threads."""

    def __init__(self, n_trials: int | None) -> None:
        self._left = n_trials
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self._left is None:
                return True
            if self._left <= 0:
                return False
            self._left -= 1
            return True

    def close(self) -> None:
        with self._lock:
            self._left = 0
