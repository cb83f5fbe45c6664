"""A stored study whose task gives a kind that is no kind, or one contradicting its
descriptor's n_classes (written before such kinds were refused), still opens: the kind is
ignored with a warning and the descriptor's, else the preset's, counts."""

from __future__ import annotations

import logging

import pytest

import metahpo as mh
from metahpo.knowledge import KnowledgeBase, stored_task_type
from metahpo.storage import get_storage

SPACE = mh.Space({"x": mh.Float(0.0, 1.0)})

# What earlier versions stored from create_study(task=...) without checking the kind.
STORED = {
    "invalid": ({"name": "mnist", "kind": "multiclass"}, None),
    "contradicting": ({"name": "digits", "descriptor": {"n_classes": 3.0}, "kind": "regression"}, "classification"),
    "preset": ({"name": "house", "kind": "multiclass"}, "regression"),
}


def _storage_with_old_studies(url: str) -> None:
    store = get_storage(url)
    for name, (task, _) in STORED.items():
        attrs = {"task": task, **({"task_type": "regression"} if name == "preset" else {})}
        record = store.create_study(
            name, space=SPACE.to_dict(), direction="minimize", seed=0,
            optimizer={"name": "random", "params": {}, "state": {}},
            scheduler={"name": "full", "params": {}}, user_attrs=attrs,
        )
        for value in range(5):
            trial = store.create_trial(record.study_id, config={"x": value / 5}, budget=None)
            store.finish_trial(record.study_id, trial.number, mh.TrialState.COMPLETE, float(value))


def test_a_stored_study_with_an_invalid_or_contradicting_kind_opens_with_a_warning(tmp_path, caplog):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    _storage_with_old_studies(url)
    for name, (_, kind) in STORED.items():
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="metahpo"):
            study = mh.load_study(name, url)
        assert study.history().task_type == kind
        assert f"The 'kind' of the 'task' of the study {name!r} must be" in caplog.text
        assert "it is ignored" in caplog.text
        again = mh.create_study(name=name, space=SPACE, storage=url, optimizer="random", load_if_exists=True)
        assert again.history().task_type == kind
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="metahpo"):
        kb = KnowledgeBase.from_storage(url)
    assert {name: kb[name].task_type for name in STORED} == {name: kind for name, (_, kind) in STORED.items()}
    assert "The 'kind' of the 'task' of study 'invalid' in" in caplog.text


def test_stored_task_type_lets_the_descriptor_win_and_task_kind_stays_strict():
    attrs = {"task": {"name": "t", "descriptor": {"n_classes": 3.0}, "kind": "regression"}}
    assert stored_task_type(attrs) == "classification"
    assert stored_task_type({"task": {"name": "t", "kind": "multiclass"}, "task_type": "regression"}) == "regression"
    with pytest.raises(mh.InvalidParameterError, match=r"'kind' of the 'task' parameter of create_study must be"):
        mh.create_study(space=SPACE, task={"name": "mnist", "kind": "multiclass"})
    with pytest.raises(mh.InvalidParameterError, match=r"must be 'classification', as the n_classes"):
        mh.create_study(space=SPACE, task={"name": "t", "descriptor": {"n_classes": 3.0}, "kind": "regression"})


def test_an_ignored_kind_is_warned_of_once_per_study_not_at_each_opening(tmp_path, caplog):
    url = f"sqlite:///{tmp_path / 'once.db'}"
    store = get_storage(url)
    record = store.create_study(
        "warned-once", space=SPACE.to_dict(), direction="minimize", seed=0,
        optimizer={"name": "random", "params": {}, "state": {}},
        scheduler={"name": "full", "params": {}}, user_attrs={"task": {"name": "mnist", "kind": "multiclass"}},
    )
    for value in range(5):
        trial = store.create_trial(record.study_id, config={"x": value / 5}, budget=None)
        store.finish_trial(record.study_id, trial.number, mh.TrialState.COMPLETE, float(value))
    with caplog.at_level(logging.WARNING, logger="metahpo"):
        for _ in range(3):
            mh.load_study("warned-once", url)
            mh.create_study(name="warned-once", space=SPACE, storage=url, optimizer="random", load_if_exists=True)
            KnowledgeBase.from_storage(url)
    warnings = [r.getMessage() for r in caplog.records if "it is ignored" in r.getMessage()]
    # One for the study opened, one for its storage read as knowledge (which names the storage).
    assert len(warnings) == 2
    assert any("of the study 'warned-once' must be" in w for w in warnings)
    assert any(f"of study 'warned-once' in sqlite:///{tmp_path / 'once.db'} must be" in w for w in warnings)
