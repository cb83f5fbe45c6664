from __future__ import annotations

import logging
import re
from dataclasses import replace

import numpy as np
import pytest

import metahpo as mh
from metahpo.surrogates.meta import MetaModelProvider, MetaModelStore, MetaTrainingConfig
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


def metabo(kb=None, meta_steps=20, store=None, **kwargs) -> mh.MetaBO:
    """MetaBO with a short meta-training; no continual update unless asked for."""
    config = MetaTrainingConfig(meta_steps=meta_steps, continual_steps=10)
    provider = MetaModelProvider(config, store=store)
    kwargs.setdefault("continual_update", False)
    return mh.MetaBO(kb, meta_models=provider, **kwargs)


@pytest.fixture(autouse=True)
def fresh_models(tmp_path, monkeypatch):
    monkeypatch.setenv("METAHPO_HOME", str(tmp_path))


def run(optimizer, n_trials=10, seed=0, **kwargs):
    study = mh.create_study(space=FAMILY.space, optimizer=optimizer, seed=seed, **kwargs)
    study.optimize(lambda t: FAMILY.evaluate(TARGET, t.config), n_trials=n_trials, show_progress=False)
    return study


def test_warm_start_then_adapted_surrogate_and_each_trial_says_why():
    study = run(metabo(knowledge(), n_warm_start=3), n_trials=5)
    whys = [t.user_attrs["why"] for t in study.trials]
    assert [w["source"] for w in whys] == ["portfolio"] * 3 + ["surrogate"] * 2
    assert whys[0]["tasks"] and set(whys[0]["tasks"]) <= set(FAMILY.tasks[1:])
    similar = whys[-1]["similar_tasks"]
    assert len(similar) == 3 and all(name in FAMILY.tasks for name, _ in similar)
    assert whys[-1]["observations"] == 4


def test_why_names_the_adaptation_steps_kept():
    # A Meta-SGD model adapts with at most the inner loop's one step; the shared step size
    # with up to three, the number kept by leave-one-out.
    sgd = MetaModelProvider(MetaTrainingConfig(meta_steps=20, learned_step_sizes=True), adapt_steps=3)
    plain = MetaModelProvider(MetaTrainingConfig(meta_steps=20), adapt_steps=3)
    for provider, most in ((sgd, 1), (plain, 3)):
        optimizer = mh.MetaBO(knowledge(), meta_models=provider, n_warm_start=2, continual_update=False)
        whys = [t.user_attrs["why"] for t in run(optimizer, n_trials=5).trials[2:]]
        meta = [w["adapt_steps"] for w in whys if w["model"] == "meta-learned"]
        assert meta and all(isinstance(k, int) and 0 <= k <= most for k in meta), meta
        assert all(w["adapt_steps"] is None for w in whys if w["model"] == "study GP")


def test_the_study_gp_searches_under_the_meta_learned_prior_which_fades():
    study = run(metabo(knowledge(), n_warm_start=2), n_trials=12)
    whys = [t.user_attrs["why"] for t in study.trials[2:]]
    assert any(w["model"] == "study GP" for w in whys), [w["model"] for w in whys]
    for w in whys:
        if w["model"] == "study GP":
            assert w["prior_weight"] == pytest.approx(10.0 / w["observations"], abs=1e-4)
        else:
            assert "prior_weight" not in w


def test_without_related_tasks_it_is_gpbo():
    study = run(metabo(knowledge(n_tasks=2), meta_steps=10), n_trials=3)
    whys = [t.user_attrs["why"] for t in study.trials]
    assert {why["source"] for why in whys} <= {"sobol", "gpbo"}
    assert all(why["reason"] == "2 related tasks (< 3)" for why in whys)


def test_metabo_beats_random_search_on_a_related_task():
    kb = knowledge()
    seeds = range(3)
    meta = [regret(run(metabo(kb, meta_steps=60), 10, seed)) for seed in seeds]
    rand = [regret(run("random", 10, seed)) for seed in seeds]
    assert np.mean(meta) < 0.5 * np.mean(rand)


