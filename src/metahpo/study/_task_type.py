"""The kind of problem a study records (classification or regression), and a task of
another kind than the study's or its preset's refused."""

from __future__ import annotations

from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge import stored_task_type, task_type_attr
from metahpo.storage import StudyRecord

__all__ = ["check_task_kind", "study_task_type", "task_type_with"]


def study_task_type(record: StudyRecord) -> str | None:
    """The kind of problem a stored study records: its task's (the descriptor's, else the
    task's ``kind``), else its preset's (stored as ``"task_type"`` by a study created with a
    preset), or ``None``; read as the knowledge reads it
    (:func:`~metahpo.knowledge.stored_task_type`), so the finished study's task keeps it."""
    return stored_task_type(record.user_attrs, f"the 'task' of the study {record.name!r}")


def task_type_with(record: StudyRecord, kind: str | None, where: str, from_descriptor: bool) -> str | None:
    """The kind of problem the study of ``record`` records once given a task recording
    ``kind`` (the task's, else the kind stored as its ``"task_type"``, a preset's).

    A ``kind`` contradicting that stored kind is refused by :func:`check_task_kind`, as
    ``create_study`` refuses a task contradicting its preset: ``where`` names the task
    (``"The 'task' parameter of create_study"``), ``from_descriptor`` says whether its
    descriptor's ``n_classes`` records the kind (else the task's ``kind`` does).
    """
    stored = task_type_attr(record.user_attrs)
    check_task_kind(kind, stored, where, f"the study {record.name!r} (its stored 'task_type')", from_descriptor)
    return kind if kind is not None else stored


def check_task_kind(kind: str | None, wanted: str | None, where: str, owner: str, from_descriptor: bool) -> None:
    """Refuse a task recording the kind of problem ``kind`` for ``owner``, which is for
    ``wanted`` (a preset's kind): a task described as regression for a classifier's preset,
    or the other way round, is a mistake the losses would not show (a whole-number target
    reads as classes). ``where`` names the task (``"The 'task' parameter of
    create_study"``), ``owner`` what is for ``wanted`` (``"the 'hgb-classifier' preset"``),
    ``from_descriptor`` whether the descriptor's ``n_classes`` records ``kind`` (else the
    task's ``kind`` does). A ``kind`` or ``wanted`` of ``None`` contradicts nothing."""
    if kind is None or wanted is None or kind == wanted:
        return
    raise InvalidParameterError(
        f"{where} describes a {kind} dataset, but {owner} is for {wanted}. Give a task of "
        f"{wanted} data: {_kind_advice(wanted, from_descriptor)}; or, for {kind} data, "
        f"create a study with a {kind} preset or none."
    )


def _kind_advice(wanted: str, from_descriptor: bool) -> str:
    """How to give a task of the kind ``wanted`` when the kind given was another: the
    descriptor's (``from_descriptor``, from data whose target may have been misread), else
    the task's own ``kind``."""
    if from_descriptor:
        return (
            f"describe the data with mh.Task.from_data(X, y, task_type={wanted!r}) if its "
            "target was misread (a regression target of whole numbers reads as classes)"
        )
    return f"give the task the kind {wanted!r} (mh.Task(name, kind={wanted!r}))"
