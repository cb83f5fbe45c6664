"""Optuna histories as knowledge, read from a SQLite file that Optuna itself wrote."""

from __future__ import annotations

import logging
import re
import sqlite3

import numpy as np
import pytest

import metahpo as mh
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge import KnowledgeBase

optuna = pytest.importorskip("optuna")

STEPS = 3  # intermediate values at steps 0, 1, 2; the full budget is step 2 + 1 = 3

CLF_CONFIGS = [
    {"lr": 0.01, "depth": 4, "booster": "gbtree", "frac": 0.5, "leaves": 4},
    {"lr": 0.1, "depth": 12, "booster": "dart", "frac": 0.3, "leaves": 8},   # pruned after step 1
    {"lr": 0.8, "depth": 2, "booster": "gbtree", "frac": 1.0, "leaves": 2},  # fails
    {"lr": 0.05, "depth": 1, "booster": "dart", "frac": 0.1, "leaves": 10},
    {"lr": 0.3, "depth": 16, "booster": "gbtree", "frac": 0.7, "leaves": 6},
    {"lr": 0.002, "depth": 9, "booster": "dart", "frac": 0.9, "leaves": 2},  # pruned after step 1
    {"lr": 0.2, "depth": 3, "booster": "dart", "frac": 0.2, "leaves": 4},
]


def accuracy(config, step):
    return round(0.5 + 0.1 * step + 0.01 * config["depth"] - config["frac"] / 10, 6)


def final_accuracy(config):
    return round(accuracy(config, STEPS - 1) + 0.05, 6)


def clf_objective(trial):
    config = {
        "lr": trial.suggest_float("lr", 1e-3, 1.0, log=True),
        "depth": trial.suggest_int("depth", 1, 16, log=True),
        "booster": trial.suggest_categorical("booster", ["gbtree", "dart"]),
        "frac": trial.suggest_float("frac", 0.1, 1.0, step=0.1),
        "leaves": trial.suggest_int("leaves", 2, 10, step=2),
    }
    if config["lr"] > 0.5:
        raise ValueError("diverged")
    for step in range(STEPS):
        trial.report(accuracy(config, step), step)
        if config["booster"] == "dart" and config["depth"] > 8 and step == 1:
            raise optuna.TrialPruned()
    return final_accuracy(config)


LOSS_CONFIGS = [{"x": -0.5, "n": 0}, {"x": 0.25, "n": 3}, {"x": 0.0, "n": 1},
                {"x": 0.9, "n": 2}, {"x": -1.0, "n": 1}, {"x": 0.5, "n": 2}]


def loss_objective(trial):
    x = trial.suggest_float("x", -1.0, 1.0)
    n = trial.suggest_int("n", 0, 3)
    if n == 2 and x > 0.8:
        raise ValueError("unlucky")
    return x**2 + n


def conditional_objective(trial):
    kind = trial.suggest_categorical("kind", ["svm", "rf"])
    # The range of `alpha` grows after the third trial (Optuna's dynamic value space).
    alpha = trial.suggest_float("alpha", 0.0, 1.0 if trial.number < 3 else 2.0)
    if kind == "svm":
        trial.suggest_float("C", 1e-2, 1e2, log=True)
    else:
        trial.suggest_int("trees", 10, 100)
    trial.suggest_int("fixed", 5, 5)
    return alpha + (kind == "rf")


def make_optuna_file(path):
    """A SQLite file written by Optuna: five studies covering what the import maps."""
    url = f"sqlite:///{path}"
    clf = optuna.create_study(study_name="clf", storage=url, direction="maximize",
                              sampler=optuna.samplers.RandomSampler(seed=0))
    clf.set_user_attr("task", {"name": "clf", "descriptor": {"n_samples": 500.0}})
    for config in CLF_CONFIGS:
        clf.enqueue_trial(config)
    clf.optimize(clf_objective, n_trials=len(CLF_CONFIGS), catch=(ValueError,))
    clf.ask()                                  # RUNNING
    clf.enqueue_trial(CLF_CONFIGS[0])          # WAITING

    loss = optuna.create_study(study_name="loss", storage=url,
                               sampler=optuna.samplers.RandomSampler(seed=0))
    for config in LOSS_CONFIGS:
        loss.enqueue_trial(config)
    loss.optimize(loss_objective, n_trials=len(LOSS_CONFIGS), catch=(ValueError,))

    cond = optuna.create_study(study_name="conditional", storage=url,
                               sampler=optuna.samplers.RandomSampler(seed=0))
    for kind, alpha in [("svm", 0.5), ("rf", 0.25), ("svm", 0.75), ("rf", 1.5), ("svm", 1.0)]:
        cond.enqueue_trial({"kind": kind, "alpha": alpha})
    cond.optimize(conditional_objective, n_trials=5)

    multi = optuna.create_study(study_name="multi", storage=url,
                                directions=["minimize", "maximize"])
    multi.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=5)

    tiny = optuna.create_study(study_name="tiny", storage=url)
    tiny.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    return url


