"""The kind of problem (classification, regression) a study's task records, read one way
wherever a task is given (``create_study(task=)``, ``MetaHPOSampler(task=)``) or stored
(a study's ``user_attrs``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge._descriptors import TASK_TYPES, task_type_of
from metahpo.knowledge._task import Task, descriptor_of

__all__ = ["TASK_TYPE_KEY", "stored_task_kind", "stored_task_type", "task_kind", "task_type_attr"]

logger = logging.getLogger(__name__)

# The ignored kinds already reported, by their message (which names the study, and its
# storage when read as knowledge): a study's is logged once per process, not again at each
# opening of the study, of its optimizer or of its storage as knowledge. One short line per
# such study, and only studies written before such kinds were refused have one.
_warned: set[str] = set()

#: The study attribute holding the kind of problem a study records when its task does not:
#: a study created with a preset stores its preset's kind there (beside a task recording the
#: same kind too: a task given later is checked against it); a task written back as a study
#: (``KnowledgeBase.to_storage``) its :attr:`Task.kind`.
TASK_TYPE_KEY = "task_type"


def task_kind(task: Any, where: str) -> tuple[dict[str, float] | None, str | None]:
    """The descriptor of ``task`` and the kind of problem it records.

    ``task`` is a :class:`Task`, its ``to_dict()`` form, a descriptor dict or ``None``. Its
    kind is the descriptor's (``n_classes``, see :func:`task_type_of`), else the task's
    ``kind`` (``Task("mine", kind="regression")`` records a kind without a descriptor),
    else ``None``. ``where`` names the task in errors (``"the 'task' parameter of
    create_study"``): a task that is none of those forms, an invalid descriptor, a kind that
    is no kind, and a kind that contradicts the descriptor's ``n_classes`` are refused.

    Example:
        >>> from metahpo.knowledge import Task
        >>> task_kind(Task("mine", kind="regression"), "the task")
        (None, 'regression')
        >>> task_kind({"n_classes": 3.0}, "the task")
        ({'n_classes': 3.0}, 'classification')
    """
    descriptor, recorded, kind = _read_task(task, where)
    expected = _expected_kind(kind, recorded)
    if expected is not None:
        raise InvalidParameterError(f"The 'kind' of {where} must be {expected}. Got {describe(kind)} instead.")
    return descriptor, recorded if recorded is not None else kind


def stored_task_type(user_attrs: Mapping[str, Any], where: str = "the study's user_attrs['task']") -> str | None:
    """The kind of problem a stored study records: the kind its ``user_attrs["task"]``
    records (:func:`stored_task_kind`), else its ``user_attrs["task_type"]`` (a preset's kind),
    else ``None``.

    A stored ``kind`` that is no kind, or that contradicts the descriptor's ``n_classes``,
    is ignored with a warning naming ``where``, once per process (the descriptor's kind
    wins): it is the study's own data, written before such kinds were refused, and one
    study must not stop the study or a whole storage from opening.

    Example:
        >>> stored_task_type({"task": {"name": "mine", "kind": "regression"}})
        'regression'
        >>> stored_task_type({"task_type": "classification"}), stored_task_type({})
        ('classification', None)
    """
    _, kind = stored_task_kind(user_attrs.get("task"), where)
    return kind if kind is not None else task_type_attr(user_attrs)


def task_type_attr(user_attrs: Mapping[str, Any]) -> str | None:
    """The kind stored as a study's ``user_attrs["task_type"]`` (:data:`TASK_TYPE_KEY`): its
    preset's, or the kind of a task written back as a study; ``None`` when there is none or
    it is no kind.

    Example:
        >>> task_type_attr({"task_type": "regression"}), task_type_attr({"task_type": "multiclass"})
        ('regression', None)
    """
    stored = user_attrs.get(TASK_TYPE_KEY)
    return stored if stored in TASK_TYPES else None


def stored_task_kind(task: Any, where: str) -> tuple[dict[str, float] | None, str | None]:
    """The descriptor of a stored study's ``task`` and the kind of problem it records, read
    as :func:`task_kind` reads a task given, except that a ``kind`` that is no kind, or that
    contradicts the descriptor's ``n_classes``, is ignored with a warning naming ``where``
    (the descriptor's kind wins; the descriptor is kept): the study's own data, written
    before such kinds were refused, must not cost the study its task. The warning is logged
    once per process for each ``where``. A task of no known
    form, or with an invalid descriptor, is still refused.

    Example:
        >>> stored_task_kind({"name": "t", "kind": "multiclass", "descriptor": {"n_classes": 3.0}}, "the task")
        ({'n_classes': 3.0}, 'classification')
    """
    descriptor, recorded, kind = _read_task(task, where)
    expected = _expected_kind(kind, recorded)
    if expected is not None:
        message = f"The 'kind' of {where} must be {expected}. Got {describe(kind)} instead; it is ignored."
        if message not in _warned:
            _warned.add(message)
            logger.warning(message)
        kind = None
    return descriptor, recorded if recorded is not None else kind


def _read_task(task: Any, where: str) -> tuple[dict[str, float] | None, str | None, Any]:
    """The descriptor of ``task``, the kind its descriptor records and the ``kind`` it
    gives (unchecked); a task of no known form or with an invalid descriptor is refused."""
    if task is None:
        return None, None, None
    if not isinstance(task, (Task, Mapping)):
        raise InvalidParameterError(
            f"{_capitalised(where)} must be a metahpo Task (e.g. Task.from_data(X, y)), its "
            f"to_dict() form, a descriptor dict or None. Got {describe(task)} instead."
        )
    try:
        descriptor = descriptor_of(task)
    except InvalidParameterError as exc:
        raise InvalidParameterError(f"{_capitalised(where)} is not a valid task: {exc}") from exc
    # A mapping is a task's to_dict() form, with a kind of its own, when descriptor_of reads
    # it as one; otherwise it is a descriptor.
    if isinstance(task, Task):
        kind = task.kind
    else:
        kind = task.get("kind") if "name" in task or "descriptor" in task else None
    return descriptor, task_type_of(descriptor), kind


def _expected_kind(kind: Any, recorded: str | None) -> str | None:
    """What ``kind`` should have been when it is no kind or contradicts ``recorded`` (the
    descriptor's kind), else ``None``."""
    if kind is None or (kind in TASK_TYPES and recorded in (None, kind)):
        return None
    if recorded is not None:
        return f"{recorded!r}, as the n_classes of its descriptor records"
    return "'classification', 'regression' or None"


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]