def test_runs_under_hyperband_with_the_budget_as_input():
    from metahpo.testing.synthetic import MultiFidelityBranin

    problem = MultiFidelityBranin(min_budget=1, max_budget=9)
    kb = mh.KnowledgeBase()
    for task in FAMILY.tasks[1:5]:
        kb.add_task(FAMILY.space, DESIGN, [FAMILY.evaluate(task, c) for c in DESIGN], name=task)
    study = mh.create_study(space=problem.space, seed=0,
                            optimizer=metabo(kb),
                            scheduler=mh.Hyperband(min_budget=1, max_budget=9, eta=3))
    study.optimize(lambda t: problem.evaluate(problem.tasks[0], t.config, t.budget), n_trials=13,
                   show_progress=False)
    assert {t.budget for t in study.trials} == {1.0, 3.0, 9.0}
    assert "surrogate" in {t.user_attrs["why"]["source"] for t in study.trials}


def test_continual_update_keeps_old_tasks_and_versions_the_model(tmp_path):
    kb_dir = tmp_path / "kb"
    knowledge().save(kb_dir)
    kb = mh.KnowledgeBase.open(str(kb_dir))
    optimizer = metabo(kb, store=tmp_path / "store", continual_update=True, n_warm_start=3)
    study = run(optimizer, n_trials=5)
    assert "knowledge_update" not in study.user_attrs  # optimize() does not finish the study
    summary = study.finish()
    assert summary == study.user_attrs["knowledge_update"]
    assert summary["version"] == 2 and summary["new_task_evaluations"] == 5
    # The guard: kept only if the old tasks' loss rose by at most 1% + 0.01 and the new
    # task's did not rise; otherwise the old parameters were saved again.
    anchor, after = summary["old_tasks_meta_test_loss_anchor"], summary["old_tasks_meta_test_loss_after"]
    new_before, new_after = summary["new_tasks_meta_test_loss_before"], summary["new_tasks_meta_test_loss_after"]
    assert anchor == summary["old_tasks_meta_test_loss_before"]  # the first update sets the anchor
    assert summary["kept"] == (after <= anchor + 0.01 * abs(anchor) + 0.01 and new_after <= new_before)
    store = MetaModelStore(tmp_path / "store")
    assert store.versions(summary["meta_model"]) == [1, 2]
    if not summary["kept"]:
        first, second = store.load(summary["meta_model"], 1), store.load(summary["meta_model"], 2)
        assert all(bool((first.params[k] == second.params[k]).all()) for k in first.params)
    assert study.finish() is None  # once per study: the task is already seen
    # A new study, with a new provider, starts from the updated version without retraining.
    again = metabo(mh.KnowledgeBase.open(str(kb_dir)), store=tmp_path / "store")
    run(again, n_trials=4, seed=1)
    model = again._provider.model(again.knowledge, _encoding())
    latest = store.load(summary["meta_model"], 2)
    assert all(bool((model.params[k] == latest.params[k]).all()) for k in latest.params)
    assert model.info["seen"] == latest.info["seen"] and len(model.info["seen"]) == 7


def test_the_guard_scores_an_update_on_old_tasks_it_did_not_replay(monkeypatch):
    from metahpo.surrogates.meta import _provider

    replayed: list[int] = []
    probe: set[int] = set()

    def spy_update(model, new_tasks, old_tasks, **kwargs):
        replayed.extend(id(t) for t in old_tasks)
        return update(model, new_tasks, old_tasks, **kwargs)

    def spy_score(model, tasks, **kwargs):
        if not replayed:  # scored before the update: the probe, as the model stands
            probe.update(id(t) for t in tasks)
        return score(model, tasks, **kwargs)

    update, score = _provider.continual_update, _provider.meta_test_loss
    monkeypatch.setattr(_provider, "continual_update", spy_update)
    monkeypatch.setattr(_provider, "meta_test_loss", spy_score)
    study = run(metabo(knowledge(), continual_update=True), n_trials=5)
    summary = study.finish()
    assert probe and replayed and not probe & set(replayed)
    assert summary["probe_tasks"] == len(probe) and summary["replayed_tasks"] == len(set(replayed))
    assert summary["probe_tasks"] <= summary["replayed_tasks"]


