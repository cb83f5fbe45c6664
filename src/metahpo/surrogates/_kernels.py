"""Covariance functions on encoded inputs, written with plain tensor operations."""

from __future__ import annotations

import math

import torch

__all__ = ["matern52"]

_SQRT5 = math.sqrt(5.0)


def matern52(
    x1: torch.Tensor, x2: torch.Tensor, lengthscales: torch.Tensor, outputscale: torch.Tensor
) -> torch.Tensor:
    """The Matérn-5/2 ARD kernel matrix between the rows of ``x1`` and ``x2``.

    ``k(r) = s (1 + √5 r + 5 r² / 3) exp(-√5 r)`` with ``r`` the distance after
    dividing each column by its lengthscale (Rasmussen & Williams, 2006, eq. 4.17).

    Args:
        x1: ``(n, d)`` inputs.
        x2: ``(m, d)`` inputs.
        lengthscales: ``(d,)`` positive lengthscales.
        outputscale: positive scalar ``s``.

    Returns:
        The ``(n, m)`` covariance matrix.
    """
    a = x1 / lengthscales
    b = x2 / lengthscales
    # Squared distances by expansion; clamped because rounding can make them slightly
    # negative, and offset so that the gradient of sqrt stays finite at zero distance.
    squared = (a * a).sum(-1, keepdim=True) - 2.0 * a @ b.transpose(-1, -2) + (b * b).sum(-1)
    squared = squared.clamp_min(0.0)
    r = torch.sqrt(squared + 1e-30)
    return outputscale * (1.0 + _SQRT5 * r + (5.0 / 3.0) * squared) * torch.exp(-_SQRT5 * r)