@pytest.fixture(scope="module")
def optuna_url(tmp_path_factory):
    return make_optuna_file(tmp_path_factory.mktemp("optuna") / "optuna.db")


def test_every_single_objective_study_with_enough_trials_becomes_a_task(optuna_url, caplog):
    with caplog.at_level(logging.WARNING, logger="metahpo.knowledge._optuna"):
        kb = KnowledgeBase.from_optuna(optuna_url)
    assert sorted(kb.names) == ["clf", "conditional", "loss"]
    assert kb.spec is None
    text = caplog.text
    assert "'multi'" in text and "2 objectives" in text
    assert "'tiny'" in text and "2 usable trials" in text


def test_maximized_study_with_pruned_and_failed_trials_maps_exactly(optuna_url):
    task = KnowledgeBase.from_optuna(optuna_url, ["clf"])["clf"]
    assert task.space == mh.Space({
        "lr": mh.Float(1e-3, 1.0, log=True),
        "depth": mh.Int(1, 16, log=True),
        "booster": mh.Categorical(["gbtree", "dart"]),
        "frac": mh.Float(0.1, 1.0),
        "leaves": mh.Int(2, 10),
    })
    configs, losses, budgets = [], [], []
    for config in CLF_CONFIGS:
        if config["lr"] > 0.5:                    # FAIL: skipped
            continue
        pruned = config["booster"] == "dart" and config["depth"] > 8
        # Pruned after step 1; a COMPLETE trial's value stands for its last step (2).
        steps = [0, 1]
        for step in steps:
            configs.append(config)
            losses.append(-accuracy(config, step))
            budgets.append(step + 1.0)
        if not pruned:
            configs.append(config)
            losses.append(-final_accuracy(config))
            budgets.append(float(STEPS))
    assert [dict(c) for c in task.configs] == configs
    np.testing.assert_allclose(task.losses, losses, rtol=0, atol=1e-12)
    assert task.budgets.tolist() == budgets
    assert task.budget_levels() == [1.0, 2.0, 3.0]
    assert task.descriptor == {"n_samples": 500.0}
    assert task.source == f"optuna:{optuna_url}:clf"
    assert task.best_config() == CLF_CONFIGS[4]   # the highest final accuracy


def test_study_without_intermediate_values_is_a_full_budget_task(optuna_url):
    task = KnowledgeBase.from_optuna(optuna_url, ["loss"], prefix="optuna-")["optuna-loss"]
    assert task.space == mh.Space({"x": mh.Float(-1.0, 1.0), "n": mh.Int(0, 3)})
    kept = [c for c in LOSS_CONFIGS if not (c["n"] == 2 and c["x"] > 0.8)]
    assert [dict(c) for c in task.configs] == kept
    assert task.losses.tolist() == [c["x"] ** 2 + c["n"] for c in kept]
    assert task.budgets is None
    assert task.descriptor is None


def test_conditional_parameters_keep_the_intersection_and_join_ranges(optuna_url):
    task = KnowledgeBase.from_optuna(optuna_url, ["conditional"])["conditional"]
    assert task.space == mh.Space({
        "kind": mh.Categorical(["svm", "rf"]),
        "alpha": mh.Float(0.0, 2.0),
        "fixed": mh.Categorical([5]),
    })
    assert [c["alpha"] for c in task.configs] == [0.5, 0.25, 0.75, 1.5, 1.0]
    assert task.n_evaluations == 5


def test_trials_with_only_a_non_finite_value_are_left_out_before_the_space_is_chosen(tmp_path):
    url = f"sqlite:///{tmp_path / 'optuna.db'}"

    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        if trial.number % 3 == 0:
            return float("inf")  # a config refused before "n" is suggested
        return x + trial.suggest_int("n", 0, 3)

    study = optuna.create_study(study_name="refusing", storage=url,
                                sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=9)
    # "n" was dropped from the task, though no usable trial lacked it.
    task = KnowledgeBase.from_optuna(url, ["refusing"])["refusing"]
    assert task.space.names == ["x", "n"]
    assert task.n_evaluations == 6
    # Only the 6 finite trials count towards min_trials.
    with pytest.raises(InvalidParameterError, match="it has 6 usable trials"):
        KnowledgeBase.from_optuna(url, ["refusing"], min_trials=7)


