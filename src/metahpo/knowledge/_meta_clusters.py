"""Meta-clustering: cluster the tasks many ways, cluster the clusterings, keep the consensus.

Caruana, Elhawary, Nguyen and Smith (2006), "Meta Clustering", ICDM: generate many diverse
base clusterings, measure how alike two clusterings are, and cluster the clusterings
themselves into *views*. Here the two levels are:

1. :func:`~metahpo.knowledge.base_clusterings` — on views of the tasks that weigh global
   structure (meta-features) against local structure (how the response surfaces rank the
   same configs), on all or random halves of the features and configs, with
   agglomerative, spectral and k-means clustering, each at its best ``k``.
2. :func:`consensus_clustering` — the distance between two clusterings is ``1 - adjusted
   Rand index``; average linkage cut at ``1 - min_agreement`` groups them into views. The
   view holding the most base clusterings (the majority reading of the tasks) gives the
   answer: the consensus of its members (Strehl and Ghosh, 2002; Monti et al., 2003), cut
   from their co-association matrix (the fraction of members that put two tasks together)
   by average linkage, with ``k`` of best silhouette.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from metahpo._validation import check_finite_number, check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge._clusters import Clustering
from metahpo.knowledge._ensemble import base_clusterings, canonical_labels
from metahpo.knowledge._structure import task_structure
from metahpo.knowledge._task import Task

__all__ = ["consensus_clustering", "meta_cluster_tasks"]

_METHOD = "meta-clustering"


def meta_cluster_tasks(
    tasks: Sequence[Task],
    max_clusters: int = 8,
    min_silhouette: float = 0.2,
    n_subsets: int = 2,
    min_agreement: float = 0.5,
    seed: int = 0,
) -> Clustering:
    """Cluster ``tasks`` on global and local structure by meta-clustering.

    The base clusterings (:func:`~metahpo.knowledge.base_clusterings`: five weightings of
    meta-features against response surfaces, on all and on ``n_subsets`` random halves of
    features and configs, by four algorithms, each ``k`` in ``2 .. max_clusters`` chosen by
    silhouette or one cluster below ``min_silhouette``) are clustered by ``1 - adjusted Rand
    index``; the largest group's consensus is the answer (:func:`consensus_clustering`).
    Tasks are best mapped onto one space first (``kb.tasks(space)``); tasks without
    evaluations are placed by their descriptor alone. Deterministic for a given ``seed``.

    Args:
        tasks: the tasks, with unique names.
        max_clusters: the largest ``k`` tried (an int >= 2).
        min_silhouette: below this silhouette a clustering says "one cluster".
        n_subsets: how many random halves of features and configs add views (>= 0).
        min_agreement: clusterings agreeing at least this much (adjusted Rand index, by
            average linkage) form one view; in ``(0, 1]``.
        seed: seeds the random halves, spectral clustering and k-means.

    Example:
        >>> import metahpo as mh
        >>> from metahpo.knowledge import meta_cluster_tasks
        >>> space = mh.Space({"x": mh.Float(0.0, 1.0)})
        >>> xs = [{"x": v / 20} for v in range(20)]
        >>> tasks = [mh.Task(f"{s}{i}", space, xs, [(sign * (c["x"] - 0.5)) + 0.01 * i * c["x"] ** 2
        ...          for c in xs]) for s, sign in (("up", 1), ("down", -1)) for i in range(3)]
        >>> result = meta_cluster_tasks(tasks)
        >>> result.clusters(), result.method
        ([['up0', 'up1', 'up2'], ['down0', 'down1', 'down2']], 'meta-clustering')
    """
    owner = "meta_cluster_tasks"
    if isinstance(tasks, Task) or not all(isinstance(t, Task) for t in tasks):
        raise InvalidParameterError(
            f"The 'tasks' parameter of {owner} must be a list of Task records. Got {describe(tasks)} instead."
        )
    max_clusters = check_int(max_clusters, "max_clusters", owner, minimum=2)
    min_silhouette = check_finite_number(min_silhouette, "min_silhouette", owner)
    n_subsets = check_int(n_subsets, "n_subsets", owner, minimum=0)
    min_agreement = _check_agreement(min_agreement, owner)
    seed = check_int(seed, "seed", owner, minimum=0)
    names = [t.name for t in tasks]
    if len(set(names)) != len(names):
        raise InvalidParameterError(f"The 'tasks' parameter of {owner} must have unique names.")
    base = base_clusterings(
        task_structure(tasks, seed=seed), max_clusters, min_silhouette, n_subsets, seed
    )
    if not base:
        return Clustering(
            tuple(names),
            tuple([0] * len(names)),
            1 if names else 0,
            method=_METHOD,
            n_base=0,
            n_views=0,
        )
    return consensus_clustering(
        names, [b.labels for b in base], max_clusters, min_silhouette, min_agreement
    )


def consensus_clustering(
    names: Sequence[str],
    base: Sequence[Sequence[int]],
    max_clusters: int = 8,
    min_silhouette: float = 0.2,
    min_agreement: float = 0.5,
) -> Clustering:
    """The consensus of the largest view among the base clusterings ``base`` of ``names``.

    Example:
        >>> from metahpo.knowledge import consensus_clustering
        >>> names = [f"task-{i}" for i in range(10)]
        >>> halves, one_moved, stripes = [0] * 5 + [1] * 5, [0] * 4 + [1] * 6, [0, 1] * 5
        >>> result = consensus_clustering(names, [halves] * 3 + [one_moved] + [stripes] * 2)
        >>> result.labels, result.n_views, round(result.support, 2)
        ((0, 0, 0, 0, 0, 1, 1, 1, 1, 1), 2, 0.67)
    """
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform
    from sklearn.metrics import adjusted_rand_score

    owner = "consensus_clustering"
    max_clusters = check_int(max_clusters, "max_clusters", owner, minimum=2)
    min_silhouette = check_finite_number(min_silhouette, "min_silhouette", owner)
    min_agreement = _check_agreement(min_agreement, owner)
    names = list(names)
    labels = _check_base(base, len(names), owner)
    # Equal partitions are common; the adjusted Rand index is computed once per distinct pair.
    distinct: dict[tuple[int, ...], int] = {}
    index = np.array([distinct.setdefault(lab, len(distinct)) for lab in labels])
    unique = list(distinct)
    ari = np.eye(len(unique))
    for i in range(len(unique)):
        for j in range(i + 1, len(unique)):
            ari[i, j] = ari[j, i] = adjusted_rand_score(unique[i], unique[j])
    agreement = ari[np.ix_(index, index)]
    if len(labels) == 1:
        views = np.zeros(1, dtype=int)
    else:
        distance = np.clip(1.0 - agreement, 0.0, None)
        np.fill_diagonal(distance, 0.0)
        tree = linkage(squareform(distance, checks=False), method="average")
        views = fcluster(tree, t=1.0 - min_agreement, criterion="distance") - 1
    sizes = np.bincount(views)
    # The largest view; among equals the more coherent, then the first made.
    coherence = [agreement[np.ix_(views == v, views == v)].mean() for v in range(len(sizes))]
    order = sorted(range(len(sizes)), key=lambda v: (-sizes[v], -coherence[v], v))
    members = np.flatnonzero(views == order[0])
    chosen = np.array([labels[m] for m in members])
    together = (chosen[:, :, None] == chosen[:, None, :]).mean(axis=0)
    result, k, silhouette, scores = _cut(together, max_clusters, min_silhouette)
    return Clustering(
        tuple(names),
        result,
        k,
        silhouette,
        scores,
        method=_METHOD,
        agreement=float(np.mean([adjusted_rand_score(result, labels[m]) for m in members])),
        support=float(len(members) / len(labels)),
        n_base=len(labels),
        n_views=len(sizes),
    )


def _cut(
    together: np.ndarray, max_clusters: int, min_silhouette: float
) -> tuple[tuple[int, ...], int, float | None, dict[int, float]]:
    """Average linkage on ``1 - co-association``, ``k`` by silhouette (or one cluster)."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform
    from sklearn.metrics import silhouette_score

    n = len(together)
    one = (tuple([0] * n), 1 if n else 0)
    distance = np.clip(1.0 - together, 0.0, None)
    np.fill_diagonal(distance, 0.0)
    if n < 3 or not np.any(distance > 0):
        return *one, None, {}
    tree = linkage(squareform(distance, checks=False), method="average")
    best: tuple[float, np.ndarray] | None = None
    scores: dict[int, float] = {}
    for k in range(2, min(max_clusters, n - 1) + 1):
        labels = fcluster(tree, t=k, criterion="maxclust")
        found = len(np.unique(labels))
        if found < 2 or found in scores:
            continue
        score = float(silhouette_score(distance, labels, metric="precomputed"))
        scores[found] = score
        if best is None or score > best[0] + 1e-12:
            best = (score, labels)
    if best is None or best[0] < min_silhouette:
        return *one, None, scores
    result = canonical_labels(best[1])
    return result, max(result) + 1, best[0], scores


def _check_agreement(value: object, owner: str) -> float:
    number = check_finite_number(value, "min_agreement", owner)
    if not 0.0 < number <= 1.0:
        raise InvalidParameterError(
            f"The 'min_agreement' parameter of {owner} must be a number in (0, 1]. Got {value!r} instead."
        )
    return number


def _check_base(base: object, n: int, owner: str) -> list[tuple[int, ...]]:
    if isinstance(base, (str, bytes)) or not isinstance(base, Sequence) or not base:
        raise InvalidParameterError(
            f"The 'base' parameter of {owner} must be a non-empty list of label sequences. "
            f"Got {describe(base)} instead."
        )
    out = []
    for i, labels in enumerate(base):
        values = np.asarray(labels)
        if values.shape != (n,) or not np.issubdtype(values.dtype, np.integer):
            raise InvalidParameterError(
                f"The 'base' parameter of {owner} must hold one integer label per name ({n}); "
                f"base[{i}] is {describe(labels)}."
            )
        out.append(canonical_labels(values))
    return out
