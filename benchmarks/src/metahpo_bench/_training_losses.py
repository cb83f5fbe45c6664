"""Shared pieces of the training problems: integer budgets and the validation log-loss."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError

# Probabilities are clipped here before the log, so a confident mistake costs
# at most -log(1e-15) ~= 34.5 nats instead of infinity.
PROBABILITY_FLOOR = 1e-15


def check_budgets(problem: str, budgets: Sequence[float | None]) -> list[int]:
    """Budgets (already in range) as ints; a fractional budget or an empty list is refused."""
    if len(budgets) == 0:
        raise InvalidParameterError(
            f"The 'budgets' parameter of {problem} must hold at least one budget. Got [] instead."
        )
    out = []
    for budget in budgets:
        if budget is None or not float(budget).is_integer():
            raise InvalidParameterError(
                f"The 'budget' parameter of {problem} must be a whole number (boosting rounds or "
                f"epochs). Got {describe(budget)} instead."
            )
        out.append(int(budget))
    return out


def validation_log_loss(
    proba: np.ndarray, model_classes: np.ndarray, y_valid: np.ndarray, n_classes: int
) -> float:
    """Mean negative log-probability of the true labels ``y_valid`` (natural log).

    ``proba`` has one column per entry of ``model_classes`` (the labels seen in
    training); a label the model never saw gets probability zero, hence the floor.
    """
    full = np.zeros((len(y_valid), n_classes))
    full[:, np.asarray(model_classes, dtype=int)] = proba
    picked = np.clip(full[np.arange(len(y_valid)), y_valid], PROBABILITY_FLOOR, 1.0)
    return float(-np.log(picked).mean())
