"""Tasks on their way into a knowledge base: built from plain values (one task from
``add_task``'s arguments, or one per task of a design of experiments), checked as a batch
before any of them is added, and renamed apart from the tasks already there."""

from __future__ import annotations

import os
from collections.abc import Collection, Container, Iterable, Mapping, Sequence
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge._task import Task
from metahpo.space import Space

__all__ = ["check_new_tasks", "design_tasks", "listed_tasks", "task_from_values", "told_apart"]


def task_from_values(
    space: Space,
    configs: Sequence[Mapping[str, Any]],
    losses: Sequence[float] | Any,
    budgets: Sequence[float] | Any | None,
    descriptor: Mapping[str, float] | None,
    name: str | None,
    source: str,
    taken: Collection[str],
) -> Task:
    """The task :meth:`KnowledgeBase.add_task <metahpo.knowledge.KnowledgeBase.add_task>`
    adds; without a ``name``, the first ``"task-<n>"`` not in ``taken``, from
    ``n = len(taken)``."""
    if not isinstance(space, Space):
        raise InvalidParameterError(
            f"The 'space' parameter of add_task must be a metahpo Space. Got {describe(space)} instead."
        )
    if name is None:
        number = len(taken)
        while f"task-{number}" in taken:
            number += 1
        name = f"task-{number}"
    return Task(
        name=name,
        space=space,
        # Any iterable of configs, each checked (and copied) by the Task, naming its row.
        configs=_listed(configs),
        losses=losses,
        budgets=budgets,
        descriptor=descriptor,
        source=source,
    )


def _listed(configs: Any) -> Any:
    """Any iterable of configs as a list; anything else as given, for the Task to refuse."""
    return list(configs) if isinstance(configs, Iterable) and not isinstance(configs, (str, bytes, Mapping)) else configs


def design_tasks(
    space: Space,
    configs: Sequence[Mapping[str, Any]],
    losses: Mapping[str, Sequence[float]],
    descriptors: Mapping[str, Mapping[str, float]] | None = None,
    source: str = "memory",
    fidelities: Mapping[str, Mapping[float, Sequence[float]]] | None = None,
    max_budget: float | None = None,
) -> list[Task]:
    """The tasks of :meth:`KnowledgeBase.from_design
    <metahpo.knowledge.KnowledgeBase.from_design>`, one per key of ``losses``."""
    descriptors, fidelities = descriptors or {}, fidelities or {}
    full = 1.0 if max_budget is None else float(max_budget)
    tasks = []
    for name, values in losses.items():
        lower = [(float(b), list(v)) for b, v in dict(fidelities.get(name, {})).items()]
        rows = [*lower, (full, list(values))]
        tasks.append(
            Task(
                name=str(name),
                space=space,
                configs=[dict(c) for _, v in rows for c in configs],
                losses=[x for _, v in rows for x in v],
                budgets=[b for b, v in rows for _ in v] if lower else None,
                descriptor=descriptors.get(name),
                source=source,
            )
        )
    return tasks


def listed_tasks(tasks: Any, owner: str, one: bool = False) -> list[Any]:
    """``tasks`` as a list, for :func:`check_new_tasks` to check each of (``one``: a single
    Task is taken too). A str or path is refused pointing to ``KnowledgeBase.open``, which
    reads specs: iterated, it was one letter per task."""
    if one and isinstance(tasks, Task):
        return [tasks]
    expected = "a Task or an iterable of Task records" if one else "an iterable of Task records"
    if isinstance(tasks, (str, bytes, os.PathLike)):
        raise InvalidParameterError(
            f"The 'tasks' parameter of {owner} must be {expected}. Got {describe(tasks)} instead; "
            "to read a knowledge spec ('bundled:NAME', a storage URL, a directory) use "
            "KnowledgeBase.open(spec)."
        )
    if isinstance(tasks, Mapping) or not isinstance(tasks, Iterable):
        raise InvalidParameterError(
            f"The 'tasks' parameter of {owner} must be {expected}. Got {describe(tasks)} instead."
        )
    return list(tasks)


def check_new_tasks(batch: Sequence[Any], taken: Collection[str]) -> None:
    """Refuse a batch that holds anything but tasks, or a name in ``taken`` or twice."""
    names = set()
    for task in batch:
        if not isinstance(task, Task):
            raise InvalidParameterError(
                f"A knowledge base holds metahpo Task records. Got {describe(task)} instead."
            )
        if task.name in taken or task.name in names:
            raise InvalidParameterError(
                f"A task named {task.name!r} is already in the knowledge base; task names must be unique."
            )
        names.add(task.name)


def told_apart(tasks: Iterable[Task], taken: Container[str]) -> list[Task]:
    """``tasks``, each whose name is in ``taken`` renamed ``"<name> (<source>)"``.

    Two sources may name tasks alike (two bundles of one dataset, a study named like a
    bundled dataset): the later one's task is told apart by its source.
    """
    return [t if t.name not in taken else t.renamed(f"{t.name} ({t.source})") for t in tasks]
