"""Meta-clustering: planted clusters found on either structure or both, the clustering of
clusterings, determinism, JSON, bad input, and the map drawn from it."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

import metahpo as mh
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge import (
    Clustering,
    KnowledgeBase,
    base_clusterings,
    consensus_clustering,
    meta_cluster_tasks,
    similarity_matrix,
    task_map,
    task_structure,
)
from metahpo.knowledge._structure import combine

SPACE = mh.Space({"x": mh.Float(0.0, 1.0), "y": mh.Float(0.0, 1.0)})
DESIGN = SPACE.sobol(32, seed=0)
OPTIMA = {0: (0.2, 0.2), 1: (0.8, 0.8), 2: (0.2, 0.8)}


def losses(kind: int, rng: np.random.Generator) -> list[float]:
    ox, oy = OPTIMA[kind]
    return [(c["x"] - ox) ** 2 + (c["y"] - oy) ** 2 + 0.02 * rng.normal() for c in DESIGN]


def descriptor(group: int, rng: np.random.Generator) -> dict[str, float]:
    return {
        "n_samples": (100.0, 30_000.0, 3e6)[group] * float(np.exp(0.02 * rng.normal())),
        "landmark_1nn": 0.5 + 0.2 * group + 0.005 * rng.normal(),
        "n_classes": 2.0,
    }


def planted(response_group, descriptor_group, size=5, seed=0, evaluations=True, descriptors=True):
    """``size`` tasks per group; a group's surface and descriptor come from the two maps."""
    rng = np.random.default_rng(seed)
    tasks, truth = [], []
    for group in sorted(set(response_group) | set(descriptor_group)):
        for i in range(size):
            tasks.append(
                mh.Task(
                    f"g{group}-{i}",
                    SPACE if evaluations else None,
                    DESIGN if evaluations else (),
                    losses(response_group[group], rng) if evaluations else [],
                    descriptor=descriptor(descriptor_group[group], rng) if descriptors else None,
                )
            )
            truth.append(group)
    return tasks, truth


THREE = {0: 0, 1: 1, 2: 2}


def test_planted_clusters_on_descriptors_alone() -> None:
    tasks, truth = planted(THREE, THREE, evaluations=False)
    result = meta_cluster_tasks(tasks)
    assert result.k == 3 and adjusted_rand_score(truth, result.labels) == 1.0
    assert result.method == "meta-clustering" and result.support == 1.0


def test_planted_clusters_on_response_surfaces_alone() -> None:
    tasks, truth = planted(THREE, THREE, descriptors=False)
    result = meta_cluster_tasks(tasks)
    assert result.k == 3 and adjusted_rand_score(truth, result.labels) == 1.0


def test_both_structures_combined_find_what_neither_finds_alone() -> None:
    # Descriptors tell group 0 from {1, 2}; response surfaces tell {0, 1} from group 2.
    tasks, truth = planted({0: 0, 1: 0, 2: 1}, {0: 0, 1: 1, 2: 1})
    result = meta_cluster_tasks(tasks)
    assert result.k == 3 and adjusted_rand_score(truth, result.labels) == 1.0
    alone = [b for b in base_clusterings(task_structure(tasks)) if b.weight in (0.0, 1.0)]
    assert alone and all(b.k == 2 for b in alone)
    assert max(adjusted_rand_score(truth, b.labels) for b in alone) < 0.7


def test_no_structure_gives_one_cluster() -> None:
    rng = np.random.default_rng(1)
    tasks = [mh.Task(f"n{i}", SPACE, DESIGN, list(rng.normal(size=len(DESIGN)))) for i in range(12)]
    result = meta_cluster_tasks(tasks)
    assert result.k == 1 and result.labels == (0,) * 12 and result.silhouette is None


def test_deterministic_for_a_seed() -> None:
    tasks, truth = planted({0: 0, 1: 1}, {0: 1, 1: 0}, size=4, seed=3)
    first = meta_cluster_tasks(tasks, n_subsets=1, seed=4)
    assert first == meta_cluster_tasks(tasks, n_subsets=1, seed=4)
    assert adjusted_rand_score(truth, first.labels) == 1.0
    assert adjusted_rand_score(truth, meta_cluster_tasks(tasks, n_subsets=1, seed=5).labels) == 1.0


