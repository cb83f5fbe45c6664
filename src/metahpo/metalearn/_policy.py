"""A Gaussian MLP policy used through ``torch.func.functional_call``."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.func import functional_call

from metahpo._validation import check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.metalearn._types import Params

__all__ = ["GaussianMLPPolicy", "gaussian_log_prob"]

LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


class GaussianMLPPolicy(nn.Module):
    """``a ~ N(s · μ(o), (s · exp(log_std))²)``: an MLP mean and a learned state-independent log-std.

    The architecture of MAML's RL experiments (Finn et al., 2017): hidden ReLU layers
    (two of 100 units by default) map an observation to the mean; ``log_std`` is one
    parameter per action dimension. ``action_scale`` ``s`` expresses actions in units of
    the environment's bound, as rllab's normalised environments do, so a policy with
    ``log_std = 0`` explores across the whole action range.

    Call it with :func:`torch.func.functional_call` and a parameter dict
    (``dict(policy.named_parameters())`` or an adapted copy); it returns the mean and
    the standard deviation, both of shape ``(..., action_dim)``.

    Args:
        observation_dim: Size of an observation.
        action_dim: Size of an action.
        hidden_sizes: Units of each hidden layer.
        action_scale: The scale ``s`` of the means and standard deviations.
        init_log_std: The initial ``log_std``.

    Example:
        >>> import torch
        >>> from torch.func import functional_call
        >>> policy = GaussianMLPPolicy(2, 2, action_scale=0.1)
        >>> mean, std = functional_call(policy, dict(policy.named_parameters()), (torch.zeros(5, 2),))
        >>> mean.shape, std[0].tolist()
        (torch.Size([5, 2]), [0.10000000149011612, 0.10000000149011612])
    """

    def __init__(
        self,
        observation_dim: int,
        action_dim: int,
        hidden_sizes: Sequence[int] = (100, 100),
        *,
        action_scale: float = 1.0,
        init_log_std: float = 0.0,
    ) -> None:
        super().__init__()
        owner = "GaussianMLPPolicy"
        observation_dim = check_int(observation_dim, "observation_dim", owner, 1)
        action_dim = check_int(action_dim, "action_dim", owner, 1)
        if isinstance(hidden_sizes, (str, bytes)) or not isinstance(hidden_sizes, Sequence):
            raise InvalidParameterError(
                f"The 'hidden_sizes' parameter of {owner} must be a sequence of ints >= 1. "
                f"Got {describe(hidden_sizes)} instead."
            )
        sizes = [check_int(size, "hidden_sizes", owner, 1) for size in hidden_sizes]
        for name, value in (("action_scale", action_scale), ("init_log_std", init_log_std)):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
            ):
                raise InvalidParameterError(
                    f"The {name!r} parameter of {owner} must be a finite float. "
                    f"Got {describe(value)} instead."
                )
        if action_scale <= 0:
            raise InvalidParameterError(
                f"The 'action_scale' parameter of {owner} must be positive. Got {action_scale!r} instead."
            )
        layers: list[nn.Module] = []
        width = observation_dim
        for size in sizes:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, action_dim))
        self.mean = nn.Sequential(*layers)
        self.log_std = nn.Parameter(torch.full((action_dim,), float(init_log_std)))
        self.action_scale = float(action_scale)

    def forward(self, observations: Tensor) -> tuple[Tensor, Tensor]:
        mean = self.action_scale * self.mean(observations)
        std = self.action_scale * self.log_std.exp()
        return mean, std.expand_as(mean)


def gaussian_log_prob(
    model: nn.Module, params: Params, observations: Tensor, actions: Tensor
) -> Tensor:
    """``log π(a | o)`` of a Gaussian policy, summed over the action dimensions.

    Args:
        model: A module whose forward returns ``(mean, std)``, e.g. :class:`GaussianMLPPolicy`.
        params: Its parameters.
        observations: Shape ``(..., observation_dim)``.
        actions: Shape ``(..., action_dim)``.

    Returns:
        Shape ``(...)``.

    Example:
        >>> import torch
        >>> policy = GaussianMLPPolicy(2, 2)
        >>> params = {k: torch.zeros_like(v) for k, v in policy.named_parameters()}
        >>> round(float(gaussian_log_prob(policy, params, torch.zeros(2), torch.zeros(2))), 4)
        -1.8379
    """
    mean, std = functional_call(model, params, (observations,))
    if actions.shape != mean.shape:
        raise InvalidParameterError(
            "The 'actions' parameter of gaussian_log_prob must have the shape of the policy's "
            f"means {tuple(mean.shape)}. Got shape {tuple(actions.shape)} instead."
        )
    z = (actions - mean) / std
    return (-0.5 * z.square() - std.log() - LOG_SQRT_2PI).sum(dim=-1)
