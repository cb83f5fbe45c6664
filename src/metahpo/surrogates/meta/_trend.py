"""The meta-learned prior mean of the trend's weight.

Meta-training gives the trend's weight a zero-mean prior, so the network learns the
direction ``m(x)`` only up to its sign, and each task's posterior picks the sign. Across
the training tasks the sign is the same (good configs lie at one end of ``m`` on most
tasks), but a study's first few observations are good configs only, and among them the
posterior can pick the wrong sign: it then predicts the configs the knowledge holds to be
the worst, at the far end of ``m``, as the best by far, and the first surrogate
suggestion lands in a corner that no past task liked. The weight's posterior mean on the
training tasks is what the knowledge says about it, so a study's GP takes its typical
value and spread across them as the weight's prior (empirical Bayes across tasks): its
prior mean becomes ``w0 m(x)`` and its rank-one kernel term ``s² m(x) m(x')``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from metahpo.surrogates.meta._config import TaskData
from metahpo.surrogates.meta._model import MetaModel

__all__ = ["TREND_PRIOR_ROWS", "trend_prior"]

# Rows per task the weight is estimated on: about the support sizes meta-training used.
TREND_PRIOR_ROWS = 64


def trend_prior(model: MetaModel, tasks: Sequence[TaskData], seed: int = 0) -> tuple[float, float]:
    """``(w0, s)``: median and spread over ``tasks`` of the trend weight's posterior mean.

    ``(0, 1)``, the prior meta-training used, without a trend or with fewer than two tasks.
    The spread is the total standard deviation of a task's weight: the variance of the
    per-task posterior means plus the mean of their posterior variances (each task's own
    uncertainty about its weight).

    Each task's losses are put on the meta-training scale (its ``task_transform``, then
    standardised) and the posterior mean of the weight ``w`` of ``m(x)`` under the prior
    ``w ~ N(0, 1)`` is ``mᵀ K⁻¹ y / (1 + mᵀ K⁻¹ m)``, with ``K`` the rest of the kernel
    plus noise on at most :data:`TREND_PRIOR_ROWS` of the task's rows.
    """
    from metahpo.surrogates._threads import torch_threads

    if not model.config.trend:
        return 0.0, 1.0
    # Many small kernels: one thread is faster (as in meta-training).
    with torch_threads(1):
        weights, variances = _task_weights(model, tasks, seed)
    if len(weights) < 2:
        return 0.0, 1.0
    spread = float(np.sqrt(np.var(weights, ddof=1) + np.mean(variances)))
    return float(np.median(weights)), spread


def _task_weights(model: MetaModel, tasks: Sequence[TaskData], seed: int) -> tuple[list[float], list[float]]:
    import torch

    from metahpo.surrogates._deep_kernel import trend_weight
    from metahpo.surrogates.meta._train import warp_task

    net = model.net()
    rng = np.random.default_rng(seed)
    weights, variances = [], []
    for task in tasks:
        if len(task.y) < 3:
            continue
        warped = warp_task(task, model.config.task_transform)
        keep = rng.permutation(len(warped.y))[:TREND_PRIOR_ROWS]
        y = warped.y[keep]
        scale = float(np.std(y))
        if not np.isfinite(scale) or scale < 1e-9:
            continue
        with torch.no_grad():
            mean, variance = trend_weight(
                net, model.params,
                torch.as_tensor(warped.X[keep], dtype=torch.float64),
                torch.as_tensor((y - y.mean()) / scale, dtype=torch.float64),
            )
        if np.isfinite(mean) and np.isfinite(variance):
            weights.append(mean)
            variances.append(variance)
    return weights, variances
