"""A preset's objective: the mean validation loss over cross-validation folds."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from metahpo._validation import check_int, class_labels, count_missing, describe, numeric_matrix
from metahpo.exceptions import InvalidParameterError
from metahpo.presets._preset import SQUARE_LIMIT

if TYPE_CHECKING:
    from metahpo.presets._preset import Preset, Split


def make_objective(
    preset: Preset, X: Any, y: Any, cv: int, scoring: str, seed: int
) -> Callable[[Any], float]:
    from sklearn.model_selection import KFold, StratifiedKFold

    owner = f"the {preset.name!r} preset's objective"
    x = numeric_matrix(X, owner)
    target = np.asarray(y)
    if x.ndim != 2 or target.ndim != 1 or len(x) != len(target) or len(x) == 0:
        raise InvalidParameterError(
            f"The 'X' and 'y' parameters of the {preset.name!r} preset's objective must be a "
            f"2-D array and a 1-D array with the same number of rows. Got X of shape "
            f"{x.shape} and y of shape {target.shape} instead"
            + ("; pass X.reshape(-1, 1) for one feature." if x.ndim == 1 else ".")
        )
    _check_values(preset, x, target, owner)
    cv = check_int(cv, "cv", f"the {preset.name!r} preset's objective", minimum=2, maximum=len(x))
    # scikit-learn's splitters take NumPy's legacy seeds only: a traceback from deep inside them.
    seed = check_int(seed, "seed", f"the {preset.name!r} preset's objective", minimum=0,
                     maximum=2**32 - 1)
    if preset.task_type == "classification":
        classes, labels = class_labels(target, owner)
        n_classes = len(classes)
        _check_classes(classes, owner)
        _check_class_sizes(np.bincount(labels), cv, owner)
        splitter: Any = StratifiedKFold(n_splits=cv, shuffle=True, random_state=seed)
        folds = list(splitter.split(x, labels))
    else:
        try:
            labels = target.astype(float)
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"The 'y' parameter of {owner} must be numbers (a regression target). Got "
                f"values such as {describe(target[0])}; a classifier's preset takes labels."
            ) from None
        if not np.isfinite(labels).all():
            raise InvalidParameterError(
                f"The 'y' parameter of {owner} must be finite (a regression target). Got "
                f"{int(np.isinf(labels).sum())} infinite values."
            )
        huge = int((np.abs(labels) > SQUARE_LIMIT).sum())
        if huge:  # the loss squares the errors: every trial would score NaN or infinity
            raise InvalidParameterError(
                f"The 'y' parameter of {owner} must hold values within ±{SQUARE_LIMIT:.3g} (a "
                f"regression target; its loss squares the errors). Got {huge} values beyond it; "
                "rescale y first."
            )
        n_classes = 0
        folds = list(KFold(n_splits=cv, shuffle=True, random_state=seed).split(x))
    splits = [
        _split(x, labels, train, valid, preset.task_type, n_classes) for train, valid in folds
    ]

    def objective(trial: Any) -> float:
        budget = preset.check_budget(getattr(trial, "budget", None))
        losses = [
            preset.validation_losses(trial.config, split, [budget], scoring)[0] for split in splits
        ]
        return float(np.mean(losses))

    objective.__name__ = f"{preset.name.replace('-', '_')}_objective"
    return objective


def _check_values(preset: Preset, x: np.ndarray, target: np.ndarray, owner: str) -> None:
    """Refuse what no trial could learn from: missing labels, infinite features, and missing
    features for a model that does not take them (it would fail, or score garbage, every trial)."""
    missing = count_missing(target)
    if missing:
        raise InvalidParameterError(
            f"The 'y' parameter of {owner} has {missing} missing values (NaN or None): drop "
            "those rows first."
        )
    if np.isinf(x).any():
        raise InvalidParameterError(
            f"The 'X' parameter of {owner} must not contain infinite values. Got "
            f"{int(np.isinf(x).sum())}."
        )
    huge = int((np.abs(x) > preset.feature_limit).sum())
    if huge:
        raise InvalidParameterError(
            f"The 'X' parameter of {owner} must hold values within ±{preset.feature_limit:.3g}, "
            f"the largest the {preset.family} model computes with. Got {huge} values beyond "
            "it; rescale those columns first."
        )
    holes = int(np.isnan(x).sum())
    if holes == x.size:
        raise InvalidParameterError(f"The 'X' parameter of {owner} is entirely missing (NaN).")
    if holes and not preset.handles_missing:
        raise InvalidParameterError(
            f"The 'X' parameter of {owner} has {holes} missing values (NaN), which the "
            f"{preset.family} model does not take: impute them first (e.g. with "
            "sklearn.impute.SimpleImputer), or use a tree or boosting preset, which handles them."
        )


def _check_class_sizes(counts: np.ndarray, cv: int, owner: str) -> None:
    """Refuse a target with fewer examples per class than folds on average (a regression
    target of whole numbers read as classes), or whose every class is smaller than the
    folds. Imbalanced data with a few rare classes only get scikit-learn's warning."""
    n, k = int(counts.sum()), len(counts)
    if k * cv > n or bool((counts < cv).all()):
        raise InvalidParameterError(
            f"The 'y' parameter of {owner} has {k} classes for {n} rows, fewer than the "
            f"{cv} cross-validation folds per class{' on average' if k * cv > n else ''}. If y "
            "is a regression target, use a regressor's preset; otherwise use fewer folds (cv) "
            "or merge the rare classes."
        )


def _check_classes(classes: np.ndarray, owner: str) -> None:
    """Refuse a target a classifier cannot learn: one class, or a continuous number."""
    if len(classes) < 2:
        raise InvalidParameterError(
            f"The 'y' parameter of {owner} must hold at least two classes. Got only "
            f"{describe(classes.tolist())}."
        )
    if classes.dtype.kind == "f" and not np.all(np.isfinite(classes) & (classes == np.round(classes))):
        raise InvalidParameterError(
            f"The 'y' parameter of {owner} must be class labels. Got {len(classes)} distinct "
            "non-integer numbers, a regression target: use a regressor's preset."
        )


def _split(
    x: np.ndarray,
    y: np.ndarray,
    train: np.ndarray,
    valid: np.ndarray,
    task_type: str,
    n_classes: int,
) -> Split:
    from metahpo.presets._preset import Split

    if len(train) == 0 or len(valid) == 0:
        raise InvalidParameterError(f"A fold has no rows. Got {describe(len(x))} rows.")
    # A column with no value in the training rows teaches no model anything, and
    # HistGradientBoosting's binning fails on one: it is left out of this fold.
    seen = ~np.isnan(x[train]).all(axis=0)
    if not seen.any():
        raise InvalidParameterError(
            f"The 'X' parameter of the preset's objective must have a value in some column of "
            f"each fold's training rows. Got a fold of {len(train)} training rows that are all "
            "missing (NaN); drop rows without any value."
        )
    return Split(x[train][:, seen], y[train], x[valid][:, seen], y[valid], task_type, n_classes)
