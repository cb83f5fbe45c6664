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
# Losses larger than this in magnitude (about 3.3e150) are divided by a power of two before
# any arithmetic: the squares of their spread (the standard deviation), or a GP's
# likelihood of them, would overflow. The division is exact, so the map is the same.
_LARGE = 2.0**500


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

    Losses larger than about ``3e150`` in magnitude are first divided by a power of two,
    ``unit_``, that brings them below 2 (exact, so the standardised and log scales and the
    ranks are those of the losses themselves; ``"none"`` then models the divided losses):
    their squares would overflow. Below that size ``unit_`` is 1.

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
        # 2**(e - 1) for the largest loss m * 2**e (0.5 <= m < 1): 2**e itself overflows near
        # the largest float.
        self.unit_ = math.ldexp(1.0, math.frexp(largest)[1] - 1) if largest > _LARGE else 1.0
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
