"""``Study.optimize``: a loop over ask and tell, serial or on worker threads."""

from __future__ import annotations

import logging
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

logger = logging.getLogger(__name__)

# Seconds the main thread waits for a worker at a time (see _optimize_here).
_JOIN_SLICE = 0.2


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
    retries: int = 0,
) -> None:
    if not callable(objective):
        raise InvalidParameterError(
            f"The 'objective' parameter of optimize must be callable. Got {describe(objective)} instead."
        )
    if n_trials is not None:
        n_trials = check_int(n_trials, "n_trials", "optimize", minimum=0)
    if timeout is not None:
        timeout = check_finite_number(timeout, "timeout", "optimize")
        if timeout <= 0:
            raise InvalidParameterError(
                f"The 'timeout' parameter of optimize must be a positive number of seconds or None. Got {timeout!r} instead."
            )
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
    if show_progress is not None and not isinstance(show_progress, bool):
        # Any object would be taken for true: show_progress="no" showed the bar.
        raise InvalidParameterError(
            "The 'show_progress' parameter of optimize must be True, False or None (a bar on "
            f"a terminal). Got {describe(show_progress)} instead."
        )
    catch_tuple = _check_catch(catch)
    _check_callbacks(callbacks)
    if executor is not None:
        from metahpo.study._dask import optimize_on_dask

        if n_jobs != 1:
            raise InvalidParameterError(
                "The 'n_jobs' parameter of optimize applies to threads on this machine, not to "
                f"a Dask executor (its workers set the parallelism). Got n_jobs={n_jobs} with an executor."
            )

        optimize_on_dask(study, objective, n_trials, timeout, executor, catch_tuple, callbacks, retries)
    else:
        _optimize_here(study, objective, n_trials, timeout, n_jobs, catch_tuple, callbacks,
                       show_progress, retries)


def _optimize_here(
    study: StudyT,
    objective: Objective,
    n_trials: int | None,
    timeout: float | None,
    n_jobs: int,
    catch_tuple: tuple[type[BaseException], ...],
    callbacks: Sequence[Callable[[StudyT, FrozenTrial], None]] | None,
    show_progress: bool | None,
    retries: int,
) -> None:
    from metahpo.study._progress import progress_display

    deadline = None if timeout is None else time.monotonic() + timeout
    budget = _TrialBudget(n_trials)
    with progress_display(study, n_trials, timeout, show_progress) as progress:

        def worker() -> None:
            while (deadline is None or time.monotonic() < deadline) and not study.converged() and budget.take():
                trial = study.run_trial(objective, catch_tuple, retries)
                for callback in callbacks or ():
                    callback(study, trial)
                progress.advance(trial)

        if n_jobs == 1:
            worker()
            return
        errors: list[BaseException] = []

        def guarded(done: threading.Event) -> None:
            try:
                worker()
            except BaseException as exc:
                budget.close()
                errors.append(exc)
            finally:
                done.set()

        started: list[threading.Event] = []
        try:
            for i in range(n_jobs):
                done = threading.Event()
                threading.Thread(target=guarded, args=(done,), name=f"metahpo-worker-{i}").start()
                started.append(done)
            for done in started:
                # In slices: the main thread runs Python's signal handlers only when it wakes.
                # (Events, not Thread.join: a join that Ctrl+C interrupts takes its running
                # thread for stopped, and a second join would not wait for it.)
                while not done.wait(_JOIN_SLICE):
                    pass
        except BaseException:
            # Ctrl+C reaches the main thread alone: no worker starts another trial, and the
            # running ones finish and are stored before the interrupt goes on.
            budget.close()
            logger.warning("Interrupted: waiting for the running trials to finish.")
            for done in started:
                done.wait()
            raise
        if errors:
            raise errors[0]


def _check_catch(catch: Any) -> tuple[type[BaseException], ...]:
    """``catch`` as a tuple of exception classes, or an error naming what is not one."""
    items = (catch,) if isinstance(catch, type) else catch
    if isinstance(items, (str, bytes)) or not isinstance(items, (Sequence, set, frozenset)):
        raise InvalidParameterError(
            "The 'catch' parameter of optimize must be an exception class or a sequence of them. "
            f"Got {describe(catch)} instead."
        )
    for item in items:
        if not (isinstance(item, type) and issubclass(item, BaseException)):
            raise InvalidParameterError(
                f"The 'catch' parameter of optimize must hold exception classes. Got {describe(item)} in it."
            )
    return tuple(items)


def _check_callbacks(callbacks: Any) -> None:
    """Refuse, before any trial runs, callbacks that a finished trial could not call."""
    if callbacks is None:
        return
    if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Sequence):
        raise InvalidParameterError(
            "The 'callbacks' parameter of optimize must be a list of callables or None. "
            f"Got {describe(callbacks)} instead."
        )
    for callback in callbacks:
        if not callable(callback):
            raise InvalidParameterError(
                f"The 'callbacks' parameter of optimize must hold callables. Got {describe(callback)} in it."
            )


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
