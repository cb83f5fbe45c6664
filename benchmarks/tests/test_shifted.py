"""The generated dataset family the lifelong benchmark tunes when the data differ from the bundle."""

from __future__ import annotations

import numpy as np

from metahpo_bench.shifted import is_shifted, load_shifted_xy, shifted_family


def test_family_names_are_distinct_per_ordering_and_recognised() -> None:
    first, second = shifted_family(5, 0), shifted_family(5, 1)
    assert len(set(first)) == 5 and not set(first) & set(second)
    assert all(is_shifted(name) for name in first + second)
    assert not is_shifted("ecoli-0-1_vs_5")


def test_datasets_are_reproducible_binary_and_capped() -> None:
    X, y = load_shifted_xy("shifted-3", max_rows=400)
    again, y_again = load_shifted_xy("shifted-3", max_rows=400)
    other, _ = load_shifted_xy("shifted-4", max_rows=400)
    assert np.array_equal(X, again) and np.array_equal(y, y_again)
    assert X.shape[0] == len(y) <= 400 and 20 <= X.shape[1] <= 40
    assert set(np.unique(y)) == {0, 1} and 0.1 < y.mean() < 0.5  # the minority class is 1
    assert X.shape != other.shape or not np.array_equal(X, other)