def test_later_updates_are_measured_against_the_model_as_last_meta_trained():
    from metahpo.surrogates.meta import MetaModelProvider, MetaTrainingConfig

    provider = MetaModelProvider(MetaTrainingConfig(meta_steps=20, seed=0))
    kb, encoding = knowledge(), _encoding()
    model = provider.model(kb, encoding)
    fresh = mh.KnowledgeBase()
    for name in FAMILY.tasks[7:8]:
        fresh.add_task(FAMILY.space, DESIGN[:20], [FAMILY.evaluate(name, c) for c in DESIGN[:20]], name=name)
    fresh.add_task(FAMILY.space, DESIGN[20:40], [FAMILY.evaluate(TARGET, c) for c in DESIGN[20:40]], name="target")
    first_task, second_task = fresh.tasks(FAMILY.space)
    old = list(kb.tasks(FAMILY.space))
    first, one = provider._grow(model, [first_task], old, encoding, seed=0)
    second, two = provider._grow(first, [second_task], [*old, first_task], encoding, seed=1)
    # One probe and one anchor for both: the loss of the model as last meta-trained.
    assert first.info["guard"] == second.info["guard"] and one["probe_tasks"] == two["probe_tasks"]
    assert one["probe_chosen_now"] and not two["probe_chosen_now"]
    anchor = one["old_tasks_meta_test_loss_before"]
    assert one["old_tasks_meta_test_loss_anchor"] == two["old_tasks_meta_test_loss_anchor"] == anchor
    within = two["old_tasks_meta_test_loss_after"] <= anchor + 0.01 * abs(anchor) + 0.01
    improved = two["new_tasks_meta_test_loss_after"] <= two["new_tasks_meta_test_loss_before"]
    assert two["kept"] == (within and improved)
    # The stored anchor decides, not the version just before: with its loss halved, the
    # same update is refused for the old tasks.
    strict = {**first.info["guard"], "loss": first.info["guard"]["loss"] / 2}
    refused, three = provider._grow(replace(first, info={**first.info, "guard": strict}), [second_task],
                                    [*old, first_task], encoding, seed=1)
    assert not three["kept"] and "as last meta-trained" in three["reason"]
    assert three["old_tasks_meta_test_loss_anchor"] == pytest.approx(anchor / 2, abs=1e-3)
    assert refused.info["guard"] == strict
    # A model meta-trained anew has no guard yet: its first update chooses a new one.
    assert "guard" not in model.info


def test_the_guard_survives_saving_and_loading_the_model(tmp_path):
    from metahpo.surrogates.meta import MetaModelProvider, MetaModelStore, MetaTrainingConfig

    provider = MetaModelProvider(MetaTrainingConfig(meta_steps=20, seed=0))
    kb, encoding = knowledge(), _encoding()
    fresh = mh.KnowledgeBase()
    fresh.add_task(FAMILY.space, DESIGN[:20], [FAMILY.evaluate(TARGET, c) for c in DESIGN[:20]], name="target")
    new_task = fresh.tasks(FAMILY.space)[0]
    first, _ = provider._grow(provider.model(kb, encoding), [new_task], list(kb.tasks(FAMILY.space)), encoding, seed=0)
    store = MetaModelStore(tmp_path)
    store.save("key", first)
    loaded = store.load("key", 1)
    assert loaded.info["guard"] == first.info["guard"]
    old = [*kb.tasks(FAMILY.space), new_task]
    fresh.add_task(FAMILY.space, DESIGN[20:40], [FAMILY.evaluate(FAMILY.tasks[7], c) for c in DESIGN[20:40]], name="next")
    _, summary = provider._grow(loaded, [fresh.tasks(FAMILY.space)[1]], old, encoding, seed=3)
    assert not summary["probe_chosen_now"]


