"""Leave-one-out predictive likelihood of a fitted GP surrogate, on the scale of the losses."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

__all__ = ["loo_nll_of_losses", "mean_loo_nll"]

_LOG_2PI = math.log(2.0 * math.pi)


def loo_nll_of_losses(surrogate: Any, losses: np.ndarray) -> float:
    """Mean leave-one-out NLL of ``losses`` under a fitted GP surrogate, in loss units.

    Works for any surrogate that keeps ``cholesky_inverse_`` (L⁻¹ of its train kernel
    matrix with noise), ``alpha_`` (K⁻¹ (y − prior mean)) and ``transform_`` (its output transform), as
    :class:`~metahpo.surrogates.ExactGP` and the deep-kernel GP do. With ``A = K⁻¹`` each
    point's held-out residual is ``[A y]_i / A_ii`` and its variance ``1 / A_ii``
    (Rasmussen & Williams, 2006, eq. 5.12). The transform's log-Jacobian brings the
    density back to the losses' scale, so two surrogates fitted under different output
    transforms are compared on one footing. Returns ``inf`` when the score is not finite.
    """
    with torch.no_grad():
        inverse = surrogate.cholesky_inverse_
        value = float(mean_loo_nll((inverse * inverse).sum(0), surrogate.alpha_))
    value -= surrogate.transform_.log_jacobian(np.asarray(losses, dtype=float)) / len(losses)
    return value if math.isfinite(value) else math.inf


def mean_loo_nll(diagonal: torch.Tensor, weighted: torch.Tensor) -> torch.Tensor:
    """Mean leave-one-out NLL from ``diag(K⁻¹)`` and ``K⁻¹ y`` (on the model's scale).

    Each point's held-out residual is ``[K⁻¹ y]_i / [K⁻¹]_ii`` and its variance
    ``1 / [K⁻¹]_ii`` (Rasmussen & Williams, 2006, eq. 5.12). Differentiable.
    """
    diagonal = diagonal.clamp_min(1e-300)
    residual = weighted / diagonal
    return 0.5 * (residual**2 * diagonal - torch.log(diagonal) + _LOG_2PI).mean()
