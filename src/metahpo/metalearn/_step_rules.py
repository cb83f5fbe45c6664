"""The adaptive step: Barzilai–Borwein steps, safeguarded, with a non-monotone line search.

Barzilai & Borwein (1988, "Two-point step size gradient methods") take the step that
fits the last displacement ``s = x⁺ - x`` and gradient change ``y = ∇f(x⁺) - ∇f(x)``
with a scalar curvature: ``t = sᵀs / sᵀy`` (BB1). The step is fast but not monotone,
so it is paired with the non-monotone acceptance test of SpaRSA (Wright, Nowak &
Figueiredo, 2009, "Sparse reconstruction by separable approximation", eq. 22), which
compares a trial point with the worst of the last ``memory`` objective values:

    F(x⁺) ≤ max_{j < memory} F(x_{k-j}) - (σ / (2t)) ‖x⁺ - x‖².

The safeguard keeps the step inside ``[min_step, max_step]`` and, when the curvature
``sᵀy`` is not positive (a non-convex region), grows the previous step instead of
trusting a negative or infinite quotient. Both functions broadcast over leading batch
dimensions, so the batched acquisition optimizer and the proximal gradient share them.
"""

from __future__ import annotations

import torch
from torch import Tensor

from metahpo._validation import check_finite_number
from metahpo.exceptions import InvalidParameterError

__all__ = ["barzilai_borwein_step", "nonmonotone_accept"]


def barzilai_borwein_step(
    displacement: Tensor,
    gradient_change: Tensor,
    previous_step: Tensor,
    *,
    min_step: float = 1e-10,
    max_step: float = 1e10,
    growth: float = 2.0,
) -> Tensor:
    """The safeguarded BB1 step ``sᵀs / sᵀy``, batched over all but the last dimension.

    Args:
        displacement: ``s = x⁺ - x``, shape ``(..., d)``.
        gradient_change: ``y = ∇f(x⁺) - ∇f(x)``, same shape.
        previous_step: The step that produced ``s``, shape ``(...)``.
        min_step: Lower bound of the returned step.
        max_step: Upper bound of the returned step.
        growth: Factor applied to ``previous_step`` when ``sᵀy <= 0``.

    Returns:
        The next steps, shape ``(...)``, within ``[min_step, max_step]``.

    Example:
        >>> import torch
        >>> s = torch.tensor([1.0, 0.0]); y = torch.tensor([4.0, 0.0])  # curvature 4
        >>> barzilai_borwein_step(s, y, torch.tensor(1.0)).item()
        0.25
    """
    owner = "barzilai_borwein_step"
    low = check_finite_number(min_step, "min_step", owner)
    high = check_finite_number(max_step, "max_step", owner)
    if not 0 < low <= high:
        raise InvalidParameterError(
            f"The 'min_step' and 'max_step' parameters of {owner} must satisfy "
            f"0 < min_step <= max_step. Got min_step={min_step!r}, max_step={max_step!r} instead."
        )
    if check_finite_number(growth, "growth", owner) < 1:
        raise InvalidParameterError(
            f"The 'growth' parameter of {owner} must be a finite number >= 1. Got {growth!r} instead."
        )
    if displacement.shape != gradient_change.shape:
        raise InvalidParameterError(
            f"The 'gradient_change' parameter of {owner} must have the shape of 'displacement' "
            f"{tuple(displacement.shape)}. Got {tuple(gradient_change.shape)} instead."
        )
    s_dot_s = (displacement * displacement).sum(-1)
    s_dot_y = (displacement * gradient_change).sum(-1)
    bb = torch.where(s_dot_y > 0, s_dot_s / s_dot_y.clamp_min(1e-300), growth * previous_step)
    return bb.clamp(min_step, max_step)


def nonmonotone_accept(
    trial_value: Tensor,
    recent_values: Tensor,
    displacement: Tensor,
    step: Tensor,
    *,
    sufficient_decrease: float = 1e-4,
) -> Tensor:
    """SpaRSA's non-monotone test: is ``F(x⁺)`` below the worst recent value by enough?

    Args:
        trial_value: ``F(x⁺)``, shape ``(...)``.
        recent_values: The last objective values, shape ``(..., memory)``; with
            ``memory == 1`` the test is monotone.
        displacement: ``x⁺ - x``, shape ``(..., d)``.
        step: The step ``t`` that produced ``x⁺``, shape ``(...)``.
        sufficient_decrease: ``σ`` in ``(0, 1)``.

    Returns:
        A boolean tensor of shape ``(...)``; non-finite trial values are rejected.
    """
    sigma = check_finite_number(sufficient_decrease, "sufficient_decrease", "nonmonotone_accept")
    if not 0 < sigma < 1:
        raise InvalidParameterError(
            "The 'sufficient_decrease' parameter of nonmonotone_accept must be in (0, 1). "
            f"Got {sufficient_decrease!r} instead."
        )
    reference = recent_values.amax(-1)
    required = reference - sigma / (2.0 * step) * (displacement**2).sum(-1)
    return torch.isfinite(trial_value) & (trial_value <= required)