def test_a_guard_whose_probe_tasks_are_gone_is_chosen_anew():
    from metahpo.surrogates.meta import MetaModelProvider, MetaTrainingConfig

    provider = MetaModelProvider(MetaTrainingConfig(meta_steps=20, seed=0))
    kb, encoding = knowledge(), _encoding()
    fresh = mh.KnowledgeBase()
    fresh.add_task(FAMILY.space, DESIGN[:20], [FAMILY.evaluate(TARGET, c) for c in DESIGN[:20]], name="target")
    new_task = fresh.tasks(FAMILY.space)[0]
    old = list(kb.tasks(FAMILY.space))
    first, _ = provider._grow(provider.model(kb, encoding), [new_task], old, encoding, seed=0)
    probe = {(int(n), float(total)) for n, total in first.info["guard"]["probe"]}
    from metahpo.surrogates.meta._provider import _signature

    remaining = [t for t in old if _signature(t) not in probe]  # every probe task gone
    fresh.add_task(FAMILY.space, DESIGN[20:40], [FAMILY.evaluate(FAMILY.tasks[7], c) for c in DESIGN[20:40]], name="next")
    _, summary = provider._grow(first, [fresh.tasks(FAMILY.space)[1]], [*remaining, new_task], encoding, seed=3)
    assert summary["probe_chosen_now"]


def test_a_guard_scored_on_other_draws_keeps_its_probe_and_is_scored_again():
    from dataclasses import replace

    from metahpo.surrogates.meta import MetaModelProvider, MetaTrainingConfig

    provider = MetaModelProvider(MetaTrainingConfig(meta_steps=20, seed=0))
    kb, encoding = knowledge(), _encoding()
    fresh = mh.KnowledgeBase()
    fresh.add_task(FAMILY.space, DESIGN[:20], [FAMILY.evaluate(TARGET, c) for c in DESIGN[:20]], name="target")
    fresh.add_task(FAMILY.space, DESIGN[20:40], [FAMILY.evaluate(FAMILY.tasks[7], c) for c in DESIGN[20:40]], name="next")
    first_task, next_task = fresh.tasks(FAMILY.space)
    old = list(kb.tasks(FAMILY.space))
    first, _ = provider._grow(provider.model(kb, encoding), [first_task], old, encoding, seed=0)
    # As an earlier version stored it: two splits per task, no "splits" field, another loss.
    legacy = {k: v for k, v in first.info["guard"].items() if k != "splits"}
    legacy["loss"] = legacy["loss"] + 5.0
    earlier = replace(first, info={**first.info, "guard": legacy})
    grown, summary = provider._grow(earlier, [next_task], [*old, first_task], encoding, seed=3)
    assert not summary["probe_chosen_now"]
    assert grown.info["guard"]["probe"] == legacy["probe"]  # the same held-out tasks
    assert grown.info["guard"]["splits"] == 6
    assert summary["old_tasks_meta_test_loss_anchor"] == summary["old_tasks_meta_test_loss_before"]
    assert grown.info["guard"]["loss"] < legacy["loss"] - 4.0  # scored again, not carried over


def _encoding():
    from metahpo.surrogates import SpaceEncoding

    return SpaceEncoding(FAMILY.space)


def test_plateau_stops_the_study():
    optimizer = metabo(knowledge(), plateau_patience=2)
    study = mh.create_study(space=FAMILY.space, optimizer=optimizer, seed=0)
    study.optimize(lambda t: 1.0, n_trials=30, show_progress=False)  # nothing ever improves
    assert len(study.trials) == 3


def test_under_a_scheduler_the_plateau_counts_full_budget_trials_only():
    optimizer = mh.MetaBO(knowledge=None, plateau_patience=1, continual_update=False)
    study = mh.create_study(space=mh.Space({"x": mh.Float(0, 1)}), optimizer=optimizer, seed=0,
                            scheduler=mh.Hyperband(min_budget=1, max_budget=9, eta=3))
    study.optimize(lambda t: 1.0, n_trials=60, show_progress=False)  # nothing ever improves
    # It stopped at the second full-budget trial, not among the first rung's (budget 1).
    assert [t.budget for t in study.trials].count(9) == 2 and study.trials[-1].budget == 9


