"""Task records: validation naming row and field, JSON round trips, descriptors from data."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import metahpo as mh
from metahpo.exceptions import InvalidParameterError
from metahpo.history import history_from
from metahpo.knowledge import CLASSIFICATION_FEATURES, REGRESSION_FEATURES, Task, meta_features
from metahpo.trial import FrozenTrial, TrialState

SPACE = mh.Space(
    {
        "lr": mh.Float(1e-3, 1.0, log=True),
        "depth": mh.Int(1, 8),
        "act": mh.Categorical(["relu", "tanh"]),
    }
)


def _configs(n: int) -> list[dict]:
    return SPACE.sample(np.random.default_rng(0), n)


def test_public_names_resolve_from_the_top_level() -> None:
    assert mh.Task is Task
    assert mh.KnowledgeBase.__name__ == "KnowledgeBase"
    assert callable(mh.bundled_knowledge)


def test_task_validates_and_freezes_its_evaluations() -> None:
    task = Task("t", SPACE, _configs(5), [0.5, 0.4, 0.3, 0.2, 0.1], budgets=[1, 1, 3, 3, 3])
    assert task.n_evaluations == 5
    assert task.losses.dtype == float and not task.losses.flags.writeable
    assert task.budget_levels() == [1.0, 3.0]
    assert task.at_budget(None).n_evaluations == 3
    assert task.best_config() == task.configs[4]
    with pytest.raises(AttributeError):
        task.name = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"losses": [0.1, 0.2, math.nan, 0.4]}, "row 2, field 'loss'"),
        ({"losses": [0.1, 0.2, "x", 0.4]}, "row 2, field 'loss'"),
        ({"losses": [0.1, 0.2, 0.3]}, "one value per config (4)"),
        ({"budgets": [1.0, 1.0, 1.0, 0.0]}, "row 3, field 'budget'"),
        ({"budgets": [1.0, math.inf, 1.0, 1.0]}, "row 1, field 'budget'"),
    ],
)
def test_bad_losses_and_budgets_name_row_and_field(change: dict, expected: str) -> None:
    fields = {"configs": _configs(4), "losses": [0.1, 0.2, 0.3, 0.4], "budgets": None} | change
    with pytest.raises(InvalidParameterError) as info:
        Task("t", SPACE, **fields)
    assert expected in str(info.value)


def test_bad_config_names_row_and_field() -> None:
    configs = _configs(4)
    configs[3] = dict(configs[3], depth=12)
    with pytest.raises(InvalidParameterError, match=r"row 3: .*'depth'"):
        Task("t", SPACE, configs, [0.1, 0.2, 0.3, 0.4])


def test_descriptor_must_be_finite_numbers() -> None:
    with pytest.raises(InvalidParameterError, match="descriptor field 'n'"):
        Task("t", descriptor={"n": math.nan})


def test_to_dict_round_trips_through_json() -> None:
    task = Task(
        "t",
        SPACE,
        _configs(3),
        [0.3, 0.2, 0.1],
        budgets=[1, 2, 4],
        descriptor={"n_samples": 10.0},
        source="file:x",
        missing=("depth",),
    )
    data = json.loads(json.dumps(task.to_dict()))
    back = Task.from_dict(data)
    assert back.to_dict() == task.to_dict()
    assert back.missing == ("depth",)


@pytest.mark.parametrize("losses", [["0.5", "0.25", "0.1"], [True, False, True], [[0.5], [0.25], [0.1]],
                                    ["abc", 0.2, 0.1]])
def test_from_dict_checks_losses_as_the_constructor_does(losses) -> None:
    data = {**Task("t", SPACE, _configs(3), [0.3, 0.2, 0.1]).to_dict(), "losses": losses}
    with pytest.raises(InvalidParameterError, match=r"row 0, field 'loss' must be a finite number"):
        Task.from_dict(data)


def test_descriptor_only_task_stores_no_evaluations() -> None:
    task = Task("d", descriptor={"n_samples": 100.0})
    assert set(task.to_dict()) == {"name", "source", "descriptor"}


def test_from_history_takes_complete_trials_as_losses() -> None:
    space = mh.Space({"x": mh.Float(0.0, 1.0)})
    trials = [
        FrozenTrial(0, TrialState.COMPLETE, {"x": 0.1}, value=2.0),
        FrozenTrial(1, TrialState.FAILED, {"x": 0.2}),
        FrozenTrial(2, TrialState.COMPLETE, {"x": 0.3}, value=5.0),
        FrozenTrial(3, TrialState.RUNNING, {"x": 0.4}),
    ]
    history = history_from(
        space,
        trials,
        direction="maximize",
        descriptor={"name": "d", "descriptor": {"a": 1.0}},
    )
    task = Task.from_history(history)
    assert task.losses.tolist() == [-2.0, -5.0]
    assert task.budgets is None
    assert task.descriptor == {"a": 1.0}


@pytest.mark.parametrize(
    ("descriptor", "task_type", "kind"),
    [
        ({"a": 1.0}, "regression", "regression"),  # a kind the descriptor does not record
        ({"n_classes": 3.0}, "classification", None),  # the descriptor records it
        ({"a": 1.0}, None, None),
    ],
)
def test_from_history_records_the_studys_kind(descriptor, task_type, kind) -> None:
    space = mh.Space({"x": mh.Float(0.0, 1.0)})
    trials = [FrozenTrial(0, TrialState.COMPLETE, {"x": 0.1}, value=2.0)]
    history = history_from(space, trials, descriptor=descriptor, task_type=task_type)
    task = Task.from_history(history)
    assert task.kind == kind
    assert task.task_type == task_type


@pytest.mark.parametrize(
    "made_with",
    [
        {"space": mh.presets.get("hgb-regressor").space, "task": mh.Task("mine", kind="regression")},
        {"preset": "hgb-regressor", "task": {"n_samples": 100.0}},  # the preset's kind
    ],
    ids=["task-kind", "preset"],
)
def test_from_history_is_of_the_kind_of_the_studys_stored_task(tmp_path, made_with) -> None:
    storage = f"sqlite:///{tmp_path / 'kind.db'}"
    study = mh.create_study(**made_with, storage=storage, name="mine", optimizer="random", seed=0)
    for i in range(5):
        study.tell(study.ask(), 0.1 * i)
    running = Task.from_history(study.history())
    stored = mh.KnowledgeBase.from_storage(storage)["mine"]
    assert running.kind == stored.kind == "regression"
    assert running.task_type == stored.task_type == "regression"


def _classification(n: int = 1000, d: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = (x[:, 0] + 0.5 * x[:, 1] + rng.normal(scale=0.5, size=n) > 0).astype(int)
    return x, y


def test_meta_features_are_deterministic_and_finite() -> None:
    x, y = _classification()
    first = meta_features(x, y)
    second = meta_features(x.copy(), y.copy())
    assert first == second
    assert tuple(first) == CLASSIFICATION_FEATURES
    assert all(math.isfinite(v) for v in first.values())
    assert first["n_samples"] == 1000 and first["n_features"] == 20 and first["n_classes"] == 2
    # The signal is in the first feature: a depth-1 tree finds it, so it beats chance clearly.
    assert first["landmark_stump"] > 0.7
    assert 0.95 * math.log(2) < first["class_entropy"] <= math.log(2)  # nats, nearly balanced


def test_meta_features_tell_datasets_apart() -> None:
    x, y = _classification()
    noisy = np.random.default_rng(1).integers(0, 3, size=len(y))
    informative, random_labels = meta_features(x, y), meta_features(x, noisy)
    assert random_labels["n_classes"] == 3
    assert informative["landmark_naive_bayes"] > random_labels["landmark_naive_bayes"] + 0.3
    assert informative["mutual_info_mean"] > random_labels["mutual_info_mean"]


def test_meta_features_regression_and_missing_values() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    y = 2.0 * x[:, 0] + rng.normal(scale=0.1, size=300)
    x[::10, 2] = np.nan
    features = meta_features(x, y)
    assert tuple(features) == REGRESSION_FEATURES
    assert features["n_classes"] == 0.0
    assert features["missing_fraction"] == pytest.approx(30 / 1200)
    assert features["landmark_linear"] > 0.95
    assert all(math.isfinite(v) for v in features.values())


def test_from_data_gives_a_descriptor_only_task_with_a_stable_name() -> None:
    x, y = _classification(200, 5)
    task = Task.from_data(x, y)
    assert task.space is None and not task.has_evaluations
    assert task.name == Task.from_data(x, y).name
    assert Task.from_data(x, y, name="credit").name == "credit"


@pytest.mark.parametrize(
    ("x", "y", "match"),
    [
        (np.zeros((5, 2)), np.zeros(5), "at least 10 rows"),
        (np.ones((20, 2)), np.ones(19), "one value per row"),
        (np.array([["a", "b"]] * 20), np.arange(20) % 2, "must be numeric"),
    ],
)
def test_from_data_refuses_bad_input(x: np.ndarray, y: np.ndarray, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        Task.from_data(x, y)


def test_from_data_names_the_text_columns_of_a_dataframe_and_refuses_sparse_input() -> None:
    import pandas as pd
    from scipy import sparse

    x, y = _classification(40, 2)
    frame = pd.DataFrame({"age": x[:, 0], "city": ["a", "b"] * 20, "ok": [True, False] * 20})
    with pytest.raises(InvalidParameterError, match=r"must be numeric .* Got the non-numeric columns \['city'\] instead"):
        Task.from_data(frame, y)
    with pytest.raises(InvalidParameterError, match=r"must be a dense array\. Got a sparse csr_matrix of shape \(40, 2\)"):
        Task.from_data(sparse.csr_matrix(x), y)


def test_builder_descriptors_are_harmonised() -> None:
    from metahpo.knowledge import harmonise_descriptor

    out = harmonise_descriptor(
        {"n_train": 100.0, "n_features": 10.0, "n_classes": 2.0, "class_entropy": 0.6}
    )
    assert out["n_samples"] == 100.0 and "n_train" not in out
    assert out["log_n_samples"] == pytest.approx(math.log(100))
    assert out["log_features_per_sample"] == pytest.approx(math.log(0.1))
    assert out["class_entropy"] == 0.6
    assert harmonise_descriptor({"d0": 1.0}) == {"d0": 1.0}


def test_configs_checked_for_one_space_are_checked_again_for_another() -> None:
    from metahpo.knowledge._task import CheckedConfigs

    space = mh.Space({"x": mh.Float(0.0, 1.0)})
    narrow = mh.Space({"x": mh.Float(0.0, 0.5)})
    configs = CheckedConfigs(space, [{"x": 0.9}])
    assert Task("t", space, configs, [1.0]).configs == ({"x": 0.9},)
    with pytest.raises(InvalidParameterError, match="row 0"):
        Task("t", narrow, configs, [1.0])


def test_data_from_another_library_whose_to_numpy_takes_no_arguments_is_read():
    class Table:  # as pyarrow's and polars' objects: to_numpy() without pandas' arguments
        def __init__(self, values):
            self.values = values

        def to_numpy(self):
            return self.values

        def __array__(self, dtype=None, copy=None):
            return np.asarray(self.values, dtype=dtype)

    X = np.random.default_rng(0).normal(size=(40, 2))
    y = np.arange(40) % 2
    assert Task.from_data(Table(X), y).descriptor == Task.from_data(X, y).descriptor


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda: mh.KnowledgeBase(5), r"'tasks' parameter of KnowledgeBase must be an iterable of Task "
                                      r"records. Got 5 instead"),
        (lambda: mh.KnowledgeBase().add(5), r"'tasks' parameter of KnowledgeBase.add must be a Task or an "
                                            r"iterable of Task records. Got 5 instead"),
        (lambda: mh.KnowledgeBase({"a": 1}), r"must be an iterable of Task records. Got \{'a': 1\} instead"),
        # A spec given as the tasks was read one letter per task ("Got 'b' instead").
        (lambda: mh.KnowledgeBase("bundled:keel-hgb"), r"Got 'bundled:keel-hgb' instead; to read a knowledge "
                                                       r"spec .* use KnowledgeBase\.open\(spec\)"),
        (lambda: mh.KnowledgeBase().add("bundled:keel-hgb"), r"KnowledgeBase\.open\(spec\)"),
        (lambda: mh.KnowledgeBase([5]), "A knowledge base holds metahpo Task records. Got 5 instead"),
    ],
)
def test_a_knowledge_base_refuses_what_is_no_collection_of_tasks(build, expected) -> None:
    with pytest.raises(InvalidParameterError, match=expected):
        build()


def test_a_knowledge_base_takes_tasks_from_any_iterable_and_add_takes_one() -> None:
    task = Task(name="t", space=SPACE, configs=_configs(2), losses=[0.1, 0.2])
    assert mh.KnowledgeBase(t for t in [task]).names == ["t"]
    kb = mh.KnowledgeBase()
    kb.add(task)
    assert kb.names == ["t"]
