"""Dataset meta-features: simple, statistical, information-theoretic and landmarkers.

A small fixed set computed with numpy, scipy and scikit-learn. (``pymfe`` was
considered: it pulls statsmodels and igraph, takes seconds to import and about
nine seconds for its four groups on a 1000 x 20 dataset, and returns non-finite
values on some features; these few features take a fraction of a second.)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from metahpo._validation import class_labels, count_missing, describe, numeric_matrix
from metahpo.exceptions import InvalidParameterError

__all__ = [
    "CLASSIFICATION_FEATURES",
    "REGRESSION_FEATURES",
    "TASK_TYPES",
    "harmonise_descriptor",
    "meta_features",
    "task_type_of",
]

#: The kinds of problem a descriptor records, in the words of ``Task.from_data(task_type=)``.
TASK_TYPES = ("classification", "regression")

_COMMON = (
    "n_samples",
    "log_n_samples",
    "n_features",
    "log_n_features",
    "log_features_per_sample",
    "missing_fraction",
    "skewness_mean",
    "kurtosis_mean",
    "mutual_info_mean",
    "landmark_1nn",
    "landmark_stump",
)
#: Names of the meta-features of a classification dataset, in order.
CLASSIFICATION_FEATURES = (
    *_COMMON,
    "n_classes",
    "class_entropy",
    "minority_fraction",
    "landmark_naive_bayes",
)
#: Names of the meta-features of a regression dataset, in order.
REGRESSION_FEATURES = (*_COMMON, "n_classes", "target_skewness", "landmark_linear")

# Landmarkers and mutual information look at a seeded subsample at most this large,
# so a descriptor costs well under a second whatever the dataset size.
_MAX_ROWS = 2000
_MAX_FEATURES = 100
_SEED = 0
_FOLDS = 5
_BINS = 10


def meta_features(X: Any, y: Any, task_type: str | None = None) -> dict[str, float]:
    """Meta-features of a tabular dataset, deterministic and finite.

    Features (all floats):

    * simple: ``n_samples``, ``n_features``, their logs, ``log_features_per_sample``,
      ``missing_fraction``, ``n_classes`` (0 for regression);
    * statistical: mean absolute skewness and mean excess kurtosis of the features
      (``skewness_mean``, ``kurtosis_mean``); for classification the class entropy in
      nats (``class_entropy``, ``log n_classes`` when balanced) and ``minority_fraction``; for
      regression ``target_skewness``;
    * information-theoretic: ``mutual_info_mean``, the mean mutual information (nats)
      between each feature and the target, both discretised into 10 equal-frequency bins;
    * landmarkers: 5-fold cross-validated accuracy (classification) or R² clipped to
      [-1, 1] (regression) of a 1-nearest-neighbour model (``landmark_1nn``), a depth-1
      tree (``landmark_stump``) and Gaussian naive Bayes (``landmark_naive_bayes``) or
      linear regression (``landmark_linear``); folds are shuffled with seed 0.

    Mutual information and the landmarkers use a seeded subsample of at most 2000 rows
    and 100 features; missing values are imputed with column means for them.

    Args:
        X: ``(n, d)`` numeric features (array-like or DataFrame).
        y: ``(n,)`` target.
        task_type: ``"classification"``, ``"regression"`` or ``None`` to infer it with
            scikit-learn's ``type_of_target`` (continuous targets are regression).

    Example:
        >>> import numpy as np
        >>> from metahpo.knowledge import meta_features
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(300, 4)); y = (X[:, 0] + X[:, 1] > 0).astype(int)
        >>> features = meta_features(X, y)
        >>> features["n_classes"], features["landmark_1nn"] > 0.7
        (2.0, True)
    """
    x, target, kind = _check_data(X, y, task_type)
    n, d = x.shape
    missing = np.isnan(x)
    features: dict[str, float] = {
        "n_samples": float(n),
        "log_n_samples": math.log(n),
        "n_features": float(d),
        "log_n_features": math.log(d),
        "log_features_per_sample": math.log(d / n),
        "missing_fraction": float(missing.mean()),
    }
    means = np.nanmean(np.where(missing.all(axis=0), 0.0, x), axis=0) if missing.any() else None
    if means is not None:
        x = np.where(missing, means, x)
    features.update(_moments(x))
    rows = _subsample(n, target if kind == "classification" else None)
    x_small = x[rows][:, _feature_subset(d)]
    y_small = target[rows]
    features["mutual_info_mean"] = _mutual_info_mean(x_small, y_small, kind)
    if kind == "classification":
        features.update(_class_stats(target))
    else:
        features["n_classes"] = 0.0
        features["target_skewness"] = _finite(_skew(target.astype(float)))
    features.update(_landmarkers(x_small, y_small, kind))
    names = CLASSIFICATION_FEATURES if kind == "classification" else REGRESSION_FEATURES
    return {name: float(features[name]) for name in names}


def task_type_of(descriptor: Mapping[str, float] | None) -> str | None:
    """The kind of problem a descriptor records: ``"regression"`` when its ``n_classes`` is
    0 (as :func:`meta_features` writes for a continuous target), ``"classification"`` when
    it is positive, and ``None`` when it records none (no ``n_classes``).

    Example:
        >>> from metahpo.knowledge import task_type_of
        >>> task_type_of({"n_classes": 0.0}), task_type_of({"n_classes": 3.0}), task_type_of(None)
        ('regression', 'classification', None)
    """
    n_classes = None if descriptor is None else descriptor.get("n_classes")
    if n_classes is None:
        return None
    if n_classes == 0:
        return "regression"
    return "classification" if n_classes > 0 else None


def harmonise_descriptor(descriptor: dict[str, float]) -> dict[str, float]:
    """A descriptor from elsewhere in the names of :func:`meta_features`.

    The training problems of the benchmark harness (and so the bundled meta-data)
    describe a task by ``n_train, n_features, n_classes, class_entropy`` (entropy in nats,
    as here). ``n_train`` becomes ``n_samples``, and the log features derived from
    ``n_samples`` and ``n_features`` are added, so a study described by
    :meth:`Task.from_data <metahpo.knowledge.Task.from_data>` shares those features with
    the bundled tasks. Other names pass through unchanged.
    """
    out = dict(descriptor)
    if "n_train" in out and "n_samples" not in out:
        out["n_samples"] = out.pop("n_train")
    n, d = out.get("n_samples"), out.get("n_features")
    if n is not None and n > 0:
        out.setdefault("log_n_samples", math.log(n))
    if d is not None and d > 0:
        out.setdefault("log_n_features", math.log(d))
    if n is not None and d is not None and n > 0 and d > 0:
        out.setdefault("log_features_per_sample", math.log(d / n))
    return out


def _check_data(X: Any, y: Any, task_type: str | None) -> tuple[np.ndarray, np.ndarray, str]:
    x = numeric_matrix(X, "Task.from_data")
    if x.ndim == 1:
        # As scikit-learn and the presets' objectives read it: a single feature or a single
        # sample is for the caller to say, not for a descriptor to guess.
        raise InvalidParameterError(
            f"The 'X' parameter of Task.from_data must be a 2-D array (samples × features). Got "
            f"a 1-D array of shape {x.shape} instead; pass X.reshape(-1, 1) for one feature."
        )
    if x.ndim != 2 or x.shape[0] < 2 * _FOLDS or x.shape[1] < 1:
        raise InvalidParameterError(
            f"The 'X' parameter of Task.from_data must be a 2-D array with at least {2 * _FOLDS} rows "
            f"and one column. Got shape {x.shape} instead."
        )
    if np.isinf(x).any():
        raise InvalidParameterError(
            "The 'X' parameter of Task.from_data must not contain infinite values."
        )
    if np.isnan(x).all():
        raise InvalidParameterError(
            "The 'X' parameter of Task.from_data is entirely missing (NaN)."
        )
    target = np.asarray(y)
    if target.ndim != 1 or len(target) != len(x):
        raise InvalidParameterError(
            f"The 'y' parameter of Task.from_data must be 1-D with one value per row of X ({len(x)}). "
            f"Got shape {target.shape} instead."
        )
    missing = count_missing(target)
    if missing:
        raise InvalidParameterError(
            f"The 'y' parameter of Task.from_data has {missing} missing values (NaN or None): "
            "drop those rows first."
        )
    if target.dtype.kind == "O":
        class_labels(target, "Task.from_data")  # labels that do not sort together: said clearly
    if target.dtype.kind == "f" and np.isinf(target).any():
        # Before scikit-learn reads the target's kind, which raises on it without a name.
        raise InvalidParameterError(
            f"The 'y' parameter of Task.from_data must be finite. Got {int(np.isinf(target).sum())} "
            "infinite values."
        )
    if task_type is None:
        from sklearn.utils.multiclass import type_of_target

        kind = type_of_target(target)
        if kind in ("binary", "multiclass"):
            task_type = "classification"
        elif kind == "continuous":
            task_type = "regression"
        else:
            raise InvalidParameterError(
                f"The 'y' parameter of Task.from_data must be a class label or a continuous target; "
                f"scikit-learn reads it as {kind!r}. Pass task_type= to say which."
            )
    if task_type not in TASK_TYPES:
        raise InvalidParameterError(
            "The 'task_type' parameter of Task.from_data must be 'classification', 'regression' or None. "
            f"Got {describe(task_type)} instead."
        )
    if task_type == "classification":
        _, target = class_labels(target, "Task.from_data")
    else:
        try:
            target = target.astype(float)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(
                f"The 'y' parameter of Task.from_data must be numeric for regression. Got {describe(y)} instead."
            ) from exc
        if not np.isfinite(target).all():
            raise InvalidParameterError(
                "The 'y' parameter of Task.from_data must be finite for regression."
            )
    return x, target, task_type


def _skew(values: np.ndarray) -> float:
    centred = values - values.mean()
    std = centred.std()
    return 0.0 if std == 0 else float((centred**3).mean() / std**3)


def _moments(x: np.ndarray) -> dict[str, float]:
    centred = x - x.mean(axis=0)
    std = centred.std(axis=0)
    varying = std > 0
    if not varying.any():
        return {"skewness_mean": 0.0, "kurtosis_mean": 0.0}
    z = centred[:, varying] / std[varying]
    skew = np.abs((z**3).mean(axis=0))
    kurt = (z**4).mean(axis=0) - 3.0
    return {"skewness_mean": _finite(skew.mean()), "kurtosis_mean": _finite(kurt.mean())}


def _class_stats(target: np.ndarray) -> dict[str, float]:
    counts = np.bincount(target).astype(float)
    counts = counts[counts > 0]
    freq = counts / counts.sum()
    k = len(counts)
    entropy = float(-(freq * np.log(freq)).sum())
    return {
        "n_classes": float(k),
        "class_entropy": entropy,
        "minority_fraction": float(freq.min()),
    }


def _subsample(n: int, labels: np.ndarray | None) -> np.ndarray:
    if n <= _MAX_ROWS:
        return np.arange(n)
    rng = np.random.default_rng(_SEED)
    if labels is None:
        return np.sort(rng.choice(n, size=_MAX_ROWS, replace=False))
    # Stratified: every class keeps its share (at least one row).
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        take = max(1, round(_MAX_ROWS * len(members) / n))
        chosen.append(rng.choice(members, size=min(take, len(members)), replace=False))
    return np.sort(np.concatenate(chosen))


def _feature_subset(d: int) -> np.ndarray:
    if d <= _MAX_FEATURES:
        return np.arange(d)
    return np.sort(np.random.default_rng(_SEED).choice(d, size=_MAX_FEATURES, replace=False))


def _discretise(values: np.ndarray) -> np.ndarray:
    edges = np.unique(np.quantile(values, np.linspace(0, 1, _BINS + 1)[1:-1]))
    return np.searchsorted(edges, values, side="right")


def _mutual_info_mean(x: np.ndarray, y: np.ndarray, kind: str) -> float:
    labels = y if kind == "classification" else _discretise(y)
    _, labels = np.unique(labels, return_inverse=True)
    total = 0.0
    for column in x.T:
        bins = _discretise(column)
        joint = np.zeros((bins.max() + 1, labels.max() + 1))
        np.add.at(joint, (bins, labels), 1.0)
        joint /= joint.sum()
        outer = joint.sum(axis=1, keepdims=True) @ joint.sum(axis=0, keepdims=True)
        nonzero = joint > 0
        total += float((joint[nonzero] * np.log(joint[nonzero] / outer[nonzero])).sum())
    return _finite(total / x.shape[1])


def _landmarkers(x: np.ndarray, y: np.ndarray, kind: str) -> dict[str, float]:
    from sklearn.linear_model import LinearRegression
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    if kind == "classification":
        smallest = int(np.bincount(y)[np.bincount(y) > 0].min())
        folds: Any = (
            StratifiedKFold(_FOLDS, shuffle=True, random_state=_SEED)
            if smallest >= _FOLDS
            else KFold(_FOLDS, shuffle=True, random_state=_SEED)
        )
        models = {
            "landmark_1nn": KNeighborsClassifier(n_neighbors=1),
            "landmark_stump": DecisionTreeClassifier(max_depth=1, random_state=_SEED),
            "landmark_naive_bayes": GaussianNB(),
        }
        scoring = "accuracy"
    else:
        folds = KFold(_FOLDS, shuffle=True, random_state=_SEED)
        models = {
            "landmark_1nn": KNeighborsRegressor(n_neighbors=1),
            "landmark_stump": DecisionTreeRegressor(max_depth=1, random_state=_SEED),
            "landmark_linear": LinearRegression(),
        }
        scoring = "r2"
    out = {}
    with warnings.catch_warnings():
        # Constant folds or tiny classes make scikit-learn warn; the score is still defined.
        warnings.simplefilter("ignore")
        for name, model in models.items():
            scores = cross_val_score(model, x, y, cv=folds, scoring=scoring, error_score=0.0)
            out[name] = float(np.clip(_finite(np.nanmean(scores)), -1.0, 1.0))
    return out


def _finite(value: float) -> float:
    value = float(value)
    return value if math.isfinite(value) else 0.0
