"""Building parameter dicts and Meta-SGD learning rates from a module."""

from __future__ import annotations

import math

import torch
from torch import nn

from metahpo._validation import check_finite_number, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.metalearn._checks import check_params
from metahpo.metalearn._types import Params

__all__ = ["clone_params", "inner_lr_like"]


def clone_params(source: nn.Module | Params, *, requires_grad: bool = True) -> Params:
    """Independent copies of a module's parameters (or of a dict), as leaf tensors.

    The copies share no storage with the module, so meta-training them never touches
    the module's own weights.

    Args:
        source: A module (its ``named_parameters()``) or a parameter dict.
        requires_grad: Whether the copies are leaves that accumulate ``.grad``.

    Returns:
        A new dict, name to tensor.

    Example:
        >>> import torch
        >>> model = torch.nn.Linear(3, 1)
        >>> params = clone_params(model)
        >>> params["weight"].requires_grad, params["weight"] is model.weight
        (True, False)
    """
    named = (
        dict(source.named_parameters())
        if isinstance(source, nn.Module)
        else check_params(source, "clone_params")
    )
    return {
        name: value.detach().clone().requires_grad_(requires_grad) for name, value in named.items()
    }


def inner_lr_like(
    params: Params, value: float, *, per_element: bool = True, requires_grad: bool = True
) -> Params:
    """Meta-SGD learning rates: one tensor per parameter, filled with ``value``.

    Args:
        params: The parameters the rates belong to.
        value: The initial learning rate, a positive float.
        per_element: One rate per scalar weight (Meta-SGD, Li et al., 2017) when ``True``,
            one scalar per parameter tensor otherwise.
        requires_grad: Whether the rates are leaves an optimizer can learn.

    Returns:
        A dict with the keys of ``params``.

    Example:
        >>> import torch
        >>> rates = inner_lr_like(dict(torch.nn.Linear(3, 1).named_parameters()), 0.01)
        >>> rates["weight"].shape
        torch.Size([1, 3])
    """
    params = check_params(params, "inner_lr_like")
    rate = check_finite_number(value, "value", "inner_lr_like")
    if rate <= 0 or not math.isfinite(rate):
        raise InvalidParameterError(
            f"The 'value' parameter of inner_lr_like must be a positive float. Got {describe(value)} instead."
        )
    return {
        name: (
            torch.full_like(tensor.detach(), rate)
            if per_element
            else torch.tensor(rate, dtype=tensor.dtype, device=tensor.device)
        ).requires_grad_(requires_grad)
        for name, tensor in params.items()
    }
