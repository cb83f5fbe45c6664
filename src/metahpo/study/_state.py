"""The optimizer state that belongs to a history, stored with the trial it was suggested for.

After the optimizer proposes the config of a trial, its ``state_dict()`` is stored in that
trial's ``user_attrs`` under :data:`OPTIMIZER_STATE_KEY`. Before a suggestion, the state
stored with the newest trial of the history is loaded (the state the study was created
with when no trial has one yet). A suggestion is then a function of what is stored, so a
study reloaded in another process, on a Dask worker or in the same process continues
exactly as it would have without the interruption.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.storage import ENQUEUED_KEY, FINISHED_KEY, QUEUE_KEY, STALE_KEY
from metahpo.trial import RESUMED_KEY, FrozenTrial

OPTIMIZER_STATE_KEY = "optimizer_state"
# The Dask task that ran a trial: a task run again returns that trial (see Study.run_trial).
DISPATCH_KEY = "dispatch"
RESERVED_USER_ATTRS = frozenset({OPTIMIZER_STATE_KEY, DISPATCH_KEY})
# What metahpo writes on a trial and reads back (why it was suggested, its enqueued
# entry, when it was taken for dead, whether it resumed its parent's checkpoint, the state
# above): set_user_attr may not overwrite them.
OWN_TRIAL_ATTRS = RESERVED_USER_ATTRS | {"why", ENQUEUED_KEY, STALE_KEY, RESUMED_KEY}
# The bundle ("bundled:NAME") whose ready-trained meta-models start the MetaBO a study was
# created with by name or as an instance (auto's choice says so in its reason): a study
# reopened from its storage starts from them again.
READY_META_MODELS_KEY = "ready_meta_models"
# Study-level keys metahpo writes and reads back: the queue of enqueued configs, the task
# descriptor the knowledge reads (settable, if it is one), the kind of problem a preset
# records without one, auto's choice, the ready-trained start above, the last
# continual update's summary and when the study was finished (Study.finish). The storage
# keeps the queue (QUEUE_KEY) and writes the entry a trial runs (ENQUEUED_KEY).
RESERVED_STUDY_ATTRS = frozenset(
    {QUEUE_KEY, "task", "task_type", "optimizer_choice", READY_META_MODELS_KEY, "knowledge_update", FINISHED_KEY}
)


def check_attr_key(key: Any, owner: str) -> str:
    """A user attribute's key: a non-empty str. JSON would store ``5`` as ``"5"``, which
    reading back by the key given then misses."""
    if not isinstance(key, str) or not key:
        raise InvalidParameterError(
            f"The 'key' parameter of {owner} must be a non-empty string. Got {describe(key)} instead."
        )
    return key


def state_of_history(trials: Iterable[FrozenTrial], initial: Mapping[str, Any]) -> dict[str, Any]:
    """The state stored with the highest-numbered trial that has one, else ``initial``.

    Promotions store none (the optimizer did not run), so this is the state the optimizer
    was left in by its latest suggestion among ``trials``.
    """
    newest: FrozenTrial | None = None
    for trial in trials:
        if OPTIMIZER_STATE_KEY in trial.user_attrs and (newest is None or trial.number > newest.number):
            newest = trial
    if newest is None:
        return dict(initial)
    return dict(newest.user_attrs[OPTIMIZER_STATE_KEY])


def public_user_attrs(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """A trial's ``user_attrs`` without the keys the study reserves for itself."""
    return {key: value for key, value in attrs.items() if key not in RESERVED_USER_ATTRS}
