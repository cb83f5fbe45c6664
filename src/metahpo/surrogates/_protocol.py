"""The surrogate protocol: what the acquisition functions and the optimiser need."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import torch

__all__ = ["Surrogate"]


@runtime_checkable
class Surrogate(Protocol):
    """A probabilistic model of the loss over encoded inputs.

    ``fit`` learns from feature rows ``X`` (the encoding of :class:`SpaceEncoding`,
    budget column included) and losses ``y``. ``predict`` maps a ``(batch, dims)``
    float64 tensor to the posterior mean and standard deviation, both ``(batch,)``,
    differentiably in the inputs, so an acquisition built on it can be minimised by
    gradient steps. Means and deviations are on the surrogate's output scale (for
    example standardised losses); :meth:`transform_losses` maps raw losses to it,
    so an incumbent can be compared with the predictions.

    The exact GP of :class:`ExactGP` is one implementation; a meta-learned
    deep-kernel GP plugs into the same acquisitions and optimiser.
    """

    def fit(self, X: np.ndarray, y: np.ndarray) -> Surrogate: ...

    def predict(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...

    def transform_losses(self, y: np.ndarray) -> np.ndarray: ...
