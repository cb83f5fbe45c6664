"""The 2-D task map: tasks placed so that similar tasks lie close, coloured by cluster."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from metahpo._validation import check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge._clusters import Clustering, cluster_tasks, similarity_matrix
from metahpo.knowledge._task import Task

__all__ = ["TaskMap", "task_map"]


@dataclass(frozen=True, eq=False)
class TaskMap:
    """Where each task lies on the map, and its cluster.

    Attributes:
        names: the task names, in the order given.
        xy: ``(n, 2)`` coordinates; distances approximate ``1 - similarity``.
        labels: each task's cluster (see :func:`~metahpo.knowledge.cluster_tasks`).
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


def task_map(
    tasks: Sequence[Task], seed: int = 0, clustering: Clustering | None = None
) -> TaskMap:
    """Embed ``tasks`` in two dimensions by metric multidimensional scaling (MDS).

    The distance between two tasks is ``1 - similarity`` (:func:`similarity_matrix`:
    descriptors and response surfaces), the same distance the clusters are cut from, so
    a cluster is a group on the map. scikit-learn's SMACOF MDS starts from classical
    (Torgerson) MDS and is seeded; the result is centred, turned to its principal axes
    and each axis flipped so its largest coordinate is positive, so the same tasks and
    seed give the same picture. Tasks are best given mapped onto one space
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
        raise InvalidParameterError("The 'tasks' parameter of task_map must not be empty. Got [] instead.")
    seed = check_int(seed, "seed", "task_map", minimum=0)
    if clustering is None:
        clustering = cluster_tasks(tasks)
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
    from sklearn.manifold import MDS

    # scikit-learn's own classical start takes the square root of negative eigenvalues
    # (1 - similarity is not a Euclidean distance) and fails on NaN; ours clips them.
    start = _classical_mds(distance, seed)
    if "metric_mds" in inspect.signature(MDS).parameters:  # scikit-learn >= 1.8
        mds = MDS(n_components=2, metric_mds=True, metric="precomputed", init="random",
                  n_init=1, random_state=seed)
    else:
        mds = MDS(n_components=2, dissimilarity="precomputed", n_init=1, random_state=seed)
    xy = np.asarray(mds.fit_transform(distance, init=start), dtype=float)
    return _canonical_orientation(xy)


def _classical_mds(distance: np.ndarray, seed: int) -> np.ndarray:
    """Torgerson's classical MDS: the top two eigenvectors of the double-centred squared
    distances, scaled by the root of their eigenvalues (negative ones clipped to 0)."""
    n = len(distance)
    centring = np.eye(n) - np.full((n, n), 1.0 / n)
    gram = -0.5 * centring @ (distance**2) @ centring
    values, vectors = np.linalg.eigh(gram)
    top = np.argsort(values)[::-1][:2]
    xy = vectors[:, top] * np.sqrt(np.clip(values[top], 0.0, None))
    # A start with all points equal gives SMACOF nothing to move; spread them a little.
    if not np.any(np.abs(xy) > 1e-12):
        xy = np.random.default_rng(seed).normal(scale=1e-3, size=(n, 2))
    return xy


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
