"""Cluster tasks on their descriptors (global structure) and response surfaces (local structure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from metahpo._validation import check_finite_number, check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge._lookup import LossLookup
from metahpo.knowledge._similarity import (
    DescriptorScale,
    comparable,
    descriptor_similarity,
    response_similarity,
    similarity_of_predictions,
)
from metahpo.knowledge._task import Task

__all__ = ["Clustering", "cluster_tasks", "similarity_matrix"]


@dataclass(frozen=True)
class Clustering:
    """Cluster labels of named tasks, JSON-able for storing (e.g. for the dashboard).

    Attributes:
        names: the task names, in the order they were given.
        labels: one label per name, ``0 .. k - 1``, numbered by first appearance.
        k: the number of clusters.
        silhouette: the silhouette score of the chosen ``k`` (``None`` when ``k == 1``).
        scores: the silhouette score of every ``k`` tried, by ``k``.
        method: how it was made: ``"average-linkage"`` (:func:`cluster_tasks`) or
            ``"meta-clustering"`` (:func:`~metahpo.knowledge.meta_cluster_tasks`; then the
            silhouettes are on the co-association distance of the chosen view).
        agreement: meta-clustering only: the mean adjusted Rand index of the result with
            the base clusterings of the chosen view.
        support: meta-clustering only: the fraction of base clusterings in that view.
        n_base: meta-clustering only: the number of base clusterings.
        n_views: meta-clustering only: the number of views (clusters of clusterings).
    """

    names: tuple[str, ...]
    labels: tuple[int, ...]
    k: int
    silhouette: float | None = None
    scores: Mapping[int, float] | None = None
    method: str = "average-linkage"
    agreement: float | None = None
    support: float | None = None
    n_base: int | None = None
    n_views: int | None = None

    def members(self, label: int) -> list[str]:
        return [n for n, lab in zip(self.names, self.labels, strict=True) if lab == label]

    def label_of(self, name: str) -> int:
        try:
            return self.labels[self.names.index(name)]
        except ValueError:
            raise InvalidParameterError(
                f"Task {name!r} is not in this clustering; it has {list(self.names)[:5]}..."
            ) from None

    def clusters(self) -> list[list[str]]:
        """The members of each cluster, by label."""
        return [self.members(label) for label in range(self.k)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "labels": list(self.labels),
            "k": self.k,
            "silhouette": self.silhouette,
            "scores": None if self.scores is None else {str(k): v for k, v in self.scores.items()},
            "method": self.method,
            "agreement": self.agreement,
            "support": self.support,
            "n_base": self.n_base,
            "n_views": self.n_views,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Clustering:
        if not isinstance(data, Mapping) or not {"names", "labels", "k"} <= set(data):
            raise InvalidParameterError(
                f"A clustering description must be a dict with 'names', 'labels' and 'k'. Got {describe(data)} instead."
            )
        names = tuple(str(n) for n in data["names"])
        labels = tuple(int(v) for v in data["labels"])
        if len(names) != len(labels):
            raise InvalidParameterError(
                f"A clustering description must have one label per name. Got {len(names)} names and {len(labels)} labels."
            )
        scores = data.get("scores")

        def optional(key: str, kind: type) -> Any:
            # Descriptions written before a field existed lack it.
            value = data.get(key)
            return None if value is None else kind(value)

        return cls(
            names,
            labels,
            int(data["k"]),
            optional("silhouette", float),
            None if scores is None else {int(k): float(v) for k, v in scores.items()},
            str(data.get("method", "average-linkage")),
            optional("agreement", float),
            optional("support", float),
            optional("n_base", int),
            optional("n_views", int),
        )


def similarity_matrix(tasks: Sequence[Task], method: str = "spearman") -> np.ndarray:
    """Symmetric ``(n, n)`` task similarities in ``[0, 1]`` (see :func:`similarity`).

    Descriptors are standardised over ``tasks``; response similarity is averaged over
    both directions.
    """
    n = len(tasks)
    scale = DescriptorScale.fit([t.descriptor for t in tasks])
    lookups: list[LossLookup | None] = []
    fingerprints = []
    for task in tasks:
        lookups.append(LossLookup(task) if task.has_evaluations else None)
        fingerprints.append(None if task.space is None else task.space.fingerprint())
    shared = _shared_design_responses(tasks, method)
    same_space = _SameSpaceResponses(tasks, lookups, method)
    out = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            parts = []
            desc = descriptor_similarity(tasks[i].descriptor, tasks[j].descriptor, scale)
            if desc is not None:
                parts.append(desc)
            responses: list[float]
            if (i, j) in shared:
                value = shared[i, j]
                responses = [] if value is None else [value]
            else:
                if fingerprints[i] is not None and fingerprints[i] == fingerprints[j]:
                    forward, backward = same_space(i, j), same_space(j, i)
                else:
                    forward = _response(tasks[i], tasks[j], lookups[j], method)
                    backward = _response(tasks[j], tasks[i], lookups[i], method)
                responses = [r for r in (forward, backward) if r is not None]
            if responses:
                parts.append(float(np.mean(responses)))
            out[i, j] = out[j, i] = float(np.mean(parts)) if parts else 0.5
    return out


def _shared_design_responses(
    tasks: Sequence[Task], method: str
) -> dict[tuple[int, int], float | None]:
    """Response similarities of tasks that evaluated the very same rows, computed at once.

    When two tasks hold the same (config, budget) rows in the same order, each without
    repeats (a meta-dataset's fixed design), the nearest-config lookup is the identity and
    the response similarity is the rank correlation of the two loss vectors: one matrix
    of ranks gives every pair. Other pairs are left to the general path.
    """
    if method != "spearman":
        return {}
    from scipy import stats

    groups: dict[tuple[str, tuple[Any, ...]], list[int]] = {}
    for index, task in enumerate(tasks):
        if task.space is None or task.n_evaluations < 3 or task.missing:
            continue
        budgets = [None] * task.n_evaluations if task.budgets is None else task.budgets.tolist()
        rows = tuple(zip(task.config_keys(), budgets, strict=True))
        if len(set(rows)) != len(rows):
            continue
        groups.setdefault((task.space.fingerprint(), rows), []).append(index)
    out: dict[tuple[int, int], float | None] = {}
    for members in groups.values():
        if len(members) < 2:
            continue
        losses = np.vstack([tasks[m].losses for m in members])
        ranks = stats.rankdata(losses, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = np.nan_to_num(np.corrcoef(ranks), nan=0.0)
        constant = np.ptp(losses, axis=1) == 0
        for a, i in enumerate(members):
            for b, j in enumerate(members):
                if i < j:
                    # As response_similarity: no answer for two constant tasks, 0.5 for one.
                    if constant[a] and constant[b]:
                        out[i, j] = None
                    elif constant[a] or constant[b]:
                        out[i, j] = 0.5
                    else:
                        out[i, j] = (1.0 + float(rho[a, b])) / 2.0
    return out


def _response(target: Task, other: Task, lookup: LossLookup | None, method: str) -> float | None:
    return None if lookup is None else response_similarity(target, other, method)


class _SameSpaceResponses:
    """Response similarities of tasks of one space, with the work shared between pairs.

    A target's loss ranks are computed once, and so are the nearest configs of its rows in
    a design (the evaluated configs of a meta-dataset) that several tasks share: for every
    task of that design the prediction is then a lookup of its losses. Same numbers as
    :func:`response_similarity`.
    """

    def __init__(self, tasks: Sequence[Task], lookups: Sequence[LossLookup | None], method: str) -> None:
        self.tasks, self.lookups, self.method = tasks, lookups, method
        designs = [None if lookup is None else lookup.design for lookup in lookups]
        self.shared_designs = {d for d in designs if d is not None and designs.count(d) > 1}
        self.ranks: dict[int, np.ndarray] = {}
        self.neighbours: dict[tuple[bytes, int], tuple[np.ndarray, np.ndarray]] = {}

    def __call__(self, target: int, other: int) -> float | None:
        """The similarity of task ``other``'s responses to task ``target``'s."""
        from scipy import stats

        lookup, task = self.lookups[other], self.tasks[target]
        if lookup is None or not comparable(task):
            return None
        key = (lookup.design, target)
        if key in self.neighbours:
            predicted = lookup.values_at(*self.neighbours[key])
        else:
            found = lookup.neighbours(task.unit, task.budgets)
            if lookup.design in self.shared_designs:
                self.neighbours[key] = found
            predicted = lookup.values_at(*found)
        if self.method == "spearman" and target not in self.ranks:
            self.ranks[target] = stats.rankdata(task.losses)
        return similarity_of_predictions(task.losses, predicted, self.method, self.ranks.get(target))


def cluster_tasks(
    tasks: Sequence[Task],
    max_clusters: int = 8,
    min_silhouette: float = 0.2,
    method: str = "spearman",
) -> Clustering:
    """Cluster ``tasks`` by average-linkage agglomeration on ``1 - similarity``.

    The number of clusters is the ``k`` in ``2 .. max_clusters`` with the best silhouette
    score (on the same distances); when no ``k`` reaches ``min_silhouette`` (or there are
    fewer than four tasks) all tasks form one cluster. Deterministic: no random start.

    Example:
        >>> import metahpo as mh
        >>> from metahpo.knowledge import cluster_tasks
        >>> space = mh.Space({"x": mh.Float(0.0, 1.0)})
        >>> xs = [{"x": v / 20} for v in range(20)]
        >>> tasks = [mh.Task(f"{s}{i}", space, xs, [(sign * (c["x"] - 0.5)) + 0.01 * i * c["x"] ** 2
        ...          for c in xs]) for s, sign in (("up", 1), ("down", -1)) for i in range(3)]
        >>> cluster_tasks(tasks).clusters()
        [['up0', 'up1', 'up2'], ['down0', 'down1', 'down2']]
    """
    max_clusters = check_int(max_clusters, "max_clusters", "cluster_tasks", minimum=2)
    min_silhouette = check_finite_number(min_silhouette, "min_silhouette", "cluster_tasks")
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise InvalidParameterError(
            "The 'tasks' parameter of cluster_tasks must have unique names."
        )
    n = len(tasks)
    if n < 4:
        return Clustering(tuple(names), tuple([0] * n), 1 if n else 0)
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform
    from sklearn.metrics import silhouette_score

    distance = 1.0 - similarity_matrix(tasks, method)
    np.fill_diagonal(distance, 0.0)
    distance = np.clip((distance + distance.T) / 2.0, 0.0, None)
    tree = linkage(squareform(distance, checks=False), method="average")
    best: tuple[float, int, np.ndarray] | None = None
    scores: dict[int, float] = {}
    for k in range(2, min(max_clusters, n - 1) + 1):
        labels = fcluster(tree, t=k, criterion="maxclust")
        if len(np.unique(labels)) < 2:
            continue
        score = float(silhouette_score(distance, labels, metric="precomputed"))
        scores[len(np.unique(labels))] = score
        if best is None or score > best[0] + 1e-12:
            best = (score, len(np.unique(labels)), labels)
    if best is None or best[0] < min_silhouette:
        return Clustering(tuple(names), tuple([0] * n), 1, None, scores)
    return Clustering(tuple(names), _canonical(best[2]), best[1], best[0], scores)


def _canonical(labels: np.ndarray) -> tuple[int, ...]:
    order: dict[int, int] = {}
    for label in labels:
        order.setdefault(int(label), len(order))
    return tuple(order[int(label)] for label in labels)
