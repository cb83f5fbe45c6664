"""What a knowledge base shows of its tasks for one target space: the tasks mapped onto it,
the nearest to a target, their clusters, and the ones a new task should learn from."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge._clusters import Clustering, cluster_tasks
from metahpo.knowledge._lookup import LossLookup
from metahpo.knowledge._mapping import map_task
from metahpo.knowledge._meta_clusters import meta_cluster_tasks
from metahpo.knowledge._similarity import nearest
from metahpo.knowledge._task import Task
from metahpo.space import Space

__all__ = ["SpaceViews", "cluster_with", "relevant_tasks"]

# A target space as the views are kept for it: its fingerprint and its parameter order.
SpaceKey = tuple[str, tuple[str, ...]]


def _space_key(space: Space) -> SpaceKey:
    return space.fingerprint(), tuple(space.names)


class SpaceViews:
    """The tasks mapped onto each target space and their loss lookups, kept between calls.

    Tasks are immutable and never removed, so only adding a task makes them stale: the
    knowledge base calls :meth:`clear` then.
    """

    def __init__(self) -> None:
        self._mapped: dict[SpaceKey, list[Task]] = {}
        self._lookups: dict[SpaceKey, dict[str, LossLookup]] = {}

    def clear(self) -> None:
        self._mapped.clear()
        self._lookups.clear()

    def mapped(self, tasks: Iterable[Task], space: Space) -> list[Task]:
        """``tasks`` with evaluations mapped onto ``space``; those sharing no parameter are
        left out (see :func:`~metahpo.knowledge.map_task`)."""
        key = _space_key(space)
        if key not in self._mapped:
            out = []
            for task in tasks:
                mapped = map_task(task, space) if task.has_evaluations else None
                if mapped is not None:
                    out.append(mapped)
            self._mapped[key] = out
        return list(self._mapped[key])

    def nearest(
        self, target: Task, pool: list[Task], k: int | None, space: Space
    ) -> list[tuple[Task, float]]:
        """The ``k`` tasks of ``pool`` (mapped onto ``space``) most similar to ``target``.

        A target in ``space`` itself (same columns) is compared through the tasks' loss
        lookups, built once per task and space when it has observations to compare.
        """
        key = _space_key(space)
        lookups = self._lookups.setdefault(key, {})
        same_columns = (
            target.space is not None
            and tuple(target.space.names) == key[1]
            and target.space.fingerprint() == key[0]
        )
        if not same_columns:
            return nearest(target, pool, k)
        if target.n_evaluations >= 3:
            for task in pool:
                if task.name not in lookups:
                    lookups[task.name] = LossLookup(task)
        return nearest(target, pool, k, lookups=lookups)


def cluster_with(tasks: list[Task], method: str, kwargs: dict[str, Any]) -> Clustering:
    """The clustering of ``tasks`` by ``method`` (``"meta"`` or ``"average-linkage"``)."""
    if method == "meta":
        return meta_cluster_tasks(tasks, **kwargs)
    if method == "average-linkage":
        return cluster_tasks(tasks, **kwargs)
    raise InvalidParameterError(
        "The 'method' parameter of KnowledgeBase.clusters must be 'meta' or "
        f"'average-linkage'. Got {describe(method)} instead."
    )


def relevant_tasks(
    pool: list[Task],
    target: Task | None,
    k: int | None,
    rank: Callable[[Task], list[tuple[Task, float]]],
) -> list[Task]:
    """The tasks of ``pool`` to learn from for ``target`` (see
    :meth:`KnowledgeBase.relevant <metahpo.knowledge.KnowledgeBase.relevant>`); ``rank(target)``
    gives the ``k`` nearest tasks to ``target``, best first."""
    if not pool or target is None:
        return pool
    features = set(target.descriptor or ())
    comparable = any(features & set(task.descriptor or ()) for task in pool) or (
        target.space is not None and target.n_evaluations >= 3
    )
    if not comparable:
        return pool
    ranked = rank(target)
    if k is not None:
        return [task for task, _ in ranked]
    clustering = cluster_tasks(pool)
    label = clustering.label_of(ranked[0][0].name)
    members = set(clustering.members(label))
    return [task for task in pool if task.name in members]