def test_get_params_is_json_and_reload_works(tmp_path):
    import json

    kb_dir = tmp_path / "kb"
    knowledge().save(kb_dir)
    storage = f"sqlite:///{tmp_path / 'db.sqlite'}"
    study = mh.create_study(name="m", space=FAMILY.space, storage=storage, seed=0,
                            optimizer="metabo", knowledge=str(kb_dir))
    json.dumps(study.optimizer.get_params())
    loaded = mh.load_study("m", storage)
    assert isinstance(loaded.optimizer, mh.MetaBO) and loaded.optimizer.knowledge.spec == str(kb_dir)
    assert len(loaded.optimizer.knowledge) == 6


def test_without_warm_start_it_starts_from_sobol_points():
    study = run(metabo(knowledge(), n_warm_start=0, meta_steps=10), n_trials=3)
    assert [t.user_attrs["why"]["source"] for t in study.trials] == ["sobol", "sobol", "surrogate"]


def test_auto_picks_metabo_for_the_bundled_space_and_gpbo_otherwise():
    hgb = next(iter(mh.bundled_knowledge("keel-hgb"))).space
    chosen = mh.create_study(space=hgb, optimizer="auto", seed=0).optimizer
    assert isinstance(chosen, mh.MetaBO) and chosen.knowledge.spec == "bundled:keel-hgb"
    other = mh.create_study(space=FAMILY.space, optimizer="auto", seed=0).optimizer
    assert type(other) is mh.GPBO


def _team_storage(tmp_path) -> str:
    """A SQLite file holding four finished random-search studies of related tasks."""
    url = f"sqlite:///{tmp_path / 'team.sqlite'}"
    for task in FAMILY.tasks[1:5]:
        past = mh.create_study(name=f"past-{task}", space=FAMILY.space, storage=url,
                               optimizer="random", seed=0)
        past.optimize(lambda t, task=task: FAMILY.evaluate(task, t.config), n_trials=12,
                      show_progress=False)
    return url


def test_a_reloaded_study_does_not_count_itself_among_the_related_tasks(tmp_path):
    url = f"sqlite:///{tmp_path / 'team.sqlite'}"
    for task in FAMILY.tasks[1:3]:  # two past tasks: one short of what MetaBO needs
        past = mh.create_study(name=f"past-{task}", space=FAMILY.space, storage=url, optimizer="random", seed=0)
        past.optimize(lambda t, task=task: FAMILY.evaluate(task, t.config), n_trials=8, show_progress=False)
    study = mh.create_study(name="mine", space=FAMILY.space, storage=url, optimizer="metabo", seed=0)
    study.optimize(lambda t: FAMILY.evaluate(TARGET, t.config), n_trials=5, show_progress=False)
    reloaded = mh.load_study("mine", url)  # its own five trials are a task of the storage now
    reloaded.optimize(lambda t: FAMILY.evaluate(TARGET, t.config), n_trials=1, show_progress=False)
    assert reloaded.trials[-1].user_attrs["why"]["reason"] == "2 related tasks (< 3)"


def test_meta_models_are_versioned_in_the_knowledge_storage(tmp_path):
    url = _team_storage(tmp_path)  # four finished studies: the team's knowledge
    optimizer = metabo(mh.KnowledgeBase.open(url), store=tmp_path / "folder", continual_update=True)
    study = mh.create_study(name="new", space=FAMILY.space, storage=url, optimizer=optimizer, seed=0)
    study.optimize(lambda t: FAMILY.evaluate(TARGET, t.config), n_trials=6, show_progress=False)
    key = study.finish()["meta_model"]
    from metahpo.storage import get_storage

    storage = get_storage(url)
    # Trained once, then updated when the study ended: two versions, in the database only.
    assert storage.artefacts.versions(key) == [1, 2]
    assert not (tmp_path / "folder").exists()


