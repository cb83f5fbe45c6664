"""Sampling trajectories of a Gaussian policy in many tasks at once."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap

from metahpo._validation import check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.metalearn._checks import check_params, describe_tensor
from metahpo.metalearn._point_env import PointNavigation
from metahpo.metalearn._policy import LOG_SQRT_2PI
from metahpo.metalearn._types import Params

__all__ = ["Trajectories", "rollout"]


@dataclass(frozen=True)
class Trajectories:
    """Trajectories of ``n`` episodes in each of several tasks.

    Attributes:
        observations: Observation before each step, ``(tasks, n, horizon, observation_dim)``.
        actions: The sampled (unclipped) actions, ``(tasks, n, horizon, action_dim)``.
        rewards: ``(tasks, n, horizon)``.
        log_probs: ``log π(a | o)`` under the policy that sampled them, ``(tasks, n, horizon)``.
    """

    observations: Tensor
    actions: Tensor
    rewards: Tensor
    log_probs: Tensor

    def returns(self) -> Tensor:
        """The undiscounted return of each episode, ``(tasks, n)``."""
        return self.rewards.sum(dim=-1)


def check_goals(goals: object, owner: str) -> Tensor:
    """A finite ``(n_tasks, 2)`` float tensor."""
    if (
        not isinstance(goals, Tensor)
        or goals.dim() != 2
        or goals.shape[0] < 1
        or goals.shape[1] != 2
        or not goals.is_floating_point()
        or not bool(torch.isfinite(goals).all())
    ):
        raise InvalidParameterError(
            f"The 'goals' parameter of {owner} must be a finite float tensor of shape "
            f"(n_tasks, 2). Got {describe_tensor(goals)} instead."
        )
    return goals


def rollout(
    model: nn.Module,
    params: Params,
    env: PointNavigation,
    goals: Tensor,
    n_trajectories: int,
    *,
    per_task: bool = False,
    generator: torch.Generator | None = None,
) -> Trajectories:
    """Run ``n_trajectories`` episodes of the policy in every task, all in one batch.

    Args:
        model: A policy whose forward returns ``(mean, std)``, e.g. :class:`GaussianMLPPolicy`.
        params: Its parameters: one set for every task, or with ``per_task=True`` a
            leading task dimension (e.g. parameters adapted to each task).
        env: The environment.
        goals: One goal per task, ``(n_tasks, 2)``.
        n_trajectories: Episodes per task.
        per_task: Whether ``params`` carry a leading task dimension.
        generator: The source of the action noise, for reproducible rollouts.

    Returns:
        The :class:`Trajectories`, detached from any autograd graph.

    Example:
        >>> import torch
        >>> from metahpo.metalearn import GaussianMLPPolicy, PointNavigation, rollout
        >>> env = PointNavigation(horizon=10)
        >>> policy = GaussianMLPPolicy(2, 2, action_scale=env.max_action)
        >>> params = dict(policy.named_parameters())
        >>> goals = env.sample_goals(3, torch.Generator().manual_seed(0))
        >>> batch = rollout(policy, params, env, goals, 4, generator=torch.Generator().manual_seed(1))
        >>> batch.observations.shape, batch.returns().shape
        (torch.Size([3, 4, 10, 2]), torch.Size([3, 4]))
    """
    owner = "rollout"
    params = check_params(params, owner)
    if not isinstance(env, PointNavigation):
        raise InvalidParameterError(
            f"The 'env' parameter of {owner} must be a PointNavigation. Got {describe(env)} instead."
        )
    goals = check_goals(goals, owner)
    n_trajectories = check_int(n_trajectories, "n_trajectories", owner, 1)
    n_tasks = goals.shape[0]
    if per_task and any(value.shape[:1] != (n_tasks,) for value in params.values()):
        raise InvalidParameterError(
            f"The 'params' parameter of {owner} must have a leading dimension of n_tasks = "
            f"{n_tasks} on every tensor when per_task=True."
        )
    detached = {name: value.detach() for name, value in params.items()}
    # The environment runs in the policy's precision: float64 goals for a float32 policy
    # (or the other way round) would meet in a matrix product of mixed dtypes.
    floating = [v.dtype for v in detached.values() if v.is_floating_point()]
    if floating:
        goals = goals.to(floating[0])

    def policy(observations: Tensor) -> tuple[Tensor, Tensor]:
        if per_task:
            return vmap(lambda p, o: functional_call(model, p, (o,)))(detached, observations)
        return functional_call(model, detached, (observations,))

    positions = env.reset((n_tasks, n_trajectories)).to(goals.dtype)
    targets = goals[:, None, :]
    observations, actions, rewards, log_probs = [], [], [], []
    with torch.no_grad():
        for _ in range(env.horizon):
            mean, std = policy(positions)
            noise = torch.randn(mean.shape, generator=generator, dtype=mean.dtype)
            action = mean + std * noise
            observations.append(positions)
            actions.append(action)
            log_probs.append((-0.5 * noise.square() - std.log() - LOG_SQRT_2PI).sum(dim=-1))
            positions, reward = env.step(positions, action, targets)
            rewards.append(reward)
    return Trajectories(
        observations=torch.stack(observations, dim=2),
        actions=torch.stack(actions, dim=2),
        rewards=torch.stack(rewards, dim=2),
        log_probs=torch.stack(log_probs, dim=2),
    )
