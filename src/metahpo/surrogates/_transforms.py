"""Output transforms: the scale on which a surrogate models the losses.

All transforms are strictly increasing, so the order of losses, the incumbent and
the argmin of the posterior mean are the same on either scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError

__all__ = ["AUTO_CANDIDATES", "OUTPUT_TRANSFORMS", "OutputTransform"]

# "auto" is not a transform itself: a surrogate fits each of AUTO_CANDIDATES and keeps
# the one under which the losses are most probable (see ExactGP).
OUTPUT_TRANSFORMS = ("standardize", "log", "rank", "none", "auto")
AUTO_CANDIDATES = ("standardize", "log")
# The binary exponent each transform keeps the largest loss below, dividing the losses by
# a power of two when it is larger. "standardize" and "none" square them (the standard
# deviation, a GP's likelihood): up to 2**500, about 3.3e150. "log" and "rank" only take
# their differences (the spread, the shift below the best loss, the interpolation of new
# losses), which overflow only near the largest float (about 1.8e308, 2**1024). Dividing by
# no more than needed keeps small losses from underflowing to zero beside huge ones.
_MAX_EXPONENT = {"standardize": 500, "none": 500, "log": 1022, "rank": 1022}


@dataclass
class OutputTransform:
    """A monotone map of losses to a roughly standard-normal scale, fitted on data.

    Kinds:
        ``"standardize"``: ``(y - mean) / std``.
        ``"log"``: ``log(y - min + shift)`` then standardise; for skewed losses
            (long right tails, e.g. Rosenbrock or diverged trainings). ``shift`` sits
            a tenth of the gap to the median below the best loss.
        ``"rank"``: rank-Gaussian: the normal quantile of each loss's mid-rank,
            interpolated between observed losses for new ones; robust to any outlier.
        ``"none"``: the identity.

    Losses whose squares would overflow, larger than about ``3e150`` in magnitude, are
    first divided by a power of two, ``unit_``, for ``"standardize"`` and ``"none"``: by as
    much as brings the largest below ``2**500``, so that the standardised scale is that of
    the losses themselves (``"none"`` then models the divided losses). ``"log"`` and
    ``"rank"`` divide only losses within a factor of four of the largest float (about
    ``4e307``), whose differences would overflow, and then by at most 4: their scale and
    ranks are those of the losses, small ones beside huge ones included. A division by a
    power of two is exact unless a quotient falls below the smallest normal float (about
    ``2e-308``). Otherwise ``unit_`` is 1.

    ``"auto"`` is accepted by the surrogates (which choose among
    :data:`AUTO_CANDIDATES`), not by this class.
    """

    kind: str = "standardize"

    def __post_init__(self) -> None:
        if self.kind not in OUTPUT_TRANSFORMS or self.kind == "auto":
            kinds = [k for k in OUTPUT_TRANSFORMS if k != "auto"]
            raise InvalidParameterError(
                f"The 'output_transform' parameter must be one of {kinds}. "
                f"Got {describe(self.kind)} instead."
            )
        self.unit_ = 1.0
        self.shift_ = 0.0
        self.floor_ = 1e-12
        self.center_ = 0.0
        self.scale_ = 1.0
        self.sorted_y_ = np.empty(0)
        self.sorted_z_ = np.empty(0)

    def fit(self, y: np.ndarray) -> OutputTransform:
        y = np.asarray(y, dtype=float)
        largest = float(np.max(np.abs(y))) if len(y) else 0.0
        # The largest loss is m * 2**e (0.5 <= m < 1), below 2**e: 2**(e - limit) brings it
        # below 2**limit.
        excess = math.frexp(largest)[1] - _MAX_EXPONENT[self.kind]
        self.unit_ = math.ldexp(1.0, excess) if excess > 0 else 1.0
        y = y / self.unit_
        if self.kind == "rank":
            n = len(y)
            z = ndtri((rankdata(y) - 0.5) / n) if n else np.empty(0)
            order = np.argsort(y, kind="stable")
            self.sorted_y_, self.sorted_z_ = y[order], z[order]
            return self
        if self.kind == "log" and len(y):
            low, spread = float(np.min(y)), float(np.ptp(y))
            # The offset below the best loss is a tenth of the gap to the median loss:
            # small enough to keep the good losses apart, large enough that the best
            # one does not become a lone outlier at log(0).
            gap = 0.1 * (float(np.median(y)) - low) or 0.1 * spread or 1.0
            self.shift_ = low - gap
            self.floor_ = 1e-3 * gap
        base = self._pre(y)
        if self.kind != "none" and len(base):
            self.center_ = float(np.mean(base))
            std = float(np.std(base))
            self.scale_ = std if std > 1e-12 else 1.0
        return self

    def _pre(self, y: np.ndarray) -> np.ndarray:
        """``y``, losses already divided by ``unit_``, logged for "log"."""
        if self.kind == "log":
            # Losses below the fitted minimum map to a floor instead of log of a negative.
            return np.log(np.maximum(y - self.shift_, self.floor_))
        return y

    def transform(self, y: np.ndarray) -> np.ndarray:
        """Map losses to the model scale."""
        y = np.asarray(y, dtype=float) / self.unit_
        if self.kind == "rank":
            if len(self.sorted_y_) == 0:
                return np.zeros_like(y)
            return np.interp(y, self.sorted_y_, self.sorted_z_)
        if self.kind == "none":
            return y.copy()
        return (self._pre(y) - self.center_) / self.scale_

    def log_jacobian(self, y: np.ndarray) -> float:
        """``Σ log t'(y_i)``: the log-density change from the model scale back to losses.

        A density ``p(z)`` of transformed losses ``z = t(y)`` is the density
        ``p(t(y)) Π t'(y_i)`` of the losses themselves, so the log marginal likelihood
        plus this term compares models fitted under different transforms on one scale.
        The rank transform is a step function (no density); asking for it is an error.
        """
        y = np.asarray(y, dtype=float) / self.unit_
        if self.kind == "rank":
            raise InvalidParameterError(
                "The rank output transform has no Jacobian: it cannot be compared by likelihood. "
                f"Got output_transform={self.kind!r}."
            )
        total = -len(y) * float(np.log(self.scale_)) if self.kind != "none" else 0.0
        if self.unit_ != 1.0:  # t(y) is a map of y / unit_: each t'(y_i) has a factor 1 / unit_
            total -= len(y) * math.log(self.unit_)
        if self.kind == "log":
            total -= float(np.sum(np.log(np.maximum(y - self.shift_, self.floor_))))
        return total
