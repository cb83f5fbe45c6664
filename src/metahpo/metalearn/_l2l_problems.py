"""Batches of optimisation problems for the learned optimizer, and the paper's quadratics."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.func import vmap

from metahpo._validation import check_int, describe
from metahpo.exceptions import InvalidParameterError

__all__ = ["OptimizeeBatch", "quadratic_loss", "random_quadratics"]


@dataclass(frozen=True)
class OptimizeeBatch:
    """A batch of independent problems for the learned optimizer to minimise.

    Attributes:
        x0: The starting points, shape ``(n_problems, *shape)``.
        loss_fn: ``loss_fn(x) -> Tensor`` of shape ``(n_problems,)``: each problem's loss at
            its own row of ``x``. Row ``i`` of the loss may depend only on row ``i`` of
            ``x``, so the gradient of the sum is each problem's own gradient.
    """

    x0: Tensor
    loss_fn: Callable[[Tensor], Tensor]

    def __post_init__(self) -> None:
        if not isinstance(self.x0, Tensor) or not self.x0.is_floating_point() or self.x0.dim() < 1:
            raise InvalidParameterError(
                "The 'x0' field of OptimizeeBatch must be a floating-point tensor with a "
                f"leading problem dimension. Got {describe(self.x0)} instead."
            )
        if not callable(self.loss_fn):
            raise InvalidParameterError(
                "The 'loss_fn' field of OptimizeeBatch must be callable. "
                f"Got {describe(self.loss_fn)} instead."
            )


def quadratic_loss(x: Tensor, matrix: Tensor, target: Tensor) -> Tensor:
    """The paper's quadratic ``f(θ) = ‖Wθ − y‖²`` for one problem.

    Example:
        >>> import torch
        >>> float(quadratic_loss(torch.ones(2), torch.eye(2), torch.zeros(2)))
        2.0
    """
    return (matrix @ x - target).pow(2).sum()


def random_quadratics(
    n_problems: int, dim: int = 10, *, generator: torch.Generator | None = None
) -> OptimizeeBatch:
    """Random quadratics ``‖Wθ − y‖²`` with ``W``, ``y`` and ``θ₀`` i.i.d. standard normal.

    The synthetic task of Andrychowicz et al. (2016), Section 3.1 (10-dimensional there).
    The losses of the batch are computed with :func:`torch.func.vmap` over
    :func:`quadratic_loss`.

    Args:
        n_problems: How many quadratics.
        dim: The dimension of ``θ`` (``W`` is ``dim × dim``).
        generator: The random source; the global one when ``None``.

    Returns:
        An :class:`OptimizeeBatch` with ``x0`` of shape ``(n_problems, dim)``.

    Example:
        >>> import torch
        >>> batch = random_quadratics(4, generator=torch.Generator().manual_seed(0))
        >>> batch.x0.shape, batch.loss_fn(batch.x0).shape
        (torch.Size([4, 10]), torch.Size([4]))
    """
    owner = "random_quadratics"
    n = check_int(n_problems, "n_problems", owner, minimum=1)
    d = check_int(dim, "dim", owner, minimum=1)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise InvalidParameterError(
            f"The 'generator' parameter of {owner} must be a torch.Generator or None. "
            f"Got {describe(generator)} instead."
        )
    matrices = torch.randn(n, d, d, generator=generator)
    targets = torch.randn(n, d, generator=generator)
    x0 = torch.randn(n, d, generator=generator)
    batched = vmap(quadratic_loss)

    def loss_fn(x: Tensor) -> Tensor:
        return batched(x, matrices, targets)

    return OptimizeeBatch(x0=x0, loss_fn=loss_fn)
