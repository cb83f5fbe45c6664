"""Penalties and their proximal operators: L1, group lasso, boxes and MCP.

Each penalty is a frozen record with ``value(x)`` (the penalty ``g(x)``) and
``prox(v, step)``, the proximal operator

    prox_{t g}(v) = argmin_x g(x) + ‖x - v‖² / (2t).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor

from metahpo._validation import check_finite_number
from metahpo.exceptions import InvalidParameterError

__all__ = [
    "BoxIndicator",
    "GroupLassoPenalty",
    "L1Penalty",
    "MCPPenalty",
    "Penalty",
    "ZeroPenalty",
    "max_prox_step",
]


def _check_nonnegative(value: object, name: str, owner: str) -> float:
    number = check_finite_number(value, name, owner)
    if number < 0:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a finite number >= 0. Got {value!r} instead."
        )
    return number


@dataclass(frozen=True)
class ZeroPenalty:
    """No penalty: the proximal operator is the identity (plain gradient descent)."""

    def value(self, x: Tensor) -> Tensor:
        return x.new_zeros(())

    def prox(self, v: Tensor, step: float | Tensor) -> Tensor:
        return v


@dataclass(frozen=True)
class L1Penalty:
    """``g(x) = strength ‖x‖₁``; its prox is soft thresholding at ``t · strength``.

    Example:
        >>> import torch
        >>> L1Penalty(1.0).prox(torch.tensor([3.0, -0.5, -2.0]), 1.0).tolist()
        [2.0, 0.0, -1.0]
    """

    strength: float

    def __post_init__(self) -> None:
        _check_nonnegative(self.strength, "strength", "L1Penalty")

    def value(self, x: Tensor) -> Tensor:
        return self.strength * x.abs().sum()

    def prox(self, v: Tensor, step: float | Tensor) -> Tensor:
        threshold = torch.as_tensor(step * self.strength, dtype=v.dtype)
        return v - torch.maximum(torch.minimum(v, threshold), -threshold)


@dataclass(frozen=True)
class GroupLassoPenalty:
    """``g(x) = strength Σ_G ‖x_G‖₂`` over disjoint groups of indices of a vector ``x``.

    The prox shrinks each group's Euclidean norm by ``t · strength`` (block soft
    thresholding); indices in no group are left alone.
    """

    strength: float
    groups: Sequence[Sequence[int]]

    def __post_init__(self) -> None:
        _check_nonnegative(self.strength, "strength", "GroupLassoPenalty")
        seen: set[int] = set()
        for group in self.groups:
            members = list(group)
            if not members or any(
                isinstance(i, bool) or not isinstance(i, int) or i < 0 for i in members
            ):
                raise InvalidParameterError(
                    "The 'groups' parameter of GroupLassoPenalty must be a sequence of non-empty "
                    f"sequences of indices >= 0. Got {list(self.groups)!r} instead."
                )
            if seen & set(members):
                raise InvalidParameterError(
                    "The 'groups' parameter of GroupLassoPenalty must hold disjoint groups. "
                    f"Got {list(self.groups)!r} instead."
                )
            seen |= set(members)

    def check_fits(self, x: Tensor, owner: str, parameter: str) -> None:
        """Refuse groups that index beyond ``x``: torch's IndexError would name neither."""
        largest = max((i for group in self.groups for i in group), default=-1)
        if x.dim() == 0 or largest >= len(x):
            raise InvalidParameterError(
                f"The {parameter!r} parameter of {owner} must have at least {largest + 1} entries "
                f"(along its first dimension) for the groups of GroupLassoPenalty, whose largest index is {largest}. "
                f"Got a tensor of shape {tuple(x.shape)} instead."
            )

    def value(self, x: Tensor) -> Tensor:
        total = x.new_zeros(())
        for group in self.groups:
            total = total + torch.linalg.vector_norm(x[list(group)])
        return self.strength * total

    def prox(self, v: Tensor, step: float | Tensor) -> Tensor:
        out = v.clone()
        for group in self.groups:
            index = list(group)
            block = v[index]
            norm = torch.linalg.vector_norm(block)
            scale = (1.0 - step * self.strength / norm.clamp_min(1e-300)).clamp_min(0.0)
            out[index] = scale * block
        return out


