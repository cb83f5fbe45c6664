"""Meta-training happens when a study finishes, not in the next study's first suggestion."""

from __future__ import annotations

from dataclasses import replace

import pytest

import metahpo as mh
from metahpo.surrogates import SpaceEncoding
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


def _knowledge_in_memory(n_tasks: int) -> mh.KnowledgeBase:
    kb = mh.KnowledgeBase()
    design = FAMILY.space.sobol(8, seed=0)
    for task in FAMILY.tasks[1 : 1 + n_tasks]:
        kb.add_task(FAMILY.space, design, [FAMILY.evaluate(task, c) for c in design], name=task)
    return kb


def _finished(study: mh.Study, n_trials: int) -> dict | None:
    study.optimize(lambda t: FAMILY.evaluate(FAMILY.tasks[0], t.config), n_trials=n_trials,
                   show_progress=False)
    return study.finish()


def test_a_study_the_next_one_will_not_learn_from_trains_nothing(tmp_path, trainings):
    # Knowledge built in memory: the finished study never joins it.
    metabo = mh.MetaBO(_knowledge_in_memory(2), continual_update=True)
    study = mh.create_study(space=FAMILY.space, optimizer=metabo, seed=0)
    assert _finished(study, 6) is None
    # Too few trials to count as a task of the storage (fewer than 5 COMPLETE).
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    for k in range(2):
        _study(url, k)
    short = mh.create_study(name="short", space=FAMILY.space, storage=url, seed=9)
    assert _finished(short, 4) is None
    # The study's storage is not the knowledge's: the next study there still has two tasks.
    elsewhere = mh.create_study(space=FAMILY.space, storage=f"sqlite:///{tmp_path / 'b.db'}",
                                knowledge=url, seed=3)
    assert type(elsewhere.optimizer) is mh.GPBO and _finished(elsewhere, 6) is None
    assert trainings == []
    # Enough knowledge (its suggestions meta-train once), but a study too short to be a
    # task does not update the model at its end.
    enough = mh.MetaBO(_knowledge_in_memory(3), continual_update=True, n_warm_start=2)
    short_metabo = mh.create_study(space=FAMILY.space, optimizer=enough, seed=0)
    short_metabo.optimize(lambda t: FAMILY.evaluate(FAMILY.tasks[0], t.config), n_trials=4,
                          show_progress=False)
    model = enough._provider.model(enough.knowledge, SpaceEncoding(FAMILY.space))
    assert short_metabo.finish() is None and trainings == [3]
    assert enough._provider.model(enough.knowledge, SpaceEncoding(FAMILY.space)) is model


def test_a_knowledge_source_gone_since_does_not_fail_the_end_of_a_study(tmp_path, trainings, caplog):
    folder = tmp_path / "team-kb"
    _knowledge_in_memory(1).save(folder)
    study = mh.create_study(space=FAMILY.space, storage=f"sqlite:///{tmp_path / 'a.db'}",
                            knowledge=str(folder), seed=0)
    assert type(study.optimizer) is mh.GPBO
    import shutil

    shutil.rmtree(folder)
    assert _finished(study, 6) is None
    assert "could not be opened" in caplog.text and trainings == []
