"""Tasks mapped onto the space of a new study: same, overlapping and disjoint spaces."""

from __future__ import annotations

import numpy as np

import metahpo as mh
from metahpo.knowledge import KnowledgeBase, LossLookup, map_task, shared_parameters

SOURCE = mh.Space(
    {
        "lr": mh.Float(1e-4, 1.0, log=True),
        "layers": mh.Int(1, 8),
        "act": mh.Categorical(["relu", "tanh", "gelu"]),
        "dropout": mh.Float(0.0, 0.5),
    }
)
TARGET = mh.Space(
    {
        "lr": mh.Float(1e-3, 1.0, log=True),  # narrower: rows with lr < 1e-3 carry nothing over
        "act": mh.Categorical(["relu", "tanh"]),  # "gelu" rows are dropped
        "momentum": mh.Float(0.0, 0.99),  # the source lacks it: filled in, flagged missing
        "layers": mh.Float(1.0, 16.0),  # Int -> Float is compatible
    }
)


def _source_task() -> mh.Task:
    configs = [
        {"lr": 0.01, "layers": 2, "act": "relu", "dropout": 0.1},
        {"lr": 0.01, "layers": 2, "act": "relu", "dropout": 0.4},  # differs only in dropout
        {"lr": 1e-4, "layers": 3, "act": "tanh", "dropout": 0.0},  # lr outside the target
        {"lr": 0.1, "layers": 8, "act": "gelu", "dropout": 0.2},  # act not in the target
        {"lr": 0.5, "layers": 5, "act": "tanh", "dropout": 0.3},
    ]
    return mh.Task("src", SOURCE, configs, [1.0, 3.0, 0.5, 0.2, 2.0], descriptor={"n": 1.0})


def test_shared_parameters_need_name_and_compatible_type() -> None:
    assert shared_parameters(SOURCE, TARGET) == ["lr", "act", "layers"]
    assert shared_parameters(TARGET, SOURCE) == ["lr", "act"]  # Float -> Int is not compatible


def test_overlapping_space_projects_drops_and_flags() -> None:
    mapped = map_task(_source_task(), TARGET)
    assert mapped is not None
    assert mapped.space == TARGET and mapped.missing == ("momentum",)
    assert mapped.losses.tolist() == [1.0, 3.0, 2.0]
    midpoint = TARGET["momentum"].from_unit(0.5)
    assert [c["momentum"] for c in mapped.configs] == [midpoint] * 3
    assert mapped.configs[0] == {"lr": 0.01, "act": "relu", "momentum": midpoint, "layers": 2.0}
    assert mapped.descriptor == {"n": 1.0}


def test_lookup_marginalises_dropped_parameters_and_ignores_missing_ones() -> None:
    mapped = map_task(_source_task(), TARGET)
    lookup = LossLookup(mapped)
    probe = dict(mapped.configs[0], momentum=0.0)  # momentum is ignored: it is missing
    # The two rows that differed only in the dropped "dropout" are averaged.
    assert lookup.predict(TARGET.to_unit([probe]))[0] == 2.0


def test_same_fingerprint_in_another_order_is_taken_as_is() -> None:
    reordered = mh.Space({name: SOURCE[name] for name in reversed(SOURCE.names)})
    task = _source_task()
    mapped = map_task(task, reordered)
    assert mapped is not None and mapped.space.names == reordered.names
    assert mapped.losses.tolist() == task.losses.tolist() and mapped.missing == ()
    np.testing.assert_array_equal(mapped.unit, task.unit[:, ::-1])


def test_tasks_of_knowledge_base_excludes_disjoint_spaces() -> None:
    kb = KnowledgeBase([_source_task()])
    kb.add_task(mh.Space({"z": mh.Float(0, 1)}), [{"z": 0.5}], [1.0], name="disjoint")
    kb.add(mh.Task("descriptor-only", descriptor={"n": 2.0}))
    assert [t.name for t in kb.tasks(TARGET)] == ["src"]
    assert [t.name for t in kb.tasks(SOURCE)] == ["src"]
    assert len(kb.tasks()) == 3
    assert map_task(_source_task(), mh.Space({"lr": mh.Float(2.0, 3.0)})) is None  # no row in range


def test_one_shared_name_is_not_related_even_for_a_one_parameter_study() -> None:
    from metahpo.knowledge._mapping import is_related

    one = mh.Space({"x": mh.Float(0.0, 1.0)})
    two = mh.Space({"x": mh.Float(0.0, 1.0), "y": mh.Float(0.0, 1.0)})
    # x is all of the new study's parameters and half of the old one's, but one name only.
    assert not is_related(two, one)
    assert is_related(mh.Space({"x": mh.Float(0.0, 2.0)}), one)  # its one parameter, other bounds
    assert not is_related(mh.Space({"x": mh.Categorical(["a", "b"])}), one)  # not compatible
    assert is_related(mh.Space({"x": mh.Float(0.0, 1.0)}), one)  # the same space
    three = mh.Space({"x": mh.Float(0.0, 1.0), "y": mh.Float(0.0, 1.0), "z": mh.Int(1, 4)})
    assert is_related(three, two) and is_related(two, three)
    task = mh.Task("old", two, [{"x": 0.1, "y": 0.2}, {"x": 0.5, "y": 0.9}], [1.0, 2.0])
    assert map_task(task, one) is None
