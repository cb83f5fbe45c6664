"""Similarity, nearest tasks and clusters on two planted families."""

from __future__ import annotations

import json

import numpy as np
import pytest
from _knowledge_families import UNIT2, unit_family_tasks

import metahpo as mh
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge import (
    Clustering,
    KnowledgeBase,
    Task,
    cluster_tasks,
    descriptor_similarity,
    nearest,
    response_similarity,
    similarity,
)
from metahpo.testing.synthetic import QuadraticFamily, ShiftedBranin

NAMES = [str(i) for i in range(8)]


def _families(descriptors: bool = False) -> tuple[list[Task], list[Task]]:
    branin = unit_family_tasks(
        ShiftedBranin(n_tasks=10),
        NAMES,
        "branin-",
        descriptor_centre=(1.0, 0.0) if descriptors else None,
    )
    quadratic = unit_family_tasks(
        QuadraticFamily(dim=2, n_tasks=10),
        NAMES,
        "quad-",
        descriptor_centre=(0.0, 1.0) if descriptors else None,
    )
    return branin, quadratic


def test_response_similarity_is_rank_based() -> None:
    space = mh.Space({"x": mh.Float(0.0, 1.0)})
    xs = [{"x": v / 19} for v in range(20)]
    base = Task("a", space, xs, [(c["x"] - 0.31) ** 2 for c in xs])
    monotone = Task("b", space, xs, [np.exp(3 * (c["x"] - 0.31) ** 2) for c in xs])
    reversed_ = Task("c", space, xs, [-((c["x"] - 0.31) ** 2) for c in xs])
    assert response_similarity(base, monotone) == pytest.approx(1.0)
    assert response_similarity(base, reversed_) == pytest.approx(0.0)
    assert response_similarity(base, monotone, method="kendall") == pytest.approx(1.0)
    assert response_similarity(Task("few", space, xs[:2], [0.0, 1.0]), base) is None
    with pytest.raises(InvalidParameterError, match="'method'"):
        response_similarity(base, monotone, method="pearson")


def test_response_similarity_uses_nearby_configs_when_designs_differ() -> None:
    space = mh.Space({"x": mh.Float(0.0, 1.0)})
    rng = np.random.default_rng(0)
    a_x, b_x = rng.random(40), rng.random(40)
    a = Task("a", space, [{"x": float(v)} for v in a_x], (a_x - 0.7) ** 2)
    b = Task("b", space, [{"x": float(v)} for v in b_x], 5 * (b_x - 0.7) ** 2 + 1)
    c = Task("c", space, [{"x": float(v)} for v in b_x], (b_x - 0.1) ** 2)
    assert response_similarity(a, b) > 0.9
    assert response_similarity(a, c) < 0.5


def test_descriptor_similarity_is_one_for_equal_descriptors() -> None:
    assert descriptor_similarity({"n": 5.0}, {"n": 5.0}) == 1.0
    assert descriptor_similarity({"n": 5.0}, {"m": 5.0}) is None
    assert descriptor_similarity({"n": 5.0}, {"n": 500.0}) < 0.1
    assert similarity(Task("a", descriptor={"n": 1.0}), Task("b")) == 0.5


@pytest.mark.parametrize("held_out", ["8", "9"])
def test_nearest_with_observations_finds_the_family(held_out: str) -> None:
    branin, quadratic = _families()
    family = QuadraticFamily(dim=2, n_tasks=10)
    configs = UNIT2.sobol(20, seed=7)  # not the knowledge-base design: nearest configs are used
    target = Task(
        "target",
        UNIT2,
        configs,
        family.evaluate_batch(held_out, family.space.from_unit(UNIT2.to_unit(configs))),
    )
    ranked = nearest(target, branin + quadratic, k=4)
    assert [t.name.split("-")[0] for t, _ in ranked] == ["quad"] * 4
    assert all(0.0 <= score <= 1.0 for _, score in ranked)
    assert ranked == sorted(ranked, key=lambda pair: -pair[1])


def test_nearest_by_descriptor_only() -> None:
    branin, quadratic = _families(descriptors=True)
    kb = KnowledgeBase(branin + quadratic)
    target = Task("new", descriptor={"a": 0.02, "b": 0.97})
    ranked = kb.nearest(target, k=5)
    assert {t.name.split("-")[0] for t, _ in ranked} == {"quad"}


@pytest.mark.parametrize("descriptors", [False, True])
def test_clustering_finds_planted_families(descriptors: bool) -> None:
    branin, quadratic = _families(descriptors)
    mixed = [task for pair in zip(branin, quadratic, strict=True) for task in pair]
    clustering = cluster_tasks(mixed)
    assert clustering.k == 2 and clustering.silhouette > 0.5
    groups = [{name.split("-")[0] for name in members} for members in clustering.clusters()]
    assert sorted(map(sorted, groups)) == [["branin"], ["quad"]]


def test_clustering_on_descriptors_alone_and_json_round_trip() -> None:
    rng = np.random.default_rng(0)
    tasks = [
        Task(
            f"{g}{i}",
            descriptor={"n_samples": centre * (1 + 0.05 * rng.random()), "n_classes": 2.0},
        )
        for g, centre in (("small", 100.0), ("large", 100000.0))
        for i in range(5)
    ]
    clustering = cluster_tasks(tasks)
    assert clustering.clusters() == [
        [f"small{i}" for i in range(5)],
        [f"large{i}" for i in range(5)],
    ]
    back = Clustering.from_dict(json.loads(json.dumps(clustering.to_dict())))
    assert back == clustering
    assert back.label_of("large3") == 1