def test_a_trial_run_outside_its_distribution_is_left_out_not_the_storage(tmp_path, caplog):
    from metahpo.integrations.optuna import knowledge_from_optuna

    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    for name, enqueued in (("a_good", None), ("b_enqueued", {"x": 5.0})):
        study = optuna.create_study(study_name=name, storage=url, sampler=optuna.samplers.RandomSampler(seed=0))
        if enqueued is not None:
            with pytest.warns(UserWarning, match="out of range"):
                study.enqueue_trial(enqueued)  # Optuna runs it, with a warning
                study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=8)
        else:
            study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=8)
    with caplog.at_level(logging.WARNING):
        kb = KnowledgeBase.from_optuna(url)
    assert kb.names == ["a_good", "b_enqueued"] and kb["b_enqueued"].n_evaluations == 7
    assert "1 trials with values outside their distributions skipped" in caplog.text
    assert knowledge_from_optuna([optuna.load_study(study_name="b_enqueued", storage=url)])["b_enqueued"].n_evaluations == 7


def test_a_named_study_that_cannot_be_a_task_is_an_error_and_nothing_is_added(optuna_url):
    kb = KnowledgeBase()
    with pytest.raises(InvalidParameterError, match=r"'multi'.*2 objectives"):
        kb.add_optuna(optuna_url, ["loss", "multi"])
    with pytest.raises(InvalidParameterError, match=r"'tiny'.*min_trials=5"):
        kb.add_optuna(optuna_url, ["tiny"])
    with pytest.raises(InvalidParameterError, match="No Optuna study named 'nope'"):
        kb.add_optuna(optuna_url, ["nope"])
    kb.add_task(mh.Space({"x": mh.Float(0, 1)}), [{"x": 0.5}], [1.0], name="loss")
    with pytest.raises(InvalidParameterError, match="already in the knowledge base"):
        kb.add_optuna(optuna_url)                 # 'loss' clashes: clf is not added either
    assert kb.names == ["loss"]
    assert KnowledgeBase.from_optuna(optuna_url, ["tiny"], min_trials=2)["tiny"].n_evaluations == 2


def test_an_optuna_study_object_and_a_storage_object(optuna_url):
    study = optuna.load_study(study_name="loss", storage=optuna_url)
    task = KnowledgeBase.from_optuna(study)["loss"]
    assert task.n_evaluations == 5 and task.source == f"optuna:{optuna_url}:loss"
    storage = optuna.storages.RDBStorage(optuna_url)
    assert sorted(KnowledgeBase.from_optuna(storage).names) == ["clf", "conditional", "loss"]
    memory = optuna.create_study()
    memory.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=5)
    assert KnowledgeBase.from_optuna(memory, min_trials=5)[memory.study_name].n_evaluations == 5


def test_bad_sources_are_refused_without_creating_files(tmp_path):
    absent = tmp_path / "absent.db"
    with pytest.raises(InvalidParameterError, match=r"no Optuna storage at .*does not exist"):
        KnowledgeBase.from_optuna(f"sqlite:///{absent}")
    assert not absent.exists()
    other = tmp_path / "metahpo.db"
    study = mh.create_study(name="s", space=mh.Space({"x": mh.Float(0, 1)}),
                            storage=f"sqlite:///{other}", optimizer="random", seed=0)
    study.optimize(lambda t: t.config["x"], n_trials=2, show_progress=False)
    # The driver's "no such table: version_info" said it only to who knows Optuna's schema.
    with pytest.raises(InvalidParameterError, match=r"metahpo\.db is not an Optuna storage\. It is a "
                       r"metahpo storage: KnowledgeBase\.open\(url\) reads its finished studies"):
        KnowledgeBase.from_optuna(f"sqlite:///{other}")
    unrelated = tmp_path / "unrelated.db"
    with sqlite3.connect(unrelated) as db:
        db.execute("CREATE TABLE mine (a INTEGER)")
    with pytest.raises(InvalidParameterError, match=r"unrelated\.db is not an Optuna storage: it has no "
                       "'version_info' table"):
        KnowledgeBase.from_optuna(f"sqlite:///{unrelated}")
    with sqlite3.connect(unrelated) as db:
        assert db.execute("SELECT name FROM sqlite_master").fetchall() == [("mine",)]
    with pytest.raises(InvalidParameterError, match="must be an Optuna storage URL"):
        KnowledgeBase.from_optuna(42)
    with pytest.raises(InvalidParameterError, match=r"postgresql\+psycopg://user:\*\*\*@"):
        KnowledgeBase.from_optuna("postgresql+psycopg://user:s3cret@127.0.0.1:1/db")


def test_the_password_never_reaches_the_source():
    from metahpo.knowledge._optuna import _storage_label

    class Backend:
        url = "postgresql+psycopg://user:s3cret@db.example/optuna"

    class Cached:
        _backend = Backend()

    assert _storage_label(Cached()) == "postgresql+psycopg://user:***@db.example/optuna"