def test_the_next_study_learns_from_studies_finished_in_the_storage_once(tmp_path, caplog):
    url = f"sqlite:///{tmp_path / 'team.sqlite'}"

    def past(name, task, seed=0):
        study = mh.create_study(name=name, space=FAMILY.space, storage=url, optimizer="random", seed=seed)
        study.optimize(lambda t: FAMILY.evaluate(task, t.config), n_trials=12, show_progress=False)

    for task in FAMILY.tasks[1:5]:
        past(f"past-{task}", task)

    def model_of_a_new_study():
        optimizer = metabo(mh.KnowledgeBase.open(url))
        return optimizer._provider.model(optimizer.knowledge, _encoding())

    first = model_of_a_new_study()  # meta-trained on the four studies
    assert first.info["version"] == 1 and len(first.info["seen"]) == 4
    assert model_of_a_new_study().info["version"] == 1  # nothing grew: no update
    past("ask-tell-user", FAMILY.tasks[5])  # a study nobody finished explicitly
    with caplog.at_level(logging.INFO, logger="metahpo.surrogates"):
        grown = model_of_a_new_study()
    assert re.search(r"Continual update on 1 task\(s\) not learned from yet \(.*ask-tell-user.*\): (kept|discarded)",
                     caplog.text)
    assert grown.info["version"] == 2 and len(grown.info["seen"]) == 5
    assert model_of_a_new_study().info["version"] == 2  # considered once, not again
    assert grown.info["trained_on"] == 4  # a continual update, not a new meta-training
    for i, task in enumerate(FAMILY.tasks[1:4]):  # eight studies now: twice what it was trained on
        past(f"more-{i}", task, seed=i + 1)
    doubled = model_of_a_new_study()
    assert doubled.info["trained_on"] == 8 and len(doubled.info["seen"]) == 8


def test_continual_updates_do_not_compound_the_learning_rate():
    from metahpo.surrogates import SpaceEncoding
    from metahpo.surrogates.meta import continual_update, meta_train, tasks_to_data

    data = tasks_to_data(knowledge().tasks(FAMILY.space), SpaceEncoding(FAMILY.space))
    model = meta_train(data[1:], MetaTrainingConfig(meta_steps=5))
    for _ in range(3):
        model = continual_update(model, data[:1], data[1:], steps=2)
    assert model.config.meta_lr == MetaTrainingConfig().meta_lr and model.info["version"] == 4


def test_create_study_hands_the_knowledge_to_metabo():
    kb = knowledge()
    study = mh.create_study(space=FAMILY.space, optimizer="metabo", knowledge=kb, seed=0)
    assert study.optimizer.knowledge is kb
    auto = mh.create_study(space=FAMILY.space, optimizer="auto", knowledge=kb, seed=0)
    assert isinstance(auto.optimizer, mh.MetaBO) and auto.optimizer.knowledge is kb
    few = mh.create_study(space=FAMILY.space, optimizer="auto", knowledge=knowledge(n_tasks=2), seed=0)
    assert type(few.optimizer) is mh.GPBO
    with pytest.raises(mh.InvalidParameterError, match="knowledge"):
        mh.create_study(space=FAMILY.space, optimizer=mh.MetaBO(), knowledge=kb)
    with pytest.raises(mh.InvalidParameterError, match="does not learn from knowledge"):
        mh.create_study(space=FAMILY.space, optimizer="random", knowledge=kb)
    with pytest.raises(mh.InvalidParameterError, match="'knowledge' parameter of MetaBO"):
        mh.MetaBO("bundled:keel-hgb")


def test_public_signature_holds_only_what_users_set():
    import inspect

    assert len(inspect.signature(mh.MetaBO).parameters) <= 8


@pytest.mark.parametrize(
    ("params", "match"),
    [({"continual_update": "no"}, "continual_update"), ({"acquisition": "ei"}, "acquisition"),
     ({"meta_models": 3}, "meta_models"), ({"n_warm_start": -1}, "n_warm_start")],
)
def test_bad_parameters_are_refused_by_name(params, match):
    with pytest.raises(mh.InvalidParameterError, match=match):
        mh.MetaBO(knowledge(), **params)


