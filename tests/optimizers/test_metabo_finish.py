"""Meta-training happens when a study finishes, not in the next study's first suggestion."""

from __future__ import annotations

from dataclasses import replace

import pytest

import metahpo as mh
from metahpo.surrogates.meta import _provider
from metahpo.testing.synthetic import ShiftedBranin

FAMILY = ShiftedBranin(n_tasks=8, seed=3)


@pytest.fixture
def trainings(tmp_path, monkeypatch):
    """The meta-trainings made (task counts), each shortened to a few steps."""
    monkeypatch.setenv("METAHPO_HOME", str(tmp_path))
    made: list[int] = []
    real = _provider.meta_train

    def short(data, config, *args, **kwargs):
        made.append(len(data))
        return real(data, replace(config, meta_steps=5), *args, **kwargs)

    monkeypatch.setattr(_provider, "meta_train", short)
    return made


def _study(url: str, k: int) -> mh.Study:
    study = mh.create_study(name=f"s{k}", space=FAMILY.space, storage=url, seed=k)
    task = FAMILY.tasks[k % len(FAMILY.tasks)]
    study.optimize(lambda t: FAMILY.evaluate(task, t.config), n_trials=6, show_progress=False)
    return study


def test_the_study_that_makes_the_knowledge_enough_meta_trains_at_its_end(tmp_path, trainings):
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    for k in range(2):
        study = _study(url, k)
        assert type(study.optimizer) is mh.GPBO and study.finish() is None
    third = _study(url, 2)  # GP-BO under "auto": two related tasks when it was created
    assert type(third.optimizer) is mh.GPBO and trainings == []
    summary = third.finish()
    assert summary is not None and summary["meta_trained_on_tasks"] == 3 and summary["version"] == 1
    assert trainings == [3]
    assert third.user_attrs["knowledge_update"] == summary
    assert third.finish() is None  # considered once

    fourth = _study(url, 3)  # MetaBO: its model-based suggestions find the model made
    assert isinstance(fourth.optimizer, mh.MetaBO)
    assert "surrogate" in {t.user_attrs["why"]["source"] for t in fourth.trials}
    assert trainings == [3]
    update = fourth.finish()
    assert update is not None and "old_tasks_meta_test_loss_after" in update and trainings == [3]

    _study(url, 4).finish()  # a continual update
    assert trainings == [3]
    sixth = _study(url, 5).finish()  # the knowledge doubles with it: trained anew
    assert sixth is not None and sixth["meta_trained_on_tasks"] == 6 and trainings == [3, 6]
    seventh = _study(url, 6)
    assert trainings == [3, 6] and isinstance(seventh.optimizer, mh.MetaBO)


def test_auto_with_knowledge_built_in_memory_learns_nothing_at_the_end(tmp_path, trainings):
    kb = mh.KnowledgeBase()
    design = FAMILY.space.sobol(8, seed=0)
    for task in FAMILY.tasks[1:3]:
        kb.add_task(FAMILY.space, design, [FAMILY.evaluate(task, c) for c in design], name=task)
    study = mh.create_study(space=FAMILY.space, storage=f"sqlite:///{tmp_path / 'a.db'}",
                            knowledge=kb, seed=0)
    study.optimize(lambda t: FAMILY.evaluate(FAMILY.tasks[0], t.config), n_trials=4, show_progress=False)
    assert type(study.optimizer) is mh.GPBO
    assert study.finish() is None and trainings == []