@dataclass(frozen=True)
class BoxIndicator:
    """The indicator of ``[lower, upper]``: zero inside, ``+inf`` outside; its prox is clipping."""

    lower: float | Tensor
    upper: float | Tensor

    def __post_init__(self) -> None:
        for name in ("lower", "upper"):
            if bool(torch.isnan(torch.as_tensor(getattr(self, name))).any()):
                raise InvalidParameterError(
                    f"The {name!r} parameter of BoxIndicator must hold numbers (infinite for no bound), "
                    f"not NaN. Got lower={self.lower!r}, upper={self.upper!r} instead."
                )
        if bool(torch.any(torch.as_tensor(self.lower) > torch.as_tensor(self.upper))):
            raise InvalidParameterError(
                "The 'lower' parameter of BoxIndicator must be <= 'upper' everywhere. "
                f"Got lower={self.lower!r}, upper={self.upper!r} instead."
            )

    def value(self, x: Tensor) -> Tensor:
        lower = torch.as_tensor(self.lower, dtype=x.dtype)
        upper = torch.as_tensor(self.upper, dtype=x.dtype)
        inside = bool(torch.all((x >= lower) & (x <= upper)))
        return x.new_zeros(()) if inside else x.new_tensor(float("inf"))

    def prox(self, v: Tensor, step: float | Tensor) -> Tensor:
        lower = torch.as_tensor(self.lower, dtype=v.dtype)
        upper = torch.as_tensor(self.upper, dtype=v.dtype)
        return torch.maximum(torch.minimum(v, upper), lower)


@dataclass(frozen=True)
class MCPPenalty:
    """The minimax concave penalty (Zhang, 2010, "Nearly unbiased variable selection under MCP").

    Per coordinate, with ``λ = strength`` and ``γ = concavity > 1``:
    ``λ|x| - x²/(2γ)`` for ``|x| <= γλ`` and ``γλ²/2`` beyond. It is non-convex; its prox
    with a step ``t < γ`` is firm thresholding (Breheny & Huang, 2011, eq. 2.5):
    ``0`` for ``|v| <= tλ``, ``sign(v)(|v| - tλ)/(1 - t/γ)`` for ``|v| <= γλ``, and ``v`` beyond.
    """

    strength: float
    concavity: float = 3.0

    def __post_init__(self) -> None:
        _check_nonnegative(self.strength, "strength", "MCPPenalty")
        gamma = check_finite_number(self.concavity, "concavity", "MCPPenalty")
        if gamma <= 1.0:
            raise InvalidParameterError(
                f"The 'concavity' parameter of MCPPenalty must be a finite number > 1. Got {self.concavity!r} instead."
            )

    def value(self, x: Tensor) -> Tensor:
        lam, gamma = self.strength, self.concavity
        a = x.abs()
        inner = lam * a - a**2 / (2.0 * gamma)
        return torch.where(a <= gamma * lam, inner, torch.full_like(a, gamma * lam**2 / 2.0)).sum()

    def prox(self, v: Tensor, step: float | Tensor) -> Tensor:
        lam, gamma = self.strength, self.concavity
        t = torch.as_tensor(step, dtype=v.dtype)
        if bool(torch.any(t >= gamma)):
            raise InvalidParameterError(
                f"The step of MCPPenalty.prox must be < concavity={gamma} for the prox to be "
                f"single-valued. Got {float(t.max())!r} instead."
            )
        a = v.abs()
        shrunk = torch.sign(v) * (a - t * lam).clamp_min(0.0) / (1.0 - t / gamma)
        return torch.where(a <= gamma * lam, shrunk, v)


class Penalty(Protocol):
    """What :func:`~metahpo.metalearn.proximal_gradient` needs of a penalty ``g``."""

    def value(self, x: Tensor) -> Tensor: ...

    def prox(self, v: Tensor, step: float | Tensor) -> Tensor: ...


def max_prox_step(penalty: Penalty) -> float:
    """The largest step the penalty's prox accepts (below MCP's concavity; else unbounded)."""
    if isinstance(penalty, MCPPenalty):
        return penalty.concavity * (1.0 - 1e-9)
    return float("inf")
