"""A MetaBO named (``optimizer="metabo"``) or given with the default meta-model provider
starts from the bundle's ready-trained meta-model whenever ``"auto"``'s would, also once its
study is reopened from storage; a provider of the user's own is left as it is given.

``no_meta_training`` (tests/conftest.py) makes meta-training raise ``MetaTrained``: a study
that would meta-train on the bundle at its first model-based suggestion fails that ask."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import metahpo as mh
from metahpo.knowledge import bundled_meta_model
from metahpo.surrogates import SpaceEncoding
from metahpo.surrogates.meta import MetaModelProvider, MetaModelStore

BUNDLE = "hgb-classifier"
SPACE = mh.presets.get(BUNDLE).space


def _loss(config: dict[str, Any]) -> float:
    """A cheap stand-in over the preset's space: a loss near lr = 0.1."""
    return abs(math.log(config["learning_rate"] / 0.1)) + config["max_features"] / 10.0


def _warm_start(study: mh.Study) -> None:
    """MetaBO's three portfolio configs, evaluated; its next suggestion is model-based."""
    for _ in range(3):
        trial = study.ask()
        study.tell(trial, _loss(trial.config))
    assert [t.user_attrs["why"]["source"] for t in study.trials] == ["portfolio"] * 3


def _model_based_ask(study: mh.Study) -> None:
    trial = study.ask()
    assert study.trials[-1].user_attrs["why"]["source"] == "surrogate"
    study.tell(trial, _loss(trial.config))


def _assert_used_the_shipped_model(study: mh.Study, folder: Path) -> None:
    """The meta-model the study's suggestion stored in ``folder`` (a first use is saved as
    the key's first version) has the parameters of the model shipped with the bundle."""
    key = MetaModelProvider().key(study.optimizer.knowledge, SpaceEncoding(study.space))
    with MetaModelStore(folder) as store:
        assert store.versions(key) == [1]
        used = store.latest(key)
    shipped = bundled_meta_model(BUNDLE, budgets=False)
    assert used is not None and shipped is not None
    assert used.params.keys() == shipped.params.keys()
    assert all(used.params[name].equal(shipped.params[name]) for name in shipped.params)


# Each makes a study and says the folder its meta-models are kept in: the default one,
# $METAHPO_HOME/meta (tmp_path/"meta" under no_meta_training), or one of the user's.


def _named(tmp_path: Path) -> tuple[mh.Study, Path]:
    study = mh.create_study(space=SPACE, knowledge=f"bundled:{BUNDLE}", optimizer="metabo", seed=0)
    return study, tmp_path / "meta"


def _preset(tmp_path: Path) -> tuple[mh.Study, Path]:
    return mh.create_study(preset=BUNDLE, optimizer="metabo", seed=0), tmp_path / "meta"


def _instance(tmp_path: Path) -> tuple[mh.Study, Path]:
    given = mh.MetaBO(knowledge=mh.KnowledgeBase.open(f"bundled:{BUNDLE}"))
    study = mh.create_study(space=SPACE, optimizer=given, seed=0)
    assert given.meta_models is None  # the instance given is not changed
    return study, tmp_path / "meta"


def _instance_with_a_folder(tmp_path: Path) -> tuple[mh.Study, Path]:
    # The default provider keeping its meta-models in a folder of the user's, not the default one.
    folder = tmp_path / "mine"
    given = mh.MetaBO(knowledge=mh.KnowledgeBase.open(f"bundled:{BUNDLE}"), meta_models=str(folder))
    return mh.create_study(space=SPACE, optimizer=given, seed=0), folder


@pytest.mark.parametrize("make", [_named, _preset, _instance, _instance_with_a_folder])
def test_a_named_metabo_starts_from_the_bundles_ready_trained_model(
    make: Callable[[Path], tuple[mh.Study, Path]], no_meta_training: type[Exception], tmp_path: Path
) -> None:
    study, folder = make(tmp_path)
    assert study.optimizer.name == "metabo"
    assert study.user_attrs["ready_meta_models"] == f"bundled:{BUNDLE}"
    assert "optimizer_choice" not in study.user_attrs  # no "auto" chose it
    _warm_start(study)
    _model_based_ask(study)  # meta-training would raise here
    _assert_used_the_shipped_model(study, folder)
    if folder != tmp_path / "meta":
        assert not (tmp_path / "meta").exists()  # nothing kept where the user did not say


