"""A lengthscale prior learned from related tasks, for a GP fitted on one study alone.

A GP fitted on a study's few observations often settles on short lengthscales for
parameters it has barely seen vary; every unobserved corner then keeps the prior
variance, and expected improvement sends trials there. Related tasks have been
evaluated at many configs: how fast the loss varies along each parameter on them is a
prior for the new task (pre-trained GP priors, Wang et al., 2024, "Pre-trained Gaussian
processes for Bayesian optimization", learn a GP's hyperparameters on related tasks in
the same spirit). Each task gets the default GP's MAP fit; per input column, the median
of the fitted log lengthscales is the prior's location and their spread its scale.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from metahpo.exceptions import InvalidParameterError
from metahpo.surrogates._gp import DEFAULT_LENGTHSCALE_SCALE, ExactGP, LengthscalePrior

__all__ = ["learn_lengthscale_prior"]

#: Fewer related tasks than this say nothing about a spread: no prior is learned.
MIN_TASKS = 3
#: Tasks fitted at most (a deterministic draw beyond): the median and spread settle by then.
MAX_TASKS = 32
#: Rows fitted per task: about a study's length, so the fits see the detail a study sees.
ROWS_PER_TASK = 64
#: The narrowest scale: tasks that agree closely still leave the study's own data a say
#: (a lengthscale e times the learned median then costs 2 nats).
MIN_SCALE = 0.5


def learn_lengthscale_prior(
    datasets: Sequence[tuple[np.ndarray, np.ndarray]], seed: int = 0
) -> LengthscalePrior | None:
    """The lengthscale prior that ``datasets`` (each ``(X, y)``, inputs as the study GP
    sees them) suggest, or ``None`` with fewer than :data:`MIN_TASKS` usable ones.

    Location: the median over tasks of each column's fitted log lengthscale. Scale: the
    standard deviation over tasks, kept between :data:`MIN_SCALE` and the default prior's
    ``√3`` (never weaker than what a GP assumes without related tasks).

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> tasks = []
        >>> for shift in (0.1, 0.2, 0.3, 0.4):
        ...     X = rng.random((40, 2))
        ...     tasks.append((X, np.sin(8 * (X[:, 0] - shift))))  # only column 0 matters
        >>> prior = learn_lengthscale_prior(tasks)
        >>> prior.location[0] < prior.location[1]
        True
    """
    rng = np.random.default_rng(seed)
    usable = []
    for i, (X, y) in enumerate(datasets):
        X = np.atleast_2d(np.asarray(X, dtype=float))
        y = np.asarray(y, dtype=float).reshape(-1)
        if len(X) != len(y):
            raise InvalidParameterError(
                f"The 'datasets' parameter of learn_lengthscale_prior must hold (X, y) pairs with "
                f"as many rows in X as values in y. Got {len(X)} and {len(y)} in datasets[{i}]."
            )
        finite = np.all(np.isfinite(X), axis=1) & np.isfinite(y)
        X, y = X[finite], y[finite]
        if len(y) >= 3 and np.ptp(y) > 0:
            usable.append((X, y))
    if len(usable) < MIN_TASKS:
        return None
    widths = {X.shape[1] for X, _ in usable}
    if len(widths) != 1:
        raise InvalidParameterError(
            "The 'datasets' parameter of learn_lengthscale_prior must hold inputs of one width. "
            f"Got widths {sorted(widths)}."
        )
    if len(usable) > MAX_TASKS:
        usable = [usable[i] for i in sorted(rng.choice(len(usable), MAX_TASKS, replace=False))]
    logs = []
    for X, y in usable:
        if len(y) > ROWS_PER_TASK:
            keep = rng.choice(len(y), ROWS_PER_TASK, replace=False)
            X, y = X[keep], y[keep]
        fitted = ExactGP(seed=int(rng.integers(2**31))).fit(X, y)
        logs.append(np.log(fitted.hyperparameters_.lengthscales))
    table = np.asarray(logs)
    location = np.median(table, axis=0)
    scale = np.clip(table.std(axis=0), MIN_SCALE, DEFAULT_LENGTHSCALE_SCALE)
    return LengthscalePrior(
        tuple(float(v) for v in location), tuple(float(v) for v in scale)
    )

