"""Multi-start acquisition optimisation over a (mixed) search space.

1. Score a scrambled Sobol batch of relaxed points and keep the best as global starts;
   add the best observed points (slightly perturbed) as local starts, confined to a
   trust-region box around the incumbent when one is given.
2. Run :class:`ProximalGradient` from all starts at once on the continuous relaxation,
   within the box of valid features (:meth:`SpaceEncoding.feature_bounds`: an integer
   spans its lowest to its highest value, not the whole unit interval).
3. Snap each solution to a valid point (integers to cells, one-hot blocks to their
   largest entry) and improve the best few by a discrete neighbourhood search (one
   integer step or one other category at a time) while that lowers the acquisition.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import qmc

from metahpo.surrogates._encoding import SpaceEncoding
from metahpo.surrogates._proximal import ProximalGradient

__all__ = ["AcquisitionOptimizer", "Candidates", "TrustRegion"]

Objective = Callable[[torch.Tensor], torch.Tensor]
_DTYPE = torch.float64


@dataclass(frozen=True)
class TrustRegion:
    """A box of half-width ``radius`` around ``center`` (config features), with an
    optional quadratic pull ``penalty / 2 ‖z - center‖²`` inside it."""

    center: np.ndarray
    radius: float
    penalty: float = 0.0


@dataclass(frozen=True)
class Candidates:
    """Valid feature rows sorted by acquisition loss (best first)."""

    x: np.ndarray
    value: np.ndarray
    n_evaluations: int


class AcquisitionOptimizer:
    """Minimise an acquisition loss over the features of a space.

    Args:
        n_raw: Sobol points scored to choose the global starts.
        n_global: global starts (from the best Sobol points).
        n_local: local starts (from the best observed points).
        max_iter: proximal-gradient iterations.
        n_discrete_rounds: rounds of discrete neighbourhood search (mixed spaces only).
        n_refine: how many snapped solutions get the neighbourhood search.
    """

    def __init__(
        self,
        n_raw: int = 256,
        n_global: int = 8,
        n_local: int = 4,
        max_iter: int = 30,
        n_discrete_rounds: int = 3,
        n_refine: int = 2,
    ) -> None:
        self.n_raw = n_raw
        self.n_global = n_global
        self.n_local = n_local
        self.max_iter = max_iter
        self.n_discrete_rounds = n_discrete_rounds
        self.n_refine = n_refine

    def starts(
        self,
        f: Objective,
        encoding: SpaceEncoding,
        anchors: np.ndarray,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray, int]:
        """Global and local starting rows, whether each is local, and evaluations spent."""
        dims = encoding.n_config_features
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*balance properties.*")
            raw_unit = qmc.Sobol(len(encoding.params), seed=rng).random(self.n_raw)
        # Sobol in the unit cube of the space, then relaxed features (one-hot blocks).
        low, high = encoding.feature_bounds()
        raw = np.clip(encoding.features(raw_unit), low, high)
        with torch.no_grad():
            scores = f(torch.as_tensor(raw, dtype=_DTYPE)).numpy()
        order = np.argsort(np.where(np.isfinite(scores), scores, np.inf), kind="stable")
        global_starts = raw[order[: self.n_global]]
        local_starts = np.empty((0, dims))
        if len(anchors) and self.n_local:
            picks = anchors[np.arange(self.n_local) % len(anchors)]
            local_starts = np.clip(picks + 0.02 * rng.standard_normal(picks.shape), low, high)
        starts = np.vstack([global_starts, local_starts])
        is_local = np.r_[np.zeros(len(global_starts), bool), np.ones(len(local_starts), bool)]
        return starts, is_local, self.n_raw

    def optimize(
        self,
        f: Objective,
        encoding: SpaceEncoding,
        anchors: np.ndarray,
        rng: np.random.Generator,
        trust_region: TrustRegion | None = None,
    ) -> Candidates:
        """Valid candidates sorted by ``f``; ``anchors`` are observed rows, best first."""
        starts, is_local, evaluations = self.starts(f, encoding, anchors, rng)
        low, high = encoding.feature_bounds()
        lower = np.broadcast_to(low, starts.shape).copy()
        upper = np.broadcast_to(high, starts.shape).copy()
        center = None
        penalty = np.zeros(len(starts))
        if trust_region is not None:
            center_row = np.asarray(trust_region.center, dtype=float)
            lower[is_local] = np.clip(center_row - trust_region.radius, low, high)
            upper[is_local] = np.clip(center_row + trust_region.radius, low, high)
            starts = np.clip(starts, lower, upper)
            center = torch.as_tensor(np.broadcast_to(center_row, starts.shape).copy(), dtype=_DTYPE)
            penalty[is_local] = trust_region.penalty
        solver = ProximalGradient(max_iter=self.max_iter)
        result = solver.minimize(
            f,
            torch.as_tensor(starts, dtype=_DTYPE),
            torch.as_tensor(lower, dtype=_DTYPE),
            torch.as_tensor(upper, dtype=_DTYPE),
            center,
            torch.as_tensor(penalty, dtype=_DTYPE),
        )
        evaluations += result.n_evaluations
        solutions = result.x.numpy()
        if encoding.is_continuous:
            values = result.value.numpy()
        else:
            solutions = encoding.snap(solutions)
            values, spent = _evaluate(f, solutions)
            evaluations += spent
            solutions, values, spent = self._neighbourhood_search(f, encoding, solutions, values)
            evaluations += spent
        order = np.argsort(np.where(np.isfinite(values), values, np.inf), kind="stable")
        return Candidates(solutions[order], values[order], evaluations)

    def _neighbourhood_search(
        self, f: Objective, encoding: SpaceEncoding, solutions: np.ndarray, values: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, int]:
        solutions, values = solutions.copy(), values.copy()
        evaluations = 0
        for index in np.argsort(values)[: self.n_refine]:
            for _ in range(self.n_discrete_rounds):
                neighbours = encoding.neighbors(solutions[index])
                if not len(neighbours):
                    break
                scores, spent = _evaluate(f, neighbours)
                evaluations += spent
                best = int(np.argmin(scores))
                if not scores[best] < values[index]:
                    break
                solutions[index], values[index] = neighbours[best], scores[best]
        return solutions, values, evaluations


def _evaluate(f: Objective, rows: np.ndarray) -> tuple[np.ndarray, int]:
    with torch.no_grad():
        return f(torch.as_tensor(rows, dtype=_DTYPE)).numpy(), len(rows)