def test_unstructured_tasks_form_one_cluster() -> None:
    rng = np.random.default_rng(1)
    tasks = [Task(f"t{i}", descriptor={"v": float(x)}) for i, x in enumerate(rng.uniform(0, 1, 12))]
    assert cluster_tasks(tasks, min_silhouette=0.9).k == 1
    assert cluster_tasks(tasks[:3]).k == 1


def test_shared_design_shortcut_matches_pairwise_similarities(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import metahpo.knowledge._clusters as clusters
    from metahpo.knowledge import similarity_matrix

    branin, quadratic = _families(descriptors=True)
    budgeted = [
        Task(
            t.name,
            t.space,
            list(t.configs) * 2,
            np.concatenate([t.losses + 1.0, t.losses]),
            budgets=[1.0] * t.n_evaluations + [3.0] * t.n_evaluations,
            descriptor=t.descriptor,
        )
        for t in branin[:3] + quadratic[:3]
    ]
    constant = Task("flat", UNIT2, branin[0].configs, np.ones(branin[0].n_evaluations))
    tasks = [*branin[:4], *quadratic[:4], constant]
    fast = similarity_matrix(tasks)
    fast_budgeted = similarity_matrix(budgeted)
    monkeypatch.setattr(clusters, "_shared_design_responses", lambda tasks, method: {})
    np.testing.assert_allclose(fast, similarity_matrix(tasks), atol=1e-12)
    np.testing.assert_allclose(fast_budgeted, similarity_matrix(budgeted), atol=1e-12)


def test_knowledge_base_nearest_caches_lookups_and_matches_the_function() -> None:
    branin, quadratic = _families()
    kb = KnowledgeBase(branin + quadratic[:3])
    family = QuadraticFamily(dim=2, n_tasks=10)
    configs = UNIT2.sobol(12, seed=3)
    losses = family.evaluate_batch("9", family.space.from_unit(UNIT2.to_unit(configs)))
    target = Task("target", UNIT2, configs, losses)
    expected = [(t.name, s) for t, s in nearest(target, kb.tasks(UNIT2))]
    assert [(t.name, s) for t, s in kb.nearest(target)] == expected
    assert [(t.name, s) for t, s in kb.nearest(target)] == expected  # from the cache
    # The same target with its parameters in another order gives the same ranking.
    flipped_space = mh.Space({"x1": UNIT2["x1"], "x0": UNIT2["x0"]})
    flipped = Task("target", flipped_space, configs, losses)
    assert [(t.name, s) for t, s in kb.nearest(flipped, space=UNIT2)] == expected
    # Adding tasks invalidates the cache.
    kb.add(quadratic[3:])
    assert len(kb.nearest(target)) == len(branin) + len(quadratic)


def test_a_few_observations_tell_tasks_apart_and_weigh_less_than_many() -> None:
    from metahpo.testing.synthetic import ShiftedBranin

    family = ShiftedBranin(n_tasks=8, seed=3)
    design = family.space.sobol(64, seed=0)
    pool = [Task(t, family.space, design, family.evaluate_batch(t, design)) for t in family.tasks[1:]]

    def weights(n: int) -> list[float]:
        configs = family.space.sobol(n, seed=5)
        target = Task("target", family.space, configs, family.evaluate_batch(family.tasks[0], configs))
        return [w for _, w in nearest(target, pool)]

    few, many = weights(4), weights(40)
    # Four observations: the ranks of many tasks agree perfectly by chance, the weights do not tie.
    assert len(set(np.round(few, 6))) == len(few) and max(few) < 0.9
    # More observations may weigh more: the shrinkage toward 0.5 is n / (n + 5).
    assert max(many) > max(few)


@pytest.mark.parametrize("method", ["spearman", "kendall"])
def test_similarity_matrix_shares_work_between_tasks_of_one_design_with_the_same_numbers(
    method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import metahpo.knowledge._clusters as clusters
    from metahpo.knowledge import DescriptorScale, similarity, similarity_matrix

    branin, quadratic = _families(descriptors=True)

    def redesigned(task: Task, n: int, seed: int) -> Task:
        # Another design, evaluated at two budgets, so that neighbours are found per level.
        configs = UNIT2.sobol(n, seed=seed)
        near = task.losses[np.argmin(((UNIT2.to_unit(configs)[:, None] - task.unit[None]) ** 2).sum(-1), axis=1)]
        return Task(task.name + "-b", UNIT2, configs * 2, np.concatenate([near + 1.0, near]),
                    budgets=[1.0] * n + [3.0] * n, descriptor=task.descriptor)

    tasks = [*branin[:3], *quadratic[:3], *(redesigned(t, 20, 5) for t in branin[3:5] + quadratic[3:5]),
             redesigned(quadratic[5], 9, 7)]
    # Every pair through the general path (not the same-rows shortcut), designs shared by 2-6 tasks.
    monkeypatch.setattr(clusters, "_shared_design_responses", lambda tasks, method: {})
    got = similarity_matrix(tasks, method)
    scale = DescriptorScale.fit([t.descriptor for t in tasks])
    for i, a in enumerate(tasks):
        for j, b in enumerate(tasks):
            if i != j:
                assert got[i, j] == pytest.approx(similarity(a, b, scale, method), abs=1e-12)
