"""Property-based round trips: any task survives JSON and a knowledge directory unchanged."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import metahpo as mh
from metahpo.knowledge import KnowledgeBase, Task

# Choices that are awkward in a CSV cell: quotes, commas, newlines, look-alike numbers.
_CHOICES = st.lists(
    st.one_of(
        st.text(min_size=0, max_size=6),
        st.sampled_from(["a,b", 'say "hi"', "line\nbreak", "1", "true", "null", "é"]),
        st.integers(-5, 5),
        st.booleans(),
        st.none(),
        st.floats(-10, 10, allow_nan=False, allow_infinity=False),
    ),
    min_size=1,
    max_size=5,
)


@st.composite
def tasks(draw: st.DrawFn) -> Task:
    choices = draw(_CHOICES)
    try:
        category = mh.Categorical(choices)
    except mh.InvalidParameterError:
        category = mh.Categorical(["only"])
    space = mh.Space(
        {
            "f": mh.Float(1e-3, 10.0, log=draw(st.booleans())),
            "i": mh.Int(-3, 40),
            "c": category,
        }
    )
    n = draw(st.integers(1, 8))
    unit = np.array(
        draw(st.lists(st.lists(st.floats(0, 1), min_size=3, max_size=3), min_size=n, max_size=n))
    )
    losses = draw(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=n, max_size=n))
    budgets = draw(
        st.one_of(st.none(), st.lists(st.sampled_from([0.5, 1.0, 27.0]), min_size=n, max_size=n))
    )
    descriptor = draw(
        st.one_of(
            st.none(),
            st.dictionaries(
                st.sampled_from(["n", "d", "h"]), st.floats(-1e9, 1e9, allow_nan=False)
            ),
        )
    )
    return Task("t", space, space.from_unit(unit), losses, budgets=budgets, descriptor=descriptor)


def _canonical(task: Task) -> str:
    data = task.to_dict()
    data.pop("source")
    return json.dumps(data, sort_keys=True)


@settings(max_examples=40, deadline=None)
@given(tasks())
def test_task_json_round_trip(task: Task) -> None:
    back = Task.from_dict(json.loads(json.dumps(task.to_dict())))
    assert _canonical(back) == _canonical(task)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tasks())
def test_knowledge_directory_round_trip(task: Task) -> None:
    with tempfile.TemporaryDirectory() as folder:
        KnowledgeBase([task]).save(Path(folder) / "kb")
        back = KnowledgeBase.from_files(Path(folder) / "kb")["t"]
    assert _canonical(back) == _canonical(task)
    for a, b in zip(back.configs, task.configs, strict=True):
        # Types survive too: True stays a bool, 1 an int, "1" a string.
        assert [type(v) for v in a.values()] == [type(v) for v in b.values()]
