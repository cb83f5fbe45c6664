"""The validation losses the presets minimise, one definition for user objectives and bundles.

* classification: ``log_loss`` — the mean negative log-probability of the true labels
  (natural log, probabilities floored at 1e-15, so a confident mistake costs at most
  ~34.5 nats); ``error`` — ``1 - accuracy``.
* regression: ``1-r2`` — ``1 - R²`` on the validation part (the mean squared error over
  the variance of the validation targets: scale-free, so losses of different datasets
  compare); ``rmse`` — the root mean squared error in the target's units.
"""

from __future__ import annotations

import numpy as np

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError

PROBABILITY_FLOOR = 1e-15
WORST_LOG_LOSS = float(-np.log(PROBABILITY_FLOOR))
CLASSIFICATION_SCORINGS = ("log_loss", "error")
REGRESSION_SCORINGS = ("1-r2", "rmse")


def check_scoring(scoring: str | None, task_type: str, preset: str) -> str:
    """``scoring`` checked against the task type; ``None`` is the first (default) scoring."""
    allowed = CLASSIFICATION_SCORINGS if task_type == "classification" else REGRESSION_SCORINGS
    if scoring is None:
        return allowed[0]
    if scoring not in allowed:
        raise InvalidParameterError(
            f"The 'scoring' parameter of the {preset!r} preset must be one of {list(allowed)}. "
            f"Got {describe(scoring)} instead."
        )
    return scoring


def classification_loss(
    proba: np.ndarray, model_classes: np.ndarray, y_valid: np.ndarray, n_classes: int, scoring: str
) -> float:
    """The loss of class probabilities ``proba`` (one column per label of ``model_classes``).

    Labels are ``0 .. n_classes-1``; a label the model never saw in training gets
    probability zero. Non-finite probabilities (a diverged network) score the worst loss.
    """
    full = np.zeros((len(y_valid), n_classes))
    full[:, np.asarray(model_classes, dtype=int)] = proba
    if not np.all(np.isfinite(full)):
        return WORST_LOG_LOSS if scoring == "log_loss" else 1.0
    if scoring == "error":
        return float(np.mean(np.argmax(full, axis=1) != y_valid))
    picked = np.clip(full[np.arange(len(y_valid)), y_valid], PROBABILITY_FLOOR, 1.0)
    return float(-np.log(picked).mean())


def regression_loss(prediction: np.ndarray, y_valid: np.ndarray, scoring: str) -> float:
    """``1 - R²`` or the RMSE of ``prediction``; non-finite predictions score ``1e6``."""
    prediction = np.asarray(prediction, dtype=float).ravel()
    if not np.all(np.isfinite(prediction)):
        return 1e6
    mse = float(np.mean((prediction - y_valid) ** 2))
    if scoring == "rmse":
        return float(np.sqrt(mse))
    variance = float(np.var(y_valid))
    return min(mse / variance, 1e6) if variance > 0 else min(mse, 1e6)
