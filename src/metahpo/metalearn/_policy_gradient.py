"""Policy-gradient losses with a linear feature baseline, as ``loss_fn(model, params, batch)``."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.metalearn._checks import describe_tensor
from metahpo.metalearn._policy import gaussian_log_prob
from metahpo.metalearn._rollout import Trajectories
from metahpo.metalearn._types import Batch, Params

__all__ = [
    "clipped_surrogate_loss",
    "discounted_returns",
    "linear_feature_baseline",
    "policy_gradient_batch",
    "reinforce_loss",
]


def check_discount(discount: object, owner: str) -> float:
    """A discount factor in ``[0, 1]``."""
    if (
        isinstance(discount, bool)
        or not isinstance(discount, (int, float))
        or not 0.0 <= discount <= 1.0
    ):
        raise InvalidParameterError(
            f"The 'discount' parameter of {owner} must be a float in [0, 1]. "
            f"Got {describe(discount)} instead."
        )
    return float(discount)


def discounted_returns(rewards: Tensor, discount: float) -> Tensor:
    """Rewards-to-go ``R_t = Σ_{t' ≥ t} γ^{t'−t} r_{t'}`` along the last dimension.

    Example:
        >>> import torch
        >>> discounted_returns(torch.tensor([1.0, 1.0, 1.0]), 0.5).tolist()
        [1.75, 1.5, 1.0]
    """
    gamma = check_discount(discount, "discounted_returns")
    horizon = rewards.shape[-1]
    steps = torch.arange(horizon, dtype=rewards.dtype, device=rewards.device)
    lag = steps[None, :] - steps[:, None]  # lag[t, t'] = t' − t
    weights = torch.where(lag >= 0, torch.full_like(lag, gamma).pow(lag.clamp(min=0)), 0.0)
    return rewards @ weights.T


def linear_feature_baseline(
    observations: Tensor, returns: Tensor, *, regularization: float = 1e-5
) -> Tensor:
    """Fit and evaluate the linear feature baseline of Duan et al. (2016) on one batch per task.

    Features of step ``t`` of an episode of length ``T``: ``o, o², t/T, (t/T)², (t/T)³, 1``
    (rllab's ``LinearFeatureBaseline``); a ridge regression per task fits the returns.

    Args:
        observations: ``(tasks, n, T, observation_dim)``.
        returns: The targets, ``(tasks, n, T)``.
        regularization: The ridge penalty.

    Returns:
        The fitted values, ``(tasks, n, T)``.
    """
    if (
        not isinstance(observations, Tensor)
        or not isinstance(returns, Tensor)
        or observations.dim() != 4
        or returns.shape != observations.shape[:3]
    ):
        raise InvalidParameterError(
            "The 'observations' and 'returns' parameters of linear_feature_baseline must be "
            "tensors of shapes (tasks, n, T, observation_dim) and (tasks, n, T). Got "
            f"{describe_tensor(observations)} and {describe_tensor(returns)} instead."
        )
    tasks, n, horizon, _ = observations.shape
    clipped = observations.clamp(-10.0, 10.0)
    time = torch.arange(horizon, dtype=observations.dtype) / horizon
    time = time[None, None, :, None].expand(tasks, n, horizon, 1)
    features = torch.cat(
        [clipped, clipped.square(), time, time.square(), time.pow(3), torch.ones_like(time)], dim=-1
    )
    # Float64 normal equations: the time features are nearly collinear.
    design = features.reshape(tasks, n * horizon, -1).double()
    targets = returns.reshape(tasks, n * horizon, 1).double()
    gram = design.transpose(1, 2) @ design
    eye = torch.eye(gram.shape[-1], dtype=gram.dtype)
    weights = torch.linalg.solve(gram + regularization * eye, design.transpose(1, 2) @ targets)
    return (design @ weights).reshape(tasks, n, horizon).to(returns.dtype)


def policy_gradient_batch(
    trajectories: Trajectories, *, discount: float = 0.99, normalize: bool = False
) -> Batch:
    """The data of a policy-gradient step: ``(observations, actions, advantages, log_probs)``.

    Advantages are the discounted rewards-to-go minus the linear feature baseline, fitted
    per task; with ``normalize`` they are centred and scaled to unit variance per task
    (rllab's ``center_adv``). Raw advantages are the default: their scale, and so the
    length of a gradient step, shrinks as a task's policy improves, so repeated steps
    settle instead of overshooting (standardised advantages give every step the same
    length). Every tensor keeps the leading task dimension.

    Args:
        trajectories: Sampled episodes, from :func:`rollout`.
        discount: The discount factor γ.
        normalize: Standardise the advantages of each task.

    Returns:
        A tuple of tensors shaped ``(tasks, n, T, ...)``; index the first dimension for
        one task's batch, the ``batch`` of :func:`reinforce_loss`.
    """
    owner = "policy_gradient_batch"
    if not isinstance(trajectories, Trajectories):
        raise InvalidParameterError(
            f"The 'trajectories' parameter of {owner} must be Trajectories (from rollout). "
            f"Got {describe_tensor(trajectories)} instead."
        )
    gamma = check_discount(discount, owner)
    returns = discounted_returns(trajectories.rewards, gamma)
    advantages = returns - linear_feature_baseline(trajectories.observations, returns)
    if normalize:
        mean = advantages.mean(dim=(1, 2), keepdim=True)
        # A task of one step has no spread (its unbiased estimate is NaN): its advantage is 0.
        per_task = advantages[0].numel()
        std = advantages.std(dim=(1, 2), keepdim=True, correction=1 if per_task > 1 else 0)
        advantages = (advantages - mean) / (std + 1e-8)
    return (trajectories.observations, trajectories.actions, advantages, trajectories.log_probs)


def _unpack(batch: Batch, owner: str) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    if len(batch) != 4:
        raise InvalidParameterError(
            f"The 'batch' parameter of {owner} must be (observations, actions, advantages, "
            f"log_probs), as made by policy_gradient_batch. Got a tuple of {len(batch)} tensors instead."
        )
    return batch[0], batch[1], batch[2], batch[3]


def reinforce_loss(model: nn.Module, params: Params, batch: Batch) -> Tensor:
    """The vanilla policy-gradient surrogate ``−mean_t log π(a_t | o_t) · A_t`` (REINFORCE).

    Its gradient is the policy-gradient estimate (Williams, 1992) on on-policy data; the
    inner step of MAML for RL. ``batch`` is one task's slice of
    :func:`policy_gradient_batch` (its behaviour log-probabilities are not used).

    Example:
        >>> import torch
        >>> from metahpo.metalearn import GaussianMLPPolicy
        >>> policy = GaussianMLPPolicy(2, 2)
        >>> params = {k: torch.zeros_like(v) for k, v in policy.named_parameters()}
        >>> batch = (torch.zeros(1, 1, 2), torch.ones(1, 1, 2), torch.ones(1, 1), torch.zeros(1, 1))
        >>> round(float(reinforce_loss(policy, params, batch)), 4)
        2.8379
    """
    observations, actions, advantages, _ = _unpack(batch, "reinforce_loss")
    log_probs = gaussian_log_prob(model, params, observations, actions)
    return -(log_probs * advantages).mean()


def clipped_surrogate_loss(
    model: nn.Module, params: Params, batch: Batch, clip: float = 0.2
) -> Tensor:
    """PPO's clipped surrogate ``−mean min(ρ A, clip(ρ, 1 − ε, 1 + ε) A)`` (Schulman et al., 2017).

    ``ρ = π(a | o) / π_old(a | o)`` with the behaviour log-probabilities of ``batch``. At
    the sampling parameters its gradient equals that of :func:`reinforce_loss`; the clip
    stops repeated updates on the same data from moving the policy far. Use
    ``functools.partial(clipped_surrogate_loss, clip=...)`` for another ``ε``.
    """
    if isinstance(clip, bool) or not isinstance(clip, (int, float)) or not 0 < clip < math.inf:
        raise InvalidParameterError(
            "The 'clip' parameter of clipped_surrogate_loss must be a positive float. "
            f"Got {describe(clip)} instead."
        )
    observations, actions, advantages, behaviour = _unpack(batch, "clipped_surrogate_loss")
    ratio = (gaussian_log_prob(model, params, observations, actions) - behaviour).exp()
    clipped = ratio.clamp(1.0 - clip, 1.0 + clip)
    return -torch.minimum(ratio * advantages, clipped * advantages).mean()
