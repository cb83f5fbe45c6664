"""A new trial's config: the optimizer's suggestion, keyed by the trial's number, stored with
the optimizer's state, and proposed again when a concurrent worker took the same config."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from metahpo.exceptions import TrialStateError
from metahpo.history import History
from metahpo.optimizers import Optimizer
from metahpo.space import Space
from metahpo.storage import Storage, is_stale_failure
from metahpo.study._retry import taken_elsewhere
from metahpo.study._state import OPTIMIZER_STATE_KEY, state_of_history
from metahpo.trial import FrozenTrial, TrialState

__all__ = ["DUPLICATE_RETRIES", "component_seed", "keyed_history", "propose_config"]

logger = logging.getLogger("metahpo.study")

# Suggestions made at the same moment by two workers cannot see each other; when a
# worker finds its config already taken by another trial it proposes again, this often.
DUPLICATE_RETRIES = 3


def component_seed(seed: int, component: int) -> int:
    """An independent 63-bit seed per study component, split from the study seed."""
    return int(np.random.SeedSequence([seed, component]).generate_state(2, np.uint64)[0] >> np.uint64(1))


def keyed_history(history: History, number: int) -> History:
    # The optimizer keys random draws on len(trials); pad the key with the reserved number
    # so in-flight trials hidden from the history cannot make two workers collide.
    if len(history.trials) == number:
        return history
    return dataclasses.replace(history, seed=component_seed(history.seed, number))


def propose_config(
    record: FrozenTrial,
    history: History,
    *,
    storage: Storage,
    study_id: int,
    space: Space,
    optimizer: Optimizer,
    initial_state: Mapping[str, Any],
    lock: threading.Lock,
    configured: Callable[[], tuple[FrozenTrial, ...]],
    history_of: Callable[[tuple[FrozenTrial, ...]], History],
) -> FrozenTrial:
    """Give the reserved trial ``record`` the optimizer's config for the keyed ``history``.

    ``lock`` is held by the threads of one process that share ``optimizer`` while it loads
    the history's state, suggests and is read back; ``initial_state`` is the state the
    study was created with. ``configured`` re-reads the study's trials that have a config
    and ``history_of`` makes the history of such trials. When the optimizer fails, the
    trial is FAILED with the error and the error raised.
    """
    try:
        for attempt in range(DUPLICATE_RETRIES + 1):
            with lock:
                _load_optimizer_state(optimizer, history, initial_state)
                config, why = _suggest(optimizer, space, history)
                attrs: dict[str, Any] = {"why": why} if why else {}
                attrs[OPTIMIZER_STATE_KEY] = optimizer.state_dict()
                # The state is stored before the config: a trial is in other workers'
                # histories once it has a config, and its state must be there by then.
                storage.set_trial_user_attrs(study_id, record.number, attrs)
                storage.set_trial_config(study_id, record.number, config)
            # Workers that suggested at the same moment did not see each other's
            # pending config. Each looks after storing its own: of two equal configs,
            # at least the one stored last sees the other, and it proposes again with
            # the other now pending (a serial run finds nothing and reads no more).
            clash = attempt < DUPLICATE_RETRIES and taken_elsewhere(space, configured(), record, config)
            if not clash:
                break
            logger.info("Trial %d: config %s is already taken by a concurrent trial; proposing again.",
                        record.number, config)
            history = keyed_history(history_of(tuple(
                t for t in configured() if t.number != record.number
            )), record.number)
    except BaseException as exc:
        if isinstance(exc, TrialStateError) and is_stale_failure(storage.get_trial(study_id, record.number)):
            raise  # taken for dead while it suggested (a paused process): failed already
        storage.finish_trial(
            study_id, record.number, TrialState.FAILED,
            error=f"The optimizer failed to propose a config: {exc!r}",
        )
        raise
    return record.evolve(config=config, user_attrs=attrs)


def _load_optimizer_state(optimizer: Optimizer, history: History, initial_state: Mapping[str, Any]) -> None:
    """Give the optimizer the state stored with the history's newest suggestion.

    In an uninterrupted serial run it already holds that state; a study reloaded
    elsewhere, a Dask worker or another thread's suggestion changes it.
    """
    state = state_of_history(history.trials, initial_state)
    if optimizer.state_dict() != state:
        optimizer.load_state_dict(state)


def _suggest(optimizer: Optimizer, space: Space, history: History) -> tuple[dict[str, Any], dict[str, Any]]:
    explained = getattr(optimizer, "suggest_explained", None)
    if explained is not None:
        suggestion = explained(history, 1)[0]
        config, why = suggestion.config, dict(suggestion.why)
    else:
        config, why = optimizer.suggest(history, 1)[0], {}
    return space.validate(config, "config"), why