def test_descriptors_given_by_study_name(optuna_url):
    kb = KnowledgeBase.from_optuna(optuna_url, ["loss"], descriptors={"loss": {"n_samples": 10}})
    assert kb["loss"].descriptor == {"n_samples": 10.0}
    with pytest.raises(InvalidParameterError, match="not imported"):
        KnowledgeBase.from_optuna(optuna_url, ["loss"], descriptors={"clf": {"n_samples": 1}})


@pytest.mark.parametrize("named", [None, ["loss"]])
@pytest.mark.parametrize(
    ("descriptor", "fragment"),
    [({"n_samples": "b"}, "The descriptor field 'n_samples' of descriptors['loss'] must be a finite number"),
     ({"n_samples": float("nan")}, "must be a finite number"),
     (5, "must be a dict of name -> number or None")],
)
def test_an_invalid_descriptor_given_is_an_error_not_a_skipped_study(optuna_url, caplog, named, descriptor, fragment):
    # The caller's own mistake: before, without study_names, the study was skipped with a
    # log line and the knowledge base came back without it.
    expected = (r"The 'descriptors' parameter of KnowledgeBase\.from_optuna holds an invalid "
                rf"descriptor for the Optuna study 'loss': .*{re.escape(fragment)}")
    with caplog.at_level(logging.WARNING, logger="metahpo.knowledge._optuna"), \
            pytest.raises(InvalidParameterError, match=expected):
        KnowledgeBase.from_optuna(optuna_url, named, descriptors={"loss": descriptor})
    assert "Skipped" not in caplog.text
    with pytest.raises(InvalidParameterError, match=r"must map study names \(strings\) to descriptors. "
                       "Got the key 5 instead"):
        KnowledgeBase.from_optuna(optuna_url, named, descriptors={5: {"n_samples": 1.0}})


def test_missing_optuna_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_optuna(name, *args, **kwargs):
        if name == "optuna":
            raise ImportError("No module named 'optuna'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_optuna)
    with pytest.raises(ImportError, match=r"pip install 'metahpo\[optuna\]'"):
        KnowledgeBase.from_optuna("sqlite:///x.db")


def test_a_descriptor_given_with_its_kind_replaces_the_studys_task_unread(tmp_path, caplog):
    storage = f"sqlite:///{tmp_path / 'given.db'}"
    for name, record in (("broken", "credit"), ("kind-only", {"name": "kind-only", "kind": "regression"})):
        study = optuna.create_study(study_name=name, storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
        study.set_user_attr("task", record)
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=5)
    # The caller's descriptor records a kind: the study's task is replaced whole, with no
    # warning about it.
    with caplog.at_level(logging.WARNING, logger="metahpo.knowledge._optuna"):
        kb = KnowledgeBase.from_optuna(storage, descriptors={"broken": {"n_classes": 3.0},
                                                             "kind-only": {"n_classes": 2.0}})
    assert "not a task descriptor" not in caplog.text
    assert kb["broken"].task_type == kb["kind-only"].task_type == "classification"
    # One recording no kind leaves the study's kind to count, so the study's task is read.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="metahpo.knowledge._optuna"):
        kb = KnowledgeBase.from_optuna(storage, descriptors={"broken": {"n_samples": 9.0},
                                                             "kind-only": {"n_samples": 9.0}})
    assert kb["kind-only"].task_type == "regression" and kb["kind-only"].descriptor == {"n_samples": 9.0}
    assert "'broken' in" in caplog.text and "user_attrs['task'] is not a task descriptor, ignored" in caplog.text


def test_a_stored_kind_that_is_no_kind_is_dropped_and_the_descriptor_kept(tmp_path, caplog):
    from metahpo.integrations.optuna import knowledge_from_optuna

    storage = f"sqlite:///{tmp_path / 'kinds.db'}"
    descriptor = {"n_classes": 10.0, "n_samples": 70000.0}
    study = optuna.create_study(study_name="mnist", storage=storage, sampler=optuna.samplers.RandomSampler(seed=0))
    # What create_study(task=...) stored before such kinds were refused.
    study.set_user_attr("task", {"name": "mnist", "kind": "multiclass", "descriptor": descriptor})
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=5)
    with caplog.at_level(logging.WARNING, logger="metahpo"):
        read = (KnowledgeBase.from_optuna(storage)["mnist"], knowledge_from_optuna([study])["mnist"])
    for task in read:
        assert task.descriptor == descriptor and task.task_type == "classification"
    assert "The 'kind' of the user_attrs['task'] of Optuna study 'mnist'" in caplog.text
    assert "Got 'multiclass' instead; it is ignored" in caplog.text
    assert "not a task descriptor" not in caplog.text
