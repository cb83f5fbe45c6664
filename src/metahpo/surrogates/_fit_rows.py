"""Which observations a surrogate's hyperparameters (or adaptation) are fitted on.

Each step of a GP's hyperparameter fit, and each step of a deep kernel's adaptation, costs
a Cholesky decomposition of every row it is fitted on (cubic): with a thousand
observations, most of a suggestion went there (``benchmarks/results/gp_fit_rows/``).
Beyond ``MAX_FIT_ROWS`` observations the fit sees a subset, and the posterior still
conditions on every row, which costs one decomposition.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_FIT_ROWS", "fit_index", "fit_rows"]

MAX_FIT_ROWS = 256


def fit_rows(y: np.ndarray, seed: int) -> np.ndarray:
    """Indices of the rows the hyperparameters are fitted on: all of them up to
    ``MAX_FIT_ROWS``; beyond, the best half of that many by loss (where the search goes
    next, the fit must model the losses' fine structure) and a random sample of the rest
    (so that the fit also sees the landscape at large), in their original order.

    Example:
        >>> import numpy as np
        >>> len(fit_rows(np.arange(1000.0), seed=0)), len(fit_rows(np.arange(10.0), seed=0))
        (256, 10)
    """
    n = len(y)
    if n <= MAX_FIT_ROWS:
        return np.arange(n)
    order = np.argsort(y, kind="stable")
    best = order[: MAX_FIT_ROWS // 2]
    rest = np.random.default_rng(seed).choice(order[MAX_FIT_ROWS // 2 :], MAX_FIT_ROWS - len(best), replace=False)
    return np.sort(np.concatenate([best, rest]))


def fit_index(y: np.ndarray, seed: int) -> np.ndarray | slice:
    """:func:`fit_rows` as an index for arrays and tensors: below the cap ``slice(None)``,
    a view of every row, so that the fit sees exactly what it always saw."""
    rows = fit_rows(y, seed)
    return rows if len(rows) < len(y) else slice(None)
