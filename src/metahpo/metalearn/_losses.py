"""Ready-made ``loss_fn(model, params, batch)`` functions for supervised tasks."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call

from metahpo.exceptions import InvalidParameterError
from metahpo.metalearn._types import Batch, Params

__all__ = ["cross_entropy_loss", "mse_loss"]


def _inputs_targets(batch: Batch, owner: str) -> tuple[Tensor, Tensor]:
    if len(batch) != 2:
        raise InvalidParameterError(
            f"The 'batch' parameter of {owner} must be a pair (inputs, targets). "
            f"Got a tuple of {len(batch)} tensors instead."
        )
    return batch[0], batch[1]


def mse_loss(model: nn.Module, params: Params, batch: Batch) -> Tensor:
    """Mean squared error of ``model(inputs)`` against ``targets``, ``batch = (inputs, targets)``.

    Example:
        >>> import torch
        >>> model = torch.nn.Linear(2, 1)
        >>> params = {k: torch.zeros_like(v) for k, v in model.named_parameters()}
        >>> float(mse_loss(model, params, (torch.ones(3, 2), torch.full((3, 1), 2.0))))
        4.0
    """
    inputs, targets = _inputs_targets(batch, "mse_loss")
    return F.mse_loss(functional_call(model, params, (inputs,)), targets)


def cross_entropy_loss(model: nn.Module, params: Params, batch: Batch) -> Tensor:
    """Cross-entropy of ``model(inputs)`` logits against integer ``targets``.

    Example:
        >>> import torch
        >>> model = torch.nn.Linear(2, 3)
        >>> params = {k: torch.zeros_like(v) for k, v in model.named_parameters()}
        >>> round(float(cross_entropy_loss(model, params, (torch.ones(4, 2), torch.zeros(4, dtype=torch.long)))), 4)
        1.0986
    """
    inputs, targets = _inputs_targets(batch, "cross_entropy_loss")
    return F.cross_entropy(functional_call(model, params, (inputs,)), targets)
