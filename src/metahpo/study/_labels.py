"""How a stored study reads to a user: its optimizer, its state and what its end taught the
knowledge. The command line and the dashboard both show these, in the same words."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from metahpo.optimizers import optimizer_class_name
from metahpo.space import Space
from metahpo.storage import imported_from, is_finished
from metahpo.study._state import READY_META_MODELS_KEY
from metahpo.trial import FrozenTrial, TrialState

__all__ = ["knowledge_update_label", "optimizer_label", "space_difference", "study_state"]


def optimizer_label(optimizer: Mapping[str, Any], user_attrs: Mapping[str, Any], reason: bool = True) -> str:
    """A stored optimizer spec by its class name; for ``"auto"``, what it chose and why
    (``reason=False``: only that ``auto`` chose it, for a one-line listing); for a MetaBO
    named over a bundle, that it starts from the bundle's ready-trained meta-model.

    Example:
        >>> from metahpo.study import optimizer_label
        >>> optimizer_label({"name": "gpbo", "params": {"beta": 2.0}}, {})
        'GPBO'
        >>> choice = {"optimizer": "gpbo", "reason": "1 related task (MetaBO needs 3)"}
        >>> optimizer_label({"name": "gpbo"}, {"optimizer_choice": choice})
        'GPBO (auto: 1 related task (MetaBO needs 3))'
        >>> optimizer_label({"name": "metabo"}, {"ready_meta_models": "bundled:xgboost-classifier"})
        "MetaBO (starting from the ready-trained meta-model of 'bundled:xgboost-classifier')"
    """
    source = imported_from(user_attrs)
    if source is not None:
        # Stored as a random search, so that it can be reopened; no optimizer chose its trials.
        return f"none (imported from {source})" if reason else "none (imported)"
    name = optimizer_class_name(str(optimizer.get("name") or ""))
    choice = user_attrs.get("optimizer_choice")
    if not isinstance(choice, Mapping):
        ready = user_attrs.get(READY_META_MODELS_KEY)
        if not (isinstance(ready, str) and ready.startswith("bundled:")) or optimizer.get("name") != "metabo":
            return name
        return f"{name} (starting from the ready-trained meta-model of {ready!r})" if reason else f"{name} (ready-trained)"
    return f"{name} (auto: {choice.get('reason', '')})" if reason else f"{name} (auto)"


def knowledge_update_label(update: Mapping[str, Any]) -> str:
    """One line on what a study's end did to the meta-model (``user_attrs["knowledge_update"]``).

    Example:
        >>> from metahpo.study import knowledge_update_label
        >>> knowledge_update_label({"kept": False, "reason": "the old tasks' loss would rise"})
        "continual update discarded (the old tasks' loss would rise)"
    """
    if "meta_trained_on_tasks" in update:
        seconds = update.get("meta_training_seconds")
        took = (
            f" in {seconds:.0f} s"
            if isinstance(seconds, (int, float)) and math.isfinite(seconds)
            else ""
        )
        return f"meta-trained on {update['meta_trained_on_tasks']} tasks{took}"
    if "kept" not in update:  # an optimizer of the user's own reports what it likes
        return ", ".join(f"{key}: {value}" for key, value in update.items())
    if update["kept"]:
        return "continual update kept"
    return f"continual update discarded ({update.get('reason', 'no reason recorded')})"


def study_state(trials: Sequence[FrozenTrial], user_attrs: Mapping[str, Any]) -> str:
    """``"running"`` while a trial runs; ``"finished"`` once :meth:`~metahpo.Study.finish`
    was called and no trial has ended since; ``"idle"`` with trials, none running, and not
    finished; ``"empty"`` without trials.

    Example:
        >>> from metahpo.study import study_state
        >>> study_state([], {})
        'empty'
    """
    if any(t.state is TrialState.RUNNING for t in trials):
        return "running"
    if not trials:
        return "empty"
    return "finished" if is_finished(trials, user_attrs) else "idle"


def space_difference(stored: Space, given: Space) -> str:
    """The first difference between a study's space ``stored`` and another space, as words
    about the other: a parameter only in one of them, or one described otherwise.

    Example:
        >>> import metahpo as mh
        >>> from metahpo.study import space_difference
        >>> space_difference(mh.Space({"x": mh.Float(0, 1)}), mh.Space({"x": mh.Float(0, 2)}))
        "whose 'x' has high 2.0 where the study's has high 1.0"
    """
    stored_dict, given_dict = stored.to_dict(), given.to_dict()
    missing = [name for name in stored_dict if name not in given_dict]
    if missing:
        return f"which lacks the study's parameters {missing}"
    extra = [name for name in given_dict if name not in stored_dict]
    if extra:
        return f"whose parameters {extra} are not the study's"
    for name, entry in given_dict.items():
        # Defaults do not change what is searched: the fingerprint leaves them out too.
        fields = [k for k in dict.fromkeys([*stored_dict[name], *entry])
                  if k != "default" and stored_dict[name].get(k) != entry.get(k)]
        if fields:
            return (f"whose {name!r} has {_fields(entry, fields)} where the study's has "
                    f"{_fields(stored_dict[name], fields)}")
    return "whose parameters are described otherwise"


def _fields(entry: Mapping[str, Any], fields: list[str]) -> str:
    return ", ".join(f"{k} {json.dumps(entry[k])}" if k in entry else f"no {k}" for k in fields)
