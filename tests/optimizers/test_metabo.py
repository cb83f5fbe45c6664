from __future__ import annotations

import numpy as np
import pytest

import metahpo as mh
from metahpo.optimizers._metabo import _MODELS
from metahpo.testing.synthetic import ShiftedBranin

FAMILY = ShiftedBranin(n_tasks=8, seed=3)
DESIGN = FAMILY.space.sobol(48, seed=0)
TARGET = FAMILY.tasks[0]


def knowledge(n_tasks: int = 6) -> mh.KnowledgeBase:
    kb = mh.KnowledgeBase()
    for task in FAMILY.tasks[1 : 1 + n_tasks]:
        kb.add_task(FAMILY.space, DESIGN, [FAMILY.evaluate(task, c) for c in DESIGN], name=task)
    return kb


def regret(study) -> float:
    return study.best_value - FAMILY.optimum(TARGET)


@pytest.fixture(autouse=True)
def fresh_models(tmp_path, monkeypatch):
    monkeypatch.setenv("METAHPO_HOME", str(tmp_path))
    _MODELS.clear()


def run(optimizer, n_trials=10, seed=0, **kwargs):
    study = mh.create_study(space=FAMILY.space, optimizer=optimizer, seed=seed, **kwargs)
    study.optimize(lambda t: FAMILY.evaluate(TARGET, t.config), n_trials=n_trials, show_progress=False)
    return study


def test_warm_start_then_adapted_surrogate_and_each_trial_says_why():
    study = run(mh.MetaBO(knowledge(), n_warm_start=3, meta_steps=20, continual_steps=0), n_trials=5)
    whys = [t.user_attrs["why"] for t in study.trials]
    assert [w["source"] for w in whys] == ["portfolio"] * 3 + ["surrogate"] * 2
    assert whys[0]["tasks"] and set(whys[0]["tasks"]) <= set(FAMILY.tasks[1:])
    similar = whys[-1]["similar_tasks"]
    assert len(similar) == 3 and all(name in FAMILY.tasks for name, _ in similar)
    assert whys[-1]["observations"] == 4


def test_without_related_tasks_it_is_gpbo():
    study = run(mh.MetaBO(knowledge(n_tasks=2), meta_steps=10, continual_steps=0), n_trials=3)
    assert {t.user_attrs["why"]["source"] for t in study.trials} == {"gpbo"}


@pytest.mark.slow
def test_metabo_beats_random_search_on_a_related_task():
    kb = knowledge()
    seeds = range(3)
    meta = [regret(run(mh.MetaBO(kb, meta_steps=60, continual_steps=0), 10, seed)) for seed in seeds]
    rand = [regret(run("random", 10, seed)) for seed in seeds]
    assert np.mean(meta) < 0.5 * np.mean(rand)


def test_runs_under_hyperband_with_the_budget_as_input():
    from metahpo.testing.synthetic import MultiFidelityBranin

    problem = MultiFidelityBranin(min_budget=1, max_budget=9)
    kb = mh.KnowledgeBase()
    for task in FAMILY.tasks[1:5]:
        kb.add_task(FAMILY.space, DESIGN, [FAMILY.evaluate(task, c) for c in DESIGN], name=task)
    study = mh.create_study(space=problem.space, seed=0,
                            optimizer=mh.MetaBO(kb, meta_steps=20, continual_steps=0),
                            scheduler=mh.Hyperband(min_budget=1, max_budget=9, eta=3))
    study.optimize(lambda t: problem.evaluate(problem.tasks[0], t.config, t.budget), n_trials=13,
                   show_progress=False)
    assert {t.budget for t in study.trials} == {1.0, 3.0, 9.0}
    assert "surrogate" in {t.user_attrs["why"]["source"] for t in study.trials}


def test_continual_update_keeps_old_tasks_and_versions_the_model(tmp_path):
    kb_dir = tmp_path / "kb"
    knowledge().save(kb_dir)
    optimizer = mh.MetaBO(str(kb_dir), meta_steps=20, continual_steps=10, store=str(tmp_path / "store"))
    study = run(optimizer, n_trials=5)
    summary = study.user_attrs["knowledge_update"]
    assert summary["version"] == 2 and summary["new_task_evaluations"] == 5
    # Stated tolerance: replay keeps the old tasks' meta-test loss within 10% (+0.05).
    before, after = summary["old_tasks_meta_test_loss_before"], summary["old_tasks_meta_test_loss_after"]
    assert after <= 1.1 * before + 0.05
    from metahpo.knowledge._meta_store import MetaModelStore

    store = MetaModelStore(tmp_path / "store")
    assert store.versions(summary["meta_model"]) == [1, 2]
    # A new study starts from the updated version without retraining.
    _MODELS.clear()
    again = mh.MetaBO(str(kb_dir), meta_steps=20, continual_steps=0, store=str(tmp_path / "store"))
    run(again, n_trials=4, seed=1)
    assert _MODELS[summary["meta_model"]].info["version"] == 2


