"""The 2-D task map: deterministic, clusters are groups on the map, bad input refused."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import metahpo as mh
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge import cluster_tasks, task_map

SPACE = mh.Space({"x": mh.Float(0.0, 1.0), "depth": mh.Int(1, 8)})
DESIGN = SPACE.sobol(32, seed=0)


def family(optima, prefix):
    return [mh.Task(f"{prefix}{i}", SPACE, DESIGN,
                    [(c["x"] - o) ** 2 + 0.01 * c["depth"] for c in DESIGN])
            for i, o in enumerate(optima)]


def test_clusters_are_groups_on_the_map():
    tasks = family([0.1, 0.15, 0.2, 0.25], "low") + family([0.8, 0.85, 0.9], "high")
    mapped = task_map(tasks)
    assert mapped.xy.shape == (7, 2) and mapped.names == tuple(t.name for t in tasks)
    assert mapped.k == 2 and mapped.labels == (0, 0, 0, 0, 1, 1, 1)
    distance = np.linalg.norm(mapped.xy[:, None] - mapped.xy[None], axis=-1)
    within = max(distance[:4, :4].max(), distance[4:, 4:].max())
    assert distance[:4, 4:].min() > within
    assert 0.0 <= mapped.stress < 0.3
    assert mapped.to_dict()["labels"] == list(mapped.labels)


def test_the_same_tasks_and_seed_give_the_same_map():
    tasks = family([0.1, 0.3, 0.5, 0.7, 0.9], "t")
    first, again = task_map(tasks, seed=3), task_map(tasks, seed=3)
    np.testing.assert_array_equal(first.xy, again.xy)
    np.testing.assert_allclose(first.xy.mean(axis=0), 0.0, atol=1e-12)   # centred


def test_small_maps_and_a_given_clustering():
    one = task_map(family([0.5], "a"))
    assert one.xy.tolist() == [[0.0, 0.0]] and one.k == 1
    two = task_map(family([0.1, 0.9], "b"))
    assert two.xy[0, 0] == -two.xy[1, 0] and two.xy[:, 1].tolist() == [0.0, 0.0]
    tasks = family([0.1, 0.2, 0.8, 0.9], "c")
    given = cluster_tasks(tasks, min_silhouette=2.0)          # forces one cluster
    assert task_map(tasks, clustering=given).labels == (0, 0, 0, 0)


def test_bad_input_is_refused():
    with pytest.raises(InvalidParameterError, match="must not be empty"):
        task_map([])
    with pytest.raises(InvalidParameterError, match="list of Task records"):
        task_map(["a", "b"])
    tasks = family([0.1, 0.2, 0.8, 0.9], "d")
    with pytest.raises(InvalidParameterError, match="same tasks"):
        task_map(tasks, clustering=cluster_tasks(tasks[::-1]))


def test_docstring_example():
    import metahpo.knowledge._map as module

    assert doctest.testmod(module, optionflags=doctest.ELLIPSIS).failed == 0