def _load(name: str, url: str, optimizer: Any) -> mh.Study:
    return mh.load_study(name, storage=url)


def _resume(name: str, url: str, optimizer: Any) -> mh.Study:
    # What `metahpo tune` does with a stored study.
    return mh.create_study(name=name, space=SPACE, storage=url, optimizer=optimizer, seed=0, load_if_exists=True)


@pytest.mark.parametrize("reopen", [_load, _resume])
@pytest.mark.parametrize("named", [True, False], ids=["by name", "instance"])
def test_a_reopened_named_metabo_still_starts_from_the_ready_trained_model(
    reopen: Callable[[str, str, Any], mh.Study], named: bool, no_meta_training: type[Exception],
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    kb = mh.KnowledgeBase.open(f"bundled:{BUNDLE}")
    optimizer = "metabo" if named else mh.MetaBO(knowledge=kb)
    knowledge = f"bundled:{BUNDLE}" if named else None
    made = mh.create_study(name="named", space=SPACE, storage=url, optimizer=optimizer, knowledge=knowledge, seed=0)
    _warm_start(made)
    # Reopened before its first model-based suggestion: no meta-model is stored yet, and the
    # stored optimizer spec holds the provider's settings, not the ready-trained models.
    again = reopen("named", url, "metabo" if named else mh.MetaBO(knowledge=kb))
    assert again.user_attrs["ready_meta_models"] == f"bundled:{BUNDLE}"
    _model_based_ask(again)
    _assert_used_the_shipped_model(again, tmp_path / "meta")


def test_a_metabo_given_a_provider_of_its_own_meta_trains_also_once_reopened(
    no_meta_training: type[Exception], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    given = mh.MetaBO(knowledge=mh.KnowledgeBase.open(f"bundled:{BUNDLE}"), meta_models=MetaModelProvider())
    study = mh.create_study(name="own", space=SPACE, storage=url, optimizer=given, seed=0)
    assert study.optimizer is given
    assert "ready_meta_models" not in study.user_attrs
    _warm_start(study)
    # Its stored spec is that of the default provider: what tells them apart is stored.
    with pytest.raises(no_meta_training):
        mh.load_study("own", storage=url).ask()
    with pytest.raises(no_meta_training):
        study.ask()
    # Resumed with a MetaBO of the default provider (the stored spec is the same): the
    # study, not this call, says whether it starts from the ready-trained model.
    resumed = _resume("own", url, mh.MetaBO(knowledge=mh.KnowledgeBase.open(f"bundled:{BUNDLE}")))
    assert _ready_models(resumed) == []
    with pytest.raises(no_meta_training):
        resumed.ask()


def _ready_models(study: mh.Study) -> list[Any]:
    """The ready-trained meta-models the study's MetaBO starts from (none: it meta-trains)."""
    return list(getattr(study.optimizer.meta_models, "initial", None) or [])


@pytest.mark.parametrize("reopen", [_load, _resume])
def test_a_study_of_another_kind_of_problem_resumed_without_its_task_starts_from_nothing(
    reopen: Callable[[str, str, Any], mh.Study], tmp_path: Path
) -> None:
    # The kind of problem is the stored study's: a resuming call that does not repeat the
    # task does not make it a classifier's study.
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    kb = mh.KnowledgeBase.open(f"bundled:{BUNDLE}")
    made = mh.create_study(name="mine", space=SPACE, storage=url, optimizer=mh.MetaBO(knowledge=kb), seed=0,
                           task=mh.Task("mine", kind="regression"))
    assert "ready_meta_models" not in made.user_attrs and _ready_models(made) == []
    again = reopen("mine", url, mh.MetaBO(knowledge=kb))
    assert again.optimizer.name == "metabo"
    assert _ready_models(again) == []


def test_a_study_auto_started_from_the_ready_model_resumed_with_an_instance_starts_from_it(
    no_meta_training: type[Exception], tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    made = mh.create_study(name="auto", space=SPACE, storage=url, knowledge=f"bundled:{BUNDLE}", seed=0)
    assert made.user_attrs["optimizer_choice"]["optimizer"] == "metabo"
    _warm_start(made)
    again = _resume("auto", url, mh.MetaBO(knowledge=mh.KnowledgeBase.open(f"bundled:{BUNDLE}")))
    assert len(_ready_models(again)) == len(_ready_models(made)) > 0
    _model_based_ask(again)
    _assert_used_the_shipped_model(again, tmp_path / "meta")


@pytest.mark.parametrize("reopen", [_load, _resume])
@pytest.mark.parametrize("value", [False, True, "yes", "bundled:another-bundle", f"bundled:{BUNDLE}"])
def test_only_the_bundle_of_the_knowledge_as_ready_meta_models_starts_a_reopened_study(
    value: Any, reopen: Callable[[str, str, Any], mh.Study], no_meta_training: type[Exception],
    tmp_path: Path,
) -> None:
    # A study made with a provider of the user's own, whose "ready_meta_models" was set
    # (as a user could before metahpo reserved the key): only "bundled:NAME", NAME the
    # bundle of the knowledge it reopens with, is metahpo's own record of a start.
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    kb = mh.KnowledgeBase.open(f"bundled:{BUNDLE}")
    made = mh.create_study(name="older", space=SPACE, storage=url, seed=0,
                           optimizer=mh.MetaBO(knowledge=kb, meta_models=MetaModelProvider()))
    made.storage.set_study_user_attrs(made.study_id, {"ready_meta_models": value})
    _warm_start(made)
    again = reopen("older", url, mh.MetaBO(knowledge=kb))
    if value == f"bundled:{BUNDLE}":
        _model_based_ask(again)
        _assert_used_the_shipped_model(again, tmp_path / "meta")
    else:
        assert _ready_models(again) == []
        with pytest.raises(no_meta_training):
            again.ask()


def test_a_space_listing_the_bundles_parameters_in_another_order_meta_trains(
    no_meta_training: type[Exception],
) -> None:
    # The study's space is the user's: not reordered, so the ready-trained model, which
    # reads its inputs in the bundle's order, cannot start it ("auto" neither).
    reordered = mh.Space({name: SPACE[name] for name in reversed(SPACE.names)})
    assert mh.study.knowledge_order(mh.KnowledgeBase.open(f"bundled:{BUNDLE}"), reordered).names == SPACE.names
    for optimizer in ("metabo", "auto"):
        study = mh.create_study(space=reordered, knowledge=f"bundled:{BUNDLE}", optimizer=optimizer, seed=0)
        assert study.optimizer.name == "metabo"
        assert "ready_meta_models" not in study.user_attrs
        _warm_start(study)
        with pytest.raises(no_meta_training):
            study.ask()


def test_a_named_metabo_of_another_kind_of_problem_does_not_start_from_the_classifiers_model() -> None:
    # As for "auto": a classifier's model is no start for a regression study.
    study = mh.create_study(space=SPACE, knowledge=f"bundled:{BUNDLE}", optimizer="metabo", seed=0,
                            task=mh.Task("mine", kind="regression"))
    assert "ready_meta_models" not in study.user_attrs
    other = mh.create_study(space=SPACE, knowledge=f"bundled:{BUNDLE}", optimizer="metabo", seed=0,
                            task=mh.Task("mine", kind="classification"))
    assert other.user_attrs["ready_meta_models"] == f"bundled:{BUNDLE}"


def test_show_says_a_named_metabo_starts_from_the_ready_trained_model(tmp_path: Path) -> None:
    from metahpo.storage import get_storage
    from metahpo.study import optimizer_label

    url = f"sqlite:///{tmp_path / 'label.db'}"
    mh.create_study(name="named", preset=BUNDLE, optimizer="metabo", storage=url, seed=0)
    mh.create_study(name="mine", preset=BUNDLE, storage=url, seed=0,
                    optimizer=mh.MetaBO(mh.KnowledgeBase.open(f"bundled:{BUNDLE}"), meta_models=MetaModelProvider()))
    record = {r.name: r for r in get_storage(url).list_studies()}
    assert optimizer_label(record["named"].optimizer, record["named"].user_attrs) == (
        f"MetaBO (starting from the ready-trained meta-model of 'bundled:{BUNDLE}')")
    assert optimizer_label(record["named"].optimizer, record["named"].user_attrs, reason=False) == "MetaBO (ready-trained)"
    assert optimizer_label(record["mine"].optimizer, record["mine"].user_attrs) == "MetaBO"
    # A value an older version let a user set is not a start.
    assert optimizer_label({"name": "metabo"}, {"ready_meta_models": False}) == "MetaBO"
