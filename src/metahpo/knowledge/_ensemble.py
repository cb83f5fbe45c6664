"""Many diverse base clusterings of a set of tasks: the first level of meta-clustering.

Diversity comes the ways Caruana et al. (2006, "Meta Clustering") generate it:

* **views** of the tasks: the weight of global structure (meta-features) against local
  structure (response surfaces) in ``0, 1/4, 1/2, 3/4, 1``, each on all features and
  reference rows and on ``n_subsets`` random halves of both (see
  :mod:`metahpo.knowledge._structure`);
* **algorithms**: average- and complete-linkage agglomeration (scipy) on ``1 - similarity``,
  spectral clustering (scikit-learn) on a Gaussian kernel of that distance, and k-means
  (scikit-learn) on the task features whose distances the similarities are made of;
* **the number of clusters**: each algorithm cuts every ``k`` in ``2 .. max_clusters`` and
  keeps the ``k`` of best silhouette on the view's distance; a view in which no ``k``
  reaches ``min_silhouette`` says "one cluster".
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from metahpo._validation import check_finite_number, check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge._structure import TaskStructure, combine

__all__ = ["ALGORITHMS", "WEIGHTS", "BaseClustering", "base_clusterings", "canonical_labels"]

#: Weights of global structure (meta-features) against local (response surfaces).
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)
#: The base clustering algorithms.
ALGORITHMS = ("average", "complete", "spectral", "kmeans")


@dataclass(frozen=True)
class BaseClustering:
    """One base clustering and the view it was made on.

    Attributes:
        labels: one label per task, ``0 .. k - 1`` by first appearance.
        k: the number of clusters (1 when no ``k`` reached the silhouette threshold).
        algorithm: one of :data:`ALGORITHMS`.
        weight: the weight of global structure in the view's similarity.
        subset: 0 for all features and reference rows, ``i >= 1`` for the i-th random half.
        silhouette: the best silhouette on the view's distance (below the threshold when
            ``k`` is 1; ``None`` when no ``k`` could be scored).
    """

    labels: tuple[int, ...]
    k: int
    algorithm: str
    weight: float
    subset: int
    silhouette: float | None


def canonical_labels(labels: Sequence[int] | np.ndarray) -> tuple[int, ...]:
    """Labels renumbered ``0, 1, ...`` by first appearance, so equal partitions compare equal."""
    order: dict[int, int] = {}
    for label in labels:
        order.setdefault(int(label), len(order))
    return tuple(order[int(label)] for label in labels)


def base_clusterings(
    structure: TaskStructure,
    max_clusters: int = 8,
    min_silhouette: float = 0.2,
    n_subsets: int = 2,
    seed: int = 0,
) -> list[BaseClustering]:
    """The base clusterings of every view and algorithm, in a fixed order, seeded.

    Args:
        structure: the tasks' global and local structure (:func:`task_structure`).
        max_clusters: the largest ``k`` tried.
        min_silhouette: below this best silhouette a clustering says "one cluster".
        n_subsets: how many random halves of features and reference configs add views.
        seed: seeds the halves, spectral clustering and k-means.

    Returns:
        ``(n_subsets + 1) * 5 * 4`` clusterings (views x algorithms; one weight instead of
        five when the tasks have only one kind of structure), or none for fewer than four
        tasks or nothing to compare them on.

    Example:
        >>> import metahpo as mh
        >>> from metahpo.knowledge import base_clusterings, task_structure
        >>> tasks = [mh.Task(f"t{i}", descriptor={"n_samples": 10.0 ** (2 + 3 * (i // 3)) + i})
        ...          for i in range(6)]
        >>> base = base_clusterings(task_structure(tasks))
        >>> len(base), {b.labels for b in base}
        (12, {(0, 0, 0, 1, 1, 1)})
    """
    owner = "base_clusterings"
    if not isinstance(structure, TaskStructure):
        raise InvalidParameterError(
            f"The 'structure' parameter of {owner} must be a TaskStructure (see task_structure). "
            f"Got {describe(structure)} instead."
        )
    max_clusters = check_int(max_clusters, "max_clusters", owner, minimum=2)
    min_silhouette = check_finite_number(min_silhouette, "min_silhouette", owner)
    n_subsets = check_int(n_subsets, "n_subsets", owner, minimum=0)
    seed = check_int(seed, "seed", owner, minimum=0)
    n = len(structure.names)
    if n < 4 or not (structure.has_global or structure.has_local):
        return []
    from threadpoolctl import threadpool_limits

    # A few dozen tasks: starting OpenMP and BLAS threads costs ten times the work itself.
    with threadpool_limits(limits=1):
        return _ensemble(structure, max_clusters, min_silhouette, n_subsets, seed)


def _ensemble(
    structure: TaskStructure, max_clusters: int, min_silhouette: float, n_subsets: int, seed: int
) -> list[BaseClustering]:
    weights = _weights(structure)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xC1]))
    out = []
    for subset in range(n_subsets + 1):
        features, rows = _subset(structure, rng, whole=subset == 0)
        global_ = structure.global_similarity(features)
        local = structure.local_similarity(rows)
        for weight in weights:
            distance = np.clip(1.0 - combine(global_, local, weight), 0.0, None)
            np.fill_diagonal(distance, 0.0)
            embedding = np.hstack(
                [
                    np.sqrt(weight) * structure.global_features(features),
                    np.sqrt(1.0 - weight) * structure.local_features(rows),
                ]
            )
            # Algorithms often agree on a view: score each distinct partition once.
            silhouettes: dict[tuple[int, ...], float] = {}
            for algorithm in ALGORITHMS:
                state = int(rng.integers(2**31 - 1))
                cut = _cutter(algorithm, distance, embedding, state)
                labels, k, score = _best_cut(
                    cut, distance, max_clusters, min_silhouette, silhouettes
                )
                out.append(BaseClustering(labels, k, algorithm, weight, subset, score))
    return out


def _weights(structure: TaskStructure) -> tuple[float, ...]:
    # Without one kind of structure every weight gives the same view: keep one.
    if not structure.has_local:
        return (1.0,)
    if not structure.has_global:
        return (0.0,)
    return WEIGHTS


def _subset(
    structure: TaskStructure, rng: np.random.Generator, whole: bool
) -> tuple[np.ndarray | None, list[np.ndarray] | None]:
    if whole:
        return None, None
    count = len(structure.features)
    features = np.sort(rng.choice(count, max(min(2, count), count // 2), replace=False))
    rows = []
    for group in structure.groups:
        m = group.losses.shape[1]
        rows.append(np.sort(rng.choice(m, max(min(3, m), m // 2), replace=False)))
    return features, rows


def _cutter(
    algorithm: str, distance: np.ndarray, embedding: np.ndarray, state: int
) -> Callable[[int], np.ndarray]:
    """A function of ``k`` giving the labels of ``algorithm`` on one view."""
    if algorithm in ("average", "complete"):
        from scipy.cluster.hierarchy import fcluster, linkage
        from scipy.spatial.distance import squareform

        tree = linkage(squareform(distance, checks=False), method=algorithm)
        return lambda k: fcluster(tree, t=k, criterion="maxclust")
    if algorithm == "spectral":
        from sklearn.cluster import SpectralClustering

        off = distance[np.triu_indices(len(distance), k=1)]
        width = float(np.median(off)) if np.any(off > 0) else 1.0
        affinity = np.exp(-((distance / max(width, 1e-12)) ** 2) / 2.0)

        def spectral(k: int) -> np.ndarray:
            model = SpectralClustering(
                n_clusters=k, affinity="precomputed", assign_labels="cluster_qr", random_state=state
            )
            with warnings.catch_warnings():
                # A graph of nearly disconnected groups is what clusters are; sklearn warns.
                warnings.simplefilter("ignore", UserWarning)
                return np.asarray(model.fit_predict(affinity))

        return spectral
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    def kmeans(k: int) -> np.ndarray:
        with warnings.catch_warnings():
            # Fewer distinct tasks than k: the labels say so, the warning adds nothing.
            warnings.simplefilter("ignore", ConvergenceWarning)
            return np.asarray(
                KMeans(n_clusters=k, n_init=1, random_state=state).fit_predict(embedding)
            )

    return kmeans


def _best_cut(
    cut: Callable[[int], np.ndarray],
    distance: np.ndarray,
    max_clusters: int,
    min_silhouette: float,
    silhouettes: dict[tuple[int, ...], float],
) -> tuple[tuple[int, ...], int, float | None]:
    from sklearn.metrics import silhouette_score

    n = len(distance)
    best: tuple[float, tuple[int, ...]] | None = None
    for k in range(2, min(max_clusters, n - 1) + 1):
        labels = canonical_labels(cut(k))
        found = max(labels) + 1
        if found < 2 or found >= n:
            continue
        if labels not in silhouettes:
            silhouettes[labels] = float(silhouette_score(distance, labels, metric="precomputed"))
        score = silhouettes[labels]
        if best is None or score > best[0] + 1e-12:
            best = (score, labels)
    if best is None or best[0] < min_silhouette:
        return tuple([0] * n), 1, None if best is None else best[0]
    return best[1], max(best[1]) + 1, best[0]