def test_the_consensus_agrees_with_the_majority_of_base_clusterings() -> None:
    tasks, _ = planted({0: 0, 1: 0, 2: 1}, {0: 0, 1: 1, 2: 1}, seed=2)
    base = base_clusterings(task_structure(tasks), n_subsets=2, seed=0)
    assert len(base) == 3 * 5 * 4
    assert {b.algorithm for b in base} == {"average", "complete", "spectral", "kmeans"}
    assert len({b.labels for b in base}) > 1  # the views do disagree
    result = meta_cluster_tasks(tasks, n_subsets=2, seed=0)
    agreeing = [adjusted_rand_score(result.labels, b.labels) > 0.9 for b in base]
    assert sum(agreeing) > len(base) / 2
    assert result.n_base == len(base) and result.support is not None and result.support > 0.5
    assert result.agreement is not None and result.agreement > 0.8


def test_clustering_of_clusterings_picks_the_largest_view() -> None:
    names = [f"t{i}" for i in range(12)]
    majority = [0] * 6 + [1] * 6
    near = [0] * 5 + [1] * 7  # one task moved: the same view
    other = [0, 1] * 6
    result = consensus_clustering(names, [majority] * 4 + [near] + [other] * 3)
    assert result.labels == tuple(majority) and result.k == 2
    assert result.n_views == 2 and result.support == pytest.approx(5 / 8)
    assert result.agreement == pytest.approx((4 + adjusted_rand_score(majority, near)) / 5)
    # Relabelled copies are the same partition.
    relabelled = consensus_clustering(names, [[1 - v for v in other]] * 5 + [majority] * 4)
    assert relabelled.labels == tuple(other)
    # A majority of "one cluster" answers wins too.
    alone = consensus_clustering(names, [[0] * 12] * 3 + [majority] * 2)
    assert alone.k == 1 and alone.support == pytest.approx(3 / 5)
    # A stricter agreement splits the near copy off into a view of its own.
    strict = consensus_clustering(names, [majority] * 4 + [near] + [other] * 3, min_agreement=0.9)
    assert strict.n_views == 3 and strict.support == pytest.approx(4 / 8)


def test_json_round_trip_and_old_descriptions() -> None:
    tasks, _ = planted(THREE, THREE, size=3)
    result = meta_cluster_tasks(tasks, n_subsets=0)
    back = Clustering.from_dict(json.loads(json.dumps(result.to_dict())))
    assert back == result and back.n_views == result.n_views
    old = {"names": ["a", "b"], "labels": [0, 1], "k": 2, "silhouette": 0.5, "scores": {"2": 0.5}}
    loaded = Clustering.from_dict(old)
    assert (
        loaded.method == "average-linkage"
        and loaded.agreement is None
        and loaded.scores == {2: 0.5}
    )


def test_few_tasks_and_tasks_without_anything_to_compare() -> None:
    tasks, _ = planted(THREE, THREE, size=1)
    assert meta_cluster_tasks(tasks).labels == (0, 0, 0)
    bare = [mh.Task(f"b{i}") for i in range(5)]
    result = meta_cluster_tasks(bare)
    assert result.k == 1 and result.n_base == 0
    assert meta_cluster_tasks([]).k == 0


def test_structure_matches_the_pairwise_similarity_on_a_shared_design() -> None:
    tasks, _ = planted(THREE, THREE, size=3)
    structure = task_structure(tasks)
    even = combine(structure.global_similarity(), structure.local_similarity(), 0.5)
    np.testing.assert_allclose(even, similarity_matrix(tasks), atol=1e-12)


