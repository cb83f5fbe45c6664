"""Linear-minimisation oracles: ``argmin_{s in C} <g, s>`` for the sets Frank–Wolfe runs on.

Each oracle is a frozen record called with a gradient and returning a vertex (an
extreme point) of its set ``C``; its ``contains(x)`` answers membership, used to
validate starting points.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from metahpo._validation import check_finite_number
from metahpo.exceptions import InvalidParameterError

__all__ = ["BoxLMO", "L1BallLMO", "NuclearNormBallLMO", "SimplexLMO"]


def _check_radius(value: object, owner: str) -> float:
    radius = check_finite_number(value, "radius", owner)
    if radius <= 0:
        raise InvalidParameterError(
            f"The 'radius' parameter of {owner} must be > 0. Got {value!r} instead."
        )
    return radius


@dataclass(frozen=True)
class SimplexLMO:
    """The scaled probability simplex ``{s >= 0, Σ s = radius}``: the vertex ``radius · e_i``
    at the smallest gradient coordinate.

    Example:
        >>> import torch
        >>> SimplexLMO()(torch.tensor([0.3, -1.0, 2.0])).tolist()
        [0.0, 1.0, 0.0]
    """

    radius: float = 1.0

    def __post_init__(self) -> None:
        _check_radius(self.radius, "SimplexLMO")

    def __call__(self, grad: Tensor) -> Tensor:
        vertex = torch.zeros_like(grad).flatten()
        vertex[int(torch.argmin(grad.flatten()))] = self.radius
        return vertex.reshape(grad.shape)

    def contains(self, x: Tensor, atol: float = 1e-9) -> bool:
        return bool((x >= -atol).all()) and abs(float(x.sum()) - self.radius) <= atol * max(
            1.0, self.radius
        )


@dataclass(frozen=True)
class L1BallLMO:
    """The L1 ball ``{‖s‖₁ <= radius}``: ``-radius · sign(g_i) e_i`` at the largest ``|g_i|``."""

    radius: float = 1.0

    def __post_init__(self) -> None:
        _check_radius(self.radius, "L1BallLMO")

    def __call__(self, grad: Tensor) -> Tensor:
        flat = grad.flatten()
        index = int(torch.argmax(flat.abs()))
        vertex = torch.zeros_like(flat)
        vertex[index] = -self.radius if flat[index] >= 0 else self.radius
        return vertex.reshape(grad.shape)

    def contains(self, x: Tensor, atol: float = 1e-9) -> bool:
        return float(x.abs().sum()) <= self.radius * (1.0 + atol)


@dataclass(frozen=True)
class BoxLMO:
    """The box ``[lower, upper]``: each coordinate at ``lower`` where ``g > 0``, else ``upper``."""

    lower: float | Tensor
    upper: float | Tensor

    def __post_init__(self) -> None:
        lower, upper = torch.as_tensor(self.lower), torch.as_tensor(self.upper)
        if not bool(torch.isfinite(lower).all() and torch.isfinite(upper).all()) or bool(
            (lower > upper).any()
        ):
            raise InvalidParameterError(
                "The 'lower' and 'upper' parameters of BoxLMO must be finite with lower <= upper. "
                f"Got lower={self.lower!r}, upper={self.upper!r} instead."
            )

    def __call__(self, grad: Tensor) -> Tensor:
        lower = torch.as_tensor(self.lower, dtype=grad.dtype).expand_as(grad)
        upper = torch.as_tensor(self.upper, dtype=grad.dtype).expand_as(grad)
        return torch.where(grad > 0, lower, upper)

    def contains(self, x: Tensor, atol: float = 1e-9) -> bool:
        lower = torch.as_tensor(self.lower, dtype=x.dtype)
        upper = torch.as_tensor(self.upper, dtype=x.dtype)
        return bool(((x >= lower - atol) & (x <= upper + atol)).all())


@dataclass(frozen=True)
class NuclearNormBallLMO:
    """The nuclear-norm ball of matrices ``{‖S‖_* <= radius}``: ``-radius · u₁ v₁ᵀ`` from the
    top singular pair of the gradient (Jaggi, 2013, "Revisiting Frank–Wolfe", section 4.3)."""

    radius: float = 1.0

    def __post_init__(self) -> None:
        _check_radius(self.radius, "NuclearNormBallLMO")

    def __call__(self, grad: Tensor) -> Tensor:
        if grad.dim() != 2:
            raise InvalidParameterError(
                "NuclearNormBallLMO needs a matrix (2-D) gradient. "
                f"Got a tensor of shape {tuple(grad.shape)} instead."
            )
        u, _, vh = torch.linalg.svd(grad, full_matrices=False)
        return -self.radius * torch.outer(u[:, 0], vh[0])

    def contains(self, x: Tensor, atol: float = 1e-9) -> bool:
        return x.dim() == 2 and float(torch.linalg.matrix_norm(x, "nuc")) <= self.radius * (
            1.0 + atol
        )