def test_auto_output_transform_takes_log_for_losses_spanning_magnitudes():
    # Branin's losses run from 0.4 to about 300: on the log scale they are far easier to
    # model, and over a few meta-training seeds the leave-one-out choice says so.
    transforms = []
    for seed in range(3):
        provider = MetaModelProvider(MetaTrainingConfig(meta_steps=20, seed=seed))
        study = run(mh.MetaBO(knowledge(), meta_models=provider, continual_update=False), n_trials=8)
        transforms += [t.user_attrs["why"]["transform"] for t in study.trials
                       if t.user_attrs["why"]["source"] == "surrogate"]
    assert "log" in transforms and set(transforms) <= {"log", "standardize"}


def test_a_study_reopened_from_its_storage_is_not_replayed_as_an_old_task(tmp_path):
    url = _team_storage(tmp_path)
    optimizer = metabo(mh.KnowledgeBase.open(url), continual_update=True)
    study = mh.create_study(name="new", space=FAMILY.space, storage=url, optimizer=optimizer, seed=0)
    study.optimize(lambda t: FAMILY.evaluate(TARGET, t.config), n_trials=6, show_progress=False)
    # Reopened the next day: the storage's knowledge now holds the study's own evaluations.
    assert len(mh.KnowledgeBase.open(url).tasks(FAMILY.space)) == 5
    reopened = mh.load_study("new", storage=url)
    assert len(reopened.optimizer.knowledge.tasks(FAMILY.space)) == 5
    summary = reopened.finish()
    assert summary["new_task_evaluations"] == 6
    assert summary["replayed_tasks"] + summary["probe_tasks"] == 4


def test_a_resumed_study_does_not_name_itself_among_the_similar_tasks(tmp_path):
    url = _team_storage(tmp_path)

    def resume(n_trials):
        optimizer = metabo(mh.KnowledgeBase.open(url), store=tmp_path / "models")
        study = mh.create_study(name="mine", space=FAMILY.space, storage=url, optimizer=optimizer,
                                seed=0, load_if_exists=True)
        study.optimize(lambda t: FAMILY.evaluate(TARGET, t.config), n_trials=n_trials, show_progress=False)
        return study

    resume(6)  # stored: the knowledge now reads it as a task of the storage
    assert "mine" in mh.KnowledgeBase.open(url).names
    why = resume(1).trials[-1].user_attrs["why"]
    assert why["source"] == "surrogate"
    names = [name for name, _ in why["similar_tasks"]]
    assert len(names) == 3 and "mine" not in names


def test_a_discarded_update_in_the_next_study_is_logged_once(tmp_path, caplog, monkeypatch):
    from metahpo.surrogates.meta import _provider

    url = f"sqlite:///{tmp_path / 'team.sqlite'}"
    for i, task in enumerate(FAMILY.tasks[1:6]):
        if i == 4:  # trained on four; the fifth is learned from in the next suggestion
            metabo(mh.KnowledgeBase.open(url))._provider.model(mh.KnowledgeBase.open(url), _encoding())
        study = mh.create_study(name=f"past-{i}", space=FAMILY.space, storage=url, optimizer="random", seed=i)
        study.optimize(lambda t, task=task: FAMILY.evaluate(task, t.config), n_trials=12, show_progress=False)
    monkeypatch.setattr(_provider, "_verdict", lambda *scores: "the old tasks' loss would rise")
    optimizer = metabo(mh.KnowledgeBase.open(url))
    with caplog.at_level(logging.INFO, logger="metahpo.surrogates"):
        optimizer._provider.model(optimizer.knowledge, _encoding())
    outcomes = [r.getMessage() for r in caplog.records
                if r.getMessage().startswith(("Continual update on", "Discarded"))]
    assert len(outcomes) == 1 and "discarded, the old tasks' loss would rise" in outcomes[0]
