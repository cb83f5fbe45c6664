"""One trial from start to end: ask, evaluate the objective under a heartbeat, tell."""

from __future__ import annotations

import logging
import traceback
from typing import TYPE_CHECKING

from metahpo.exceptions import InvalidParameterError, TrialPruned
from metahpo.storage import check_objective_value, is_stale_failure
from metahpo.study._heartbeat import heartbeat
from metahpo.study._protocols import TrialRunner
from metahpo.study._retry import check_retries
from metahpo.study._state import DISPATCH_KEY
from metahpo.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from metahpo.study._handle import Objective

__all__ = ["run_trial"]

logger = logging.getLogger("metahpo.study")


def run_trial(
    study: TrialRunner, objective: Objective, catch: tuple[type[BaseException], ...],
    retries: int = 0, dispatch: str | None = None,
) -> FrozenTrial:
    """What :meth:`Study.run_trial <metahpo.study.Study.run_trial>` does, for ``study``."""
    if dispatch is not None:
        # A trial failed for a stopped heartbeat died with the worker: run it again.
        done = next((t for t in study.trials if t.user_attrs.get(DISPATCH_KEY) == dispatch
                     and t.state.is_finished and not is_stale_failure(t)), None)
        if done is not None:
            return done
    # The heartbeat runs from the trial's creation: a process dying in the suggestion
    # (minutes of meta-training, say) leaves a trial the others can fail.
    handle = study._ask(check_retries(retries, "run_trial"), beating=True)
    if dispatch is not None:
        study.storage.set_trial_user_attrs(study.study_id, handle.number, {DISPATCH_KEY: dispatch})
    try:
        with heartbeat(study.storage, study.study_id, handle.number):
            value = objective(handle)
    except TrialPruned:
        return study.tell(handle, state=TrialState.PRUNED)
    except BaseException as exc:  # the objective's own errors, metahpo's it raised included
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        study.tell(handle, state=TrialState.FAILED, error=text[-4000:])
        if isinstance(exc, catch):
            logger.warning("Trial %d failed: %r", handle.number, exc)
            return study.storage.get_trial(study.study_id, handle.number)
        raise
    try:
        value = check_objective_value(value)
    except InvalidParameterError as exc:  # a returned value that is not a loss: that trial failed
        logger.warning("Trial %d failed: %s", handle.number, exc)
        return study.tell(handle, state=TrialState.FAILED, error=str(exc))
    return study.tell(handle, value)
