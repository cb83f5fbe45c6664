"""Tasks of another kind of problem (classification, regression) are not related."""

from __future__ import annotations

import numpy as np
import pytest

import metahpo as mh
from metahpo.knowledge import KnowledgeBase, is_related, task_type_of
from metahpo.surrogates import SpaceEncoding
from metahpo.surrogates.meta import MetaModelProvider

SPACE = mh.Space({"x": mh.Float(0.0, 1.0), "y": mh.Float(0.0, 1.0)})
DESIGN = SPACE.sobol(8, seed=0)
KINDS = {"iris": 3.0, "wine": 2.0, "housing": 0.0, "diabetes": 0.0, "mine": None}


def _kb() -> KnowledgeBase:
    kb = KnowledgeBase()
    for i, (name, n_classes) in enumerate(KINDS.items()):
        descriptor = None if n_classes is None else {"n_samples": 100.0 * (i + 1), "n_classes": n_classes}
        losses = [(c["x"] - 0.2 * i) ** 2 + c["y"] for c in DESIGN]
        kb.add_task(SPACE, DESIGN, losses, descriptor=descriptor, name=name)
    return kb


def _data(task_type: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    if task_type == "classification":
        return X, (X[:, 0] > 0).astype(int)
    return X, X[:, 0] * 3.0 + rng.normal(scale=0.1, size=60)


def test_a_task_records_its_kind_of_problem_in_its_descriptor():
    assert mh.Task.from_data(*_data("regression")).task_type == "regression"
    assert mh.Task.from_data(*_data("classification")).task_type == "classification"
    # The bundled meta-data records it too; a task without n_classes records none.
    regressor = mh.bundled_knowledge("hgb-regressor")
    assert {t.task_type for t in regressor} == {"regression"}
    assert {t.task_type for t in mh.bundled_knowledge("hgb-classifier")} == {"classification"}
    assert mh.Task("t", descriptor={"n_samples": 10.0}).task_type is None
    assert mh.Task("t").task_type is None
    assert [task_type_of({"n_classes": v}) for v in (0.0, 1.0, 2.0, -1.0)] == [
        "regression", "classification", "classification", None]


def test_is_related_needs_the_same_kind_of_problem_when_both_record_one():
    assert not is_related(SPACE, SPACE, source_type="classification", target_type="regression")
    assert is_related(SPACE, SPACE, source_type="regression", target_type="regression")
    assert is_related(SPACE, SPACE, source_type=None, target_type="regression")
    assert is_related(SPACE, SPACE, source_type="classification", target_type=None)
    # The kind does not make unrelated spaces related.
    other = mh.Space({"z": mh.Float(0.0, 1.0), "w": mh.Float(0.0, 1.0)})
    assert not is_related(other, SPACE, source_type="regression", target_type="regression")


def test_of_task_type_leaves_out_the_other_kind_and_keeps_tasks_that_record_none():
    kb = _kb()
    assert kb.of_task_type("regression").names == ["housing", "diabetes", "mine"]
    assert kb.of_task_type("classification").names == ["iris", "wine", "mine"]
    assert [t.name for t in kb.of_task_type("regression").tasks(SPACE)] == ["housing", "diabetes", "mine"]
    assert kb.of_task_type(None) is kb
    # Made once, until a task is added.
    assert kb.of_task_type("regression") is kb.of_task_type("regression")
    kb.add_task(SPACE, DESIGN[:2], [1.0, 2.0], descriptor={"n_classes": 0.0}, name="cars")
    assert kb.of_task_type("regression").names == ["housing", "diabetes", "mine", "cars"]
    # Knowledge of one kind only is its own part.
    same = KnowledgeBase([kb["housing"], kb["mine"]])
    assert same.of_task_type("regression") is same
    with pytest.raises(mh.InvalidParameterError, match=r"'task_type' parameter of KnowledgeBase\.of_task_type"):
        kb.of_task_type("ranking")


def test_a_part_of_one_kind_follows_a_spec_that_grew_without_tasks(tmp_path):
    kb = KnowledgeBase.open(["bundled:hgb-classifier", "bundled:hgb-regressor"])
    before = kb.of_task_type("regression")
    # A storage with no study to learn from adds no task, but it is a source of the spec.
    storage = f"sqlite:///{tmp_path / 'empty.db'}"
    mh.create_study(space=SPACE, storage=storage, optimizer="random")
    kb.add_storage(storage)
    after = kb.of_task_type("regression")
    assert after is not before and after.spec == kb.spec and len(kb.spec) == 3
    assert after.identity == KnowledgeBase.open(kb.spec).of_task_type("regression").identity


def test_a_part_of_one_kind_has_its_own_identity_and_reopens_as_that_kind():
    kb = KnowledgeBase.open(["bundled:hgb-classifier", "bundled:hgb-regressor"])
    regression = kb.of_task_type("regression")
    assert len(regression) == len(mh.bundled_knowledge("hgb-regressor")) < len(kb)
    assert regression.spec == kb.spec and regression.identity != kb.identity
    assert "task_type='regression'" in repr(regression)
    # A meta-model learned from the regression tasks is not the one of the whole knowledge.
    provider, encoding = MetaModelProvider(), SpaceEncoding(mh.presets.get("hgb-regressor").space)
    assert provider.key(regression, encoding) != provider.key(kb, encoding)
    reopened = regression.reopened()
    assert reopened is not regression and reopened.names == regression.names
    assert reopened.identity == regression.identity


def test_nearest_and_relevant_tasks_are_of_the_targets_kind():
    kb = _kb()
    regression = mh.Task("new", descriptor={"n_samples": 150.0, "n_classes": 0.0})
    assert {t.name for t, _ in kb.nearest(regression)} == {"housing", "diabetes"}  # "mine": no descriptor
    assert {t.name for t in kb.relevant(SPACE, regression, k=5)} == {"housing", "diabetes", "mine"}
    observed = mh.Task("new", SPACE, DESIGN[:4], [(c["x"] - 0.2) ** 2 + c["y"] for c in DESIGN[:4]],
                       descriptor={"n_classes": 2.0})
    assert {t.name for t, _ in kb.nearest(observed)} == {"iris", "wine", "mine"}
    chosen = {t.name for t in kb.relevant(SPACE, observed)}
    assert chosen and chosen <= {"iris", "wine", "mine"}
    # A target that records no kind is compared with every task, as before.
    unknown = mh.Task("new", descriptor={"n_samples": 150.0})
    assert {t.name for t, _ in kb.nearest(unknown)} == {"iris", "wine", "housing", "diabetes"}
