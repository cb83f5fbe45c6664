"""A task's kind of problem recorded apart from its descriptor: a finished preset study
created without a task descriptor is a task of its preset's kind, in every form."""

from __future__ import annotations

import pytest

import metahpo as mh
from metahpo.knowledge import KnowledgeBase

SPACE = mh.Space({"x": mh.Float(0.0, 1.0), "y": mh.Float(0.0, 1.0)})
DESIGN = SPACE.sobol(6, seed=0)


def _task(name: str, kind: str | None, descriptor: dict | None = None) -> mh.Task:
    return mh.Task(name, SPACE, DESIGN, [c["x"] + c["y"] for c in DESIGN], descriptor=descriptor, kind=kind)


def test_a_kind_is_the_task_type_when_the_descriptor_records_none():
    assert _task("a", "regression").task_type == "regression"
    assert _task("b", None, {"n_samples": 10.0}).task_type is None
    assert _task("c", "classification", {"n_classes": 3.0}).task_type == "classification"
    with pytest.raises(mh.InvalidParameterError, match=r"'kind' parameter of Task 'd' must be 'classification'"):
        _task("d", "regression", {"n_classes": 3.0})
    with pytest.raises(mh.InvalidParameterError, match=r"'kind' parameter of Task 'e' must be one of"):
        _task("e", "ranking")


def test_a_kind_survives_json_files_storages_and_subsets(tmp_path):
    task = _task("a", "regression")
    assert mh.Task.from_dict(task.to_dict()).kind == "regression"
    assert task.take([0, 1]).kind == "regression" and task.at_budget(None).kind == "regression"
    kb = KnowledgeBase([task, _task("b", None)])
    kb.save(tmp_path / "kb")
    again = KnowledgeBase.open(str(tmp_path / "kb"))
    assert again["a"].task_type == "regression" and again["b"].task_type is None
    url = f"sqlite:///{tmp_path / 'kb.db'}"
    kb.to_storage(url)
    assert KnowledgeBase.from_storage(url)["a"].task_type == "regression"


def test_a_finished_preset_study_without_a_task_is_a_task_of_its_presets_kind(tmp_path):
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    for name, preset in (("reg", "hgb-regressor"), ("clf", "hgb-classifier")):
        study = mh.create_study(name=name, preset=preset, storage=url, optimizer="random", seed=0)
        for _ in range(5):
            trial = study.ask()
            study.tell(trial, float(trial.config["learning_rate"]))
    kb = KnowledgeBase.from_storage(url)
    assert kb["reg"].task_type == "regression" and kb["clf"].task_type == "classification"
    assert kb.of_task_type("regression").names == ["reg"]