def test_plateau_stops_the_study():
    optimizer = mh.MetaBO(knowledge(), meta_steps=20, continual_steps=0, plateau_patience=2)
    study = mh.create_study(space=FAMILY.space, optimizer=optimizer, seed=0)
    study.optimize(lambda t: 1.0, n_trials=30, show_progress=False)  # nothing ever improves
    assert len(study.trials) == 3


def test_get_params_is_json_and_reload_works(tmp_path):
    import json

    kb_dir = tmp_path / "kb"
    knowledge().save(kb_dir)
    storage = f"sqlite:///{tmp_path / 'db.sqlite'}"
    study = mh.create_study(name="m", space=FAMILY.space, storage=storage, seed=0,
                            optimizer=mh.MetaBO(str(kb_dir), meta_steps=20, continual_steps=0))
    json.dumps(study.optimizer.get_params())
    loaded = mh.load_study("m", storage)
    assert isinstance(loaded.optimizer, mh.MetaBO) and loaded.optimizer.knowledge == str(kb_dir)


def test_without_warm_start_it_starts_from_sobol_points():
    study = run(mh.MetaBO(knowledge(), n_warm_start=0, meta_steps=10, continual_steps=0), n_trials=3)
    assert [t.user_attrs["why"]["source"] for t in study.trials] == ["sobol", "sobol", "surrogate"]


def test_auto_picks_metabo_for_the_bundled_space_and_gpbo_otherwise():
    hgb = next(iter(mh.bundled_knowledge("keel-hgb"))).space
    chosen = mh.create_study(space=hgb, optimizer="auto", seed=0).optimizer
    assert isinstance(chosen, mh.MetaBO) and chosen.knowledge == ["bundled:keel-hgb"]
    other = mh.create_study(space=FAMILY.space, optimizer="auto", seed=0).optimizer
    assert type(other) is mh.GPBO


def test_meta_models_are_versioned_in_the_knowledge_storage(tmp_path):
    url = f"sqlite:///{tmp_path / 'team.sqlite'}"
    for task in FAMILY.tasks[1:5]:  # four finished studies: the team's knowledge
        past = mh.create_study(name=f"past-{task}", space=FAMILY.space, storage=url,
                               optimizer="random", seed=0)
        past.optimize(lambda t, task=task: FAMILY.evaluate(task, t.config), n_trials=12,
                      show_progress=False)
    optimizer = mh.MetaBO(url, meta_steps=20, continual_steps=10, store=str(tmp_path / "folder"))
    study = mh.create_study(name="new", space=FAMILY.space, storage=url, optimizer=optimizer, seed=0)
    study.optimize(lambda t: FAMILY.evaluate(TARGET, t.config), n_trials=6, show_progress=False)
    key = study.user_attrs["knowledge_update"]["meta_model"]
    from metahpo.storage import get_storage

    storage = get_storage(url)
    # Trained once, then updated when the study ended: two versions, in the database only.
    assert storage.meta_model_versions(key) == [1, 2]
    assert not (tmp_path / "folder").exists()


def test_task_gp_takes_over_when_the_knowledge_misleads():
    # Knowledge from the opposite problem (losses negated): its meta-learned surrogate
    # predicts this task badly, so the plain GP on the study's own data must win.
    kb = mh.KnowledgeBase()
    for task in FAMILY.tasks[1:6]:
        kb.add_task(FAMILY.space, DESIGN, [-FAMILY.evaluate(task, c) for c in DESIGN], name=task)
    study = run(mh.MetaBO(kb, meta_steps=40, continual_steps=0, task_gp=True), n_trials=10)
    models = [t.user_attrs["why"].get("model") for t in study.trials[3:]]
    assert "task GP" in models and set(models) <= {"task GP", "meta-learned"}


@pytest.mark.parametrize("name", ["validate_adaptation", "task_gp"])
def test_switches_must_be_bools(name):
    with pytest.raises(mh.InvalidParameterError, match=name):
        mh.MetaBO(knowledge(), **{name: "no"})


def test_auto_output_transform_takes_log_for_losses_spanning_magnitudes():
    # Branin's losses run from 0.4 to about 300: on the log scale they are far easier to model.
    study = run(mh.MetaBO(knowledge(), meta_steps=20, continual_steps=0), n_trials=8)
    transforms = [t.user_attrs["why"]["transform"] for t in study.trials if t.user_attrs["why"]["source"] == "surrogate"]
    assert "log" in transforms and set(transforms) <= {"log", "standardize"}
    fixed = run(mh.MetaBO(knowledge(), meta_steps=20, continual_steps=0, output_transform="standardize"), n_trials=5)
    assert {t.user_attrs["why"]["transform"] for t in fixed.trials[3:]} == {"standardize"}
    with pytest.raises(mh.InvalidParameterError, match="output_transform"):
        mh.MetaBO(knowledge(), output_transform="nope")
