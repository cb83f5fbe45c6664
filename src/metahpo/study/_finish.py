"""A study's end: what its optimizer (or the MetaBO ``"auto"`` stood in for) learns from it,
and the marker that records it as finished."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from metahpo.storage import FINISHED_KEY, ended_trials, finished_marker
from metahpo.study._optimizer_choice import learner_after_auto

if TYPE_CHECKING:
    from metahpo.history import History
    from metahpo.storage import Storage
    from metahpo.trial import FrozenTrial

__all__ = ["finish_study"]

logger = logging.getLogger("metahpo.study")


class EndingStudy(Protocol):
    """What a study's end needs of it (:class:`~metahpo.study.Study` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def study_id(self) -> int: ...

    @property
    def storage(self) -> Storage: ...

    @property
    def optimizer(self) -> Any: ...

    @property
    def trials(self) -> list[FrozenTrial]: ...

    def history(self) -> History: ...


def finish_study(study: EndingStudy) -> dict[str, Any] | None:
    """What :meth:`Study.finish <metahpo.study.Study.finish>` does, for ``study``."""
    record = study.storage.get_study(study.name)
    n_ended = ended_trials(study.trials)  # one still running ends after: not part of it
    learner = learner_after_auto(record, study.storage)
    hook = getattr(study.optimizer if learner is None else learner, "on_study_end", None)
    try:
        summary = hook(study.history()) if hook is not None else None
    except Exception as exc:
        if learner is None:
            raise
        # What a GP-BO study's end learns for the next study is a bonus, not its result.
        logger.warning("Study %r: learning from it for the next study failed (%s).", study.name, exc)
        summary = None
    marker = record.user_attrs.get(FINISHED_KEY)
    attrs: dict[str, Any] = {}
    if not (isinstance(marker, dict) and marker.get("trials") == n_ended):  # else finished already
        attrs[FINISHED_KEY] = finished_marker(n_ended)
    if summary:
        attrs["knowledge_update"] = summary
    if attrs:
        study.storage.set_study_user_attrs(study.study_id, attrs)
    return summary
