"""The 2-D task map: tasks placed so that similar tasks lie close, coloured by cluster."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from metahpo._validation import check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge._clusters import Clustering, similarity_matrix
from metahpo.knowledge._meta_clusters import meta_cluster_tasks
from metahpo.knowledge._task import Task

__all__ = ["TaskMap", "task_map"]


@dataclass(frozen=True, eq=False)
class TaskMap:
    """Where each task lies on the map, and its cluster.

    Attributes:
        names: the task names, in the order given.
        xy: ``(n, 2)`` coordinates; distances approximate ``1 - similarity``.
        labels: each task's cluster (by default :func:`~metahpo.knowledge.meta_cluster_tasks`).
        k: the number of clusters.
        stress: Kruskal's stress-1 of the embedding (0 is a perfect fit of the distances).
    """

    names: tuple[str, ...]
    xy: np.ndarray
    labels: tuple[int, ...]
    k: int
    stress: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "names": list(self.names),
            "xy": self.xy.tolist(),
            "labels": list(self.labels),
            "k": self.k,
            "stress": self.stress,
        }


def task_map(tasks: Sequence[Task], seed: int = 0, clustering: Clustering | None = None) -> TaskMap:
    """Embed ``tasks`` in two dimensions by metric multidimensional scaling (MDS).

    The distance between two tasks is ``1 - similarity`` (:func:`similarity_matrix`:
    descriptors and response surfaces weighed equally, the middle view the clusters of
    :func:`~metahpo.knowledge.meta_cluster_tasks` are drawn from), so a cluster is a group
    on the map. The embedding is scikit-learn's: ``sklearn.manifold.MDS`` (metric SMACOF on
    the precomputed distances) started from ``sklearn.manifold.ClassicalMDS`` (Torgerson);
    the result is centred, turned to its principal axes and each axis flipped so its
    largest coordinate is positive, so the same tasks and seed give the same picture.
    ``seed`` also seeds the clustering. Tasks are best given mapped onto one space
    (``kb.tasks(space)``): response similarity compares losses at the same configs.

    Example:
        >>> import metahpo as mh
        >>> from metahpo.knowledge import task_map
        >>> space = mh.Space({"x": mh.Float(0.0, 1.0)})
        >>> xs = [{"x": v / 10} for v in range(11)]
        >>> tasks = [mh.Task(f"t{i}", space, xs, [abs(c["x"] - o) for c in xs])
        ...          for i, o in enumerate([0.1, 0.15, 0.2, 0.8, 0.85, 0.9])]
        >>> result = task_map(tasks)
        >>> result.xy.shape, result.k, result.labels
        ((6, 2), 2, (0, 0, 0, 1, 1, 1))
    """
    if isinstance(tasks, Task) or not all(isinstance(t, Task) for t in tasks):
        raise InvalidParameterError(
            f"The 'tasks' parameter of task_map must be a list of Task records. Got {describe(tasks)} instead."
        )
    tasks = list(tasks)
    if not tasks:
        raise InvalidParameterError(
            "The 'tasks' parameter of task_map must not be empty. Got [] instead."
        )
    seed = check_int(seed, "seed", "task_map", minimum=0)
    if clustering is None:
        clustering = meta_cluster_tasks(tasks, seed=seed)
    elif list(clustering.names) != [t.name for t in tasks]:
        raise InvalidParameterError(
            "The 'clustering' parameter of task_map must cluster the same tasks, in the same "
            f"order. Got {list(clustering.names)[:5]} for tasks {[t.name for t in tasks][:5]}."
        )
    n = len(tasks)
    distance = np.zeros((n, n))
    if n > 1:
        similarity = similarity_matrix(tasks)
        distance = np.clip(1.0 - (similarity + similarity.T) / 2.0, 0.0, None)
        np.fill_diagonal(distance, 0.0)
    xy = _embed(distance, seed)
    return TaskMap(
        names=tuple(t.name for t in tasks),
        xy=xy,
        labels=tuple(clustering.labels),
        k=clustering.k,
        stress=_stress(distance, xy),
    )


def _embed(distance: np.ndarray, seed: int) -> np.ndarray:
    n = len(distance)
    if n == 1:
        return np.zeros((1, 2))
    if n == 2:
        half = distance[0, 1] / 2.0
        return np.array([[half, 0.0], [-half, 0.0]])
    if not np.any(distance > 0):
        return np.zeros((n, 2))
    import sklearn.manifold as manifold

    if not hasattr(manifold, "ClassicalMDS"):  # scikit-learn < 1.8: seeded random starts
        mds = manifold.MDS(n_components=2, dissimilarity="precomputed", n_init=4, random_state=seed)
        return _canonical_orientation(np.asarray(mds.fit_transform(distance), dtype=float))
    with np.errstate(invalid="ignore"):
        start = manifold.ClassicalMDS(n_components=2, metric="precomputed").fit_transform(distance)
    # 1 - similarity is not a Euclidean distance: an axis whose eigenvalue is negative has
    # no real extent, and ClassicalMDS gives it NaN coordinates; it belongs at 0.
    start = np.nan_to_num(np.asarray(start, dtype=float), nan=0.0)
    # A start with all points equal gives SMACOF nothing to move; spread them a little.
    if not np.any(np.abs(start) > 1e-12):
        start = np.random.default_rng(seed).normal(scale=1e-3, size=(n, 2))
    mds = manifold.MDS(
        n_components=2,
        metric_mds=True,
        metric="precomputed",
        init="random",
        n_init=1,
        random_state=seed,
    )
    return _canonical_orientation(np.asarray(mds.fit_transform(distance, init=start), dtype=float))


def _canonical_orientation(xy: np.ndarray) -> np.ndarray:
    """Centre, rotate onto the principal axes, flip each axis so its largest |value| is > 0."""
    centred = xy - xy.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    turned = centred @ vt.T
    for axis in range(turned.shape[1]):
        column = turned[:, axis]
        if column[np.argmax(np.abs(column))] < 0:
            turned[:, axis] = -column
    return turned


def _stress(distance: np.ndarray, xy: np.ndarray) -> float:
    fitted = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=-1))
    total = float((distance**2).sum())
    return 0.0 if total == 0.0 else float(np.sqrt(((distance - fitted) ** 2).sum() / total))