def test_structure_of_tasks_on_their_own_configs() -> None:
    rng = np.random.default_rng(0)
    tasks = []
    for group in (0, 1):
        for i in range(4):
            configs = SPACE.sample(np.random.default_rng(10 * group + i), 40)
            ox, oy = OPTIMA[group]
            values = [
                (c["x"] - ox) ** 2 + (c["y"] - oy) ** 2 + 0.01 * rng.normal() for c in configs
            ]
            tasks.append(mh.Task(f"own{group}-{i}", SPACE, configs, values))
    result = meta_cluster_tasks(tasks)
    assert result.labels == (0, 0, 0, 0, 1, 1, 1, 1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_clusters": 1}, "'max_clusters' parameter of meta_cluster_tasks must be an int >= 2"),
        ({"n_subsets": -1}, "'n_subsets' parameter of meta_cluster_tasks must be an int >= 0"),
        (
            {"min_agreement": 0.0},
            r"'min_agreement' parameter of meta_cluster_tasks must be a number in \(0, 1\]",
        ),
        ({"min_agreement": 1.5}, r"must be a number in \(0, 1\]. Got 1.5"),
        (
            {"min_silhouette": "high"},
            "'min_silhouette' parameter of meta_cluster_tasks must be a finite number",
        ),
        ({"seed": -2}, "'seed' parameter of meta_cluster_tasks must be an int >= 0"),
    ],
)
def test_bad_parameters_are_refused(kwargs, match) -> None:
    tasks, _ = planted(THREE, THREE, size=2)
    with pytest.raises(InvalidParameterError, match=match):
        meta_cluster_tasks(tasks, **kwargs)


def test_bad_tasks_and_base_clusterings_are_refused() -> None:
    tasks, _ = planted(THREE, THREE, size=2)
    with pytest.raises(InvalidParameterError, match="list of Task records"):
        meta_cluster_tasks(["a", "b"])
    with pytest.raises(InvalidParameterError, match="list of Task records"):
        meta_cluster_tasks(tasks[0])
    with pytest.raises(InvalidParameterError, match="unique names"):
        meta_cluster_tasks(tasks + tasks[:1])
    with pytest.raises(InvalidParameterError, match="'structure' parameter of base_clusterings"):
        base_clusterings(tasks)
    with pytest.raises(InvalidParameterError, match="'max_clusters' parameter of base_clusterings"):
        base_clusterings(task_structure(tasks), max_clusters=0)
    with pytest.raises(InvalidParameterError, match="'max_reference' parameter of task_structure"):
        task_structure(tasks, max_reference=2)
    with pytest.raises(InvalidParameterError, match="'tasks' parameter of task_structure"):
        task_structure([1, 2])
    with pytest.raises(InvalidParameterError, match="non-empty list of label sequences"):
        consensus_clustering(["a", "b"], [])
    with pytest.raises(InvalidParameterError, match=r"one integer label per name \(2\); base\[1\]"):
        consensus_clustering(["a", "b"], [[0, 1], [0, 1, 2]])
    with pytest.raises(InvalidParameterError, match="one integer label per name"):
        consensus_clustering(["a", "b"], [[0.5, 1.0]])
    with pytest.raises(
        InvalidParameterError, match=r"'method' parameter of KnowledgeBase\.clusters"
    ):
        KnowledgeBase(tasks).clusters(SPACE, method="kmeans")


def test_knowledge_base_clusters_by_meta_clustering_by_default() -> None:
    tasks, truth = planted(THREE, THREE, size=3)
    kb = KnowledgeBase(tasks)
    meta = kb.clusters(SPACE)
    assert meta.method == "meta-clustering" and adjusted_rand_score(truth, meta.labels) == 1.0
    single = kb.clusters(SPACE, method="average-linkage")
    assert single.method == "average-linkage" and single.n_base is None


def test_the_map_shows_the_meta_clusters() -> None:
    tasks, truth = planted(THREE, THREE, size=4)
    mapped = task_map(tasks, seed=1)
    assert mapped.labels == meta_cluster_tasks(tasks, seed=1).labels and mapped.k == 3
    assert adjusted_rand_score(truth, mapped.labels) == 1.0
    distance = np.linalg.norm(mapped.xy[:, None] - mapped.xy[None], axis=-1)
    same = np.equal.outer(truth, truth)
    assert distance[~same].min() > distance[same].max()
    assert np.isfinite(mapped.xy).all() and 0.0 <= mapped.stress < 0.3


def test_docstring_examples() -> None:
    import metahpo.knowledge._ensemble as ensemble
    import metahpo.knowledge._meta_clusters as meta
    import metahpo.knowledge._structure as structure

    for module in (ensemble, meta, structure):
        assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0
