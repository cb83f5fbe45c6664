"""MAML for reinforcement learning (Finn et al., 2017, algorithm 3): sampling and fine-tuning.

The meta-objective itself is :func:`maml_loss` with :func:`reinforce_loss` as the inner
loss: :func:`sample_maml_rl_tasks` turns goals into :class:`Task` records whose support
set was sampled with θ and whose query set was sampled with the adapted parameters.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.func import vmap

from metahpo._validation import check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.metalearn._adapt import adapt
from metahpo.metalearn._checks import check_inner_lr, check_params
from metahpo.metalearn._point_env import PointNavigation
from metahpo.metalearn._policy_gradient import (
    check_discount,
    policy_gradient_batch,
    reinforce_loss,
)
from metahpo.metalearn._rollout import check_goals, rollout
from metahpo.metalearn._types import Batch, InnerLR, Params, Task

__all__ = ["fine_tune_returns", "sample_maml_rl_tasks"]


def _check_env(env: object, owner: str) -> PointNavigation:
    if not isinstance(env, PointNavigation):
        raise InvalidParameterError(
            f"The 'env' parameter of {owner} must be a PointNavigation. Got {describe(env)} instead."
        )
    return env


def _check_bool(value: object, name: str, owner: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be True or False. Got {describe(value)} instead."
        )
    return value


def _adapt_each_task(
    model: nn.Module,
    params: Params,
    batch: Batch,
    steps: int,
    inner_lr: float | dict[str, Tensor],
    per_task: bool,
) -> Params:
    """``adapt`` on each task's slice of ``batch``, without a graph to θ."""

    def one(task_params: Params, task_batch: Batch) -> Params:
        return adapt(
            model, task_params, reinforce_loss, task_batch, steps, inner_lr, first_order=True
        )

    detached = {name: value.detach() for name, value in params.items()}
    adapted = vmap(one, in_dims=(0 if per_task else None, 0))(detached, batch)
    return {name: value.detach() for name, value in adapted.items()}


def sample_maml_rl_tasks(
    model: nn.Module,
    params: Params,
    env: PointNavigation,
    goals: Tensor,
    *,
    n_trajectories: int = 20,
    inner_steps: int = 1,
    inner_lr: InnerLR = 0.1,
    discount: float = 0.99,
    normalize_advantages: bool = False,
    generator: torch.Generator | None = None,
) -> list[Task]:
    """One MAML-RL meta-batch: for each goal, trajectories before and after adaptation.

    For each task, ``n_trajectories`` episodes are sampled with θ (the support set); θ
    takes ``inner_steps`` policy-gradient steps on them (:func:`reinforce_loss`, step
    ``inner_lr``); ``n_trajectories`` more episodes are sampled with the adapted
    parameters (the query set). Both sets are :func:`policy_gradient_batch` tuples.
    Hand the tasks to :func:`maml_loss` with ``loss_fn=reinforce_loss``, the same
    ``inner_steps`` and ``inner_lr``, and a ``query_loss_fn`` (:func:`reinforce_loss`
    or :func:`clipped_surrogate_loss`). With ``inner_steps=0`` no support set is sampled
    (``task.support == ()``), the multi-task policy-gradient batch of a non-adaptive
    policy.

    Args:
        model: The policy, e.g. :class:`GaussianMLPPolicy`.
        params: The meta-parameters θ.
        env: The environment.
        goals: One goal per task, ``(n_tasks, 2)``.
        n_trajectories: Episodes per task and per set.
        inner_steps: Policy-gradient steps of the inner loop.
        inner_lr: The inner step size α: a float, or one tensor per parameter (Meta-SGD).
        discount: The discount factor γ of the advantages.
        normalize_advantages: Standardise each task's advantages (rllab's ``center_adv``);
            see :func:`policy_gradient_batch`.
        generator: The source of the action noise.

    Returns:
        One :class:`Task` per goal.

    Example:
        >>> import torch
        >>> from metahpo.metalearn import (GaussianMLPPolicy, PointNavigation, clone_params,
        ...     clipped_surrogate_loss, maml_loss, reinforce_loss, sample_maml_rl_tasks)
        >>> env = PointNavigation(horizon=20)
        >>> policy = GaussianMLPPolicy(2, 2, (32, 32), action_scale=env.max_action)
        >>> params = clone_params(policy)
        >>> generator = torch.Generator().manual_seed(0)
        >>> tasks = sample_maml_rl_tasks(policy, params, env, env.sample_goals(4, generator),
        ...                              n_trajectories=5, inner_lr=0.1, generator=generator)
        >>> loss = maml_loss(policy, params, tasks, reinforce_loss, inner_lr=0.1,
        ...                  query_loss_fn=clipped_surrogate_loss)
        >>> loss.backward()
        >>> params["log_std"].grad.shape
        torch.Size([2])
    """
    owner = "sample_maml_rl_tasks"
    params = check_params(params, owner)
    env = _check_env(env, owner)
    goals = check_goals(goals, owner)
    n_trajectories = check_int(n_trajectories, "n_trajectories", owner, 1)
    inner_steps = check_int(inner_steps, "inner_steps", owner, 0)
    lr = check_inner_lr(inner_lr, params, owner)
    gamma = check_discount(discount, owner)
    normalize = _check_bool(normalize_advantages, "normalize_advantages", owner)

    support: Batch = ()
    adapted, per_task = params, False
    if inner_steps > 0:
        before = rollout(model, params, env, goals, n_trajectories, generator=generator)
        support = policy_gradient_batch(before, discount=gamma, normalize=normalize)
        adapted = _adapt_each_task(model, params, support, inner_steps, lr, per_task=False)
        per_task = True
    after = rollout(
        model, adapted, env, goals, n_trajectories, per_task=per_task, generator=generator
    )
    query = policy_gradient_batch(after, discount=gamma, normalize=normalize)
    return [
        Task(
            support=tuple(part[index] for part in support),
            query=tuple(part[index] for part in query),
        )
        for index in range(goals.shape[0])
    ]


def fine_tune_returns(
    model: nn.Module,
    params: Params,
    env: PointNavigation,
    goals: Tensor,
    *,
    steps: int = 3,
    inner_lr: InnerLR = 0.1,
    n_trajectories: int = 20,
    discount: float = 0.99,
    normalize_advantages: bool = False,
    generator: torch.Generator | None = None,
) -> Tensor:
    """The mean return in each task before and after each of ``steps`` policy-gradient steps.

    Step ``k`` samples ``n_trajectories`` episodes with the current parameters of each
    task, records their mean return, and takes one :func:`reinforce_loss` step of size
    ``inner_lr`` on them (the paper's evaluation, Finn et al., 2017, figure 5).

    Args:
        model: The policy.
        params: The parameters to start from (shared by every task).
        env: The environment.
        goals: The test goals, ``(n_tasks, 2)``.
        steps: Gradient steps, ``>= 0``.
        inner_lr: The fine-tuning step size: a float, or one tensor per parameter.
        n_trajectories: Episodes per task and per step.
        discount: The discount factor γ of the advantages.
        normalize_advantages: Standardise each task's advantages, as in training.
        generator: The source of the action noise.

    Returns:
        Shape ``(steps + 1, n_tasks)``: row ``k`` holds the mean return after ``k`` steps.

    Example:
        >>> import torch
        >>> from metahpo.metalearn import GaussianMLPPolicy, PointNavigation, fine_tune_returns
        >>> env = PointNavigation(horizon=20)
        >>> policy = GaussianMLPPolicy(2, 2, (32, 32), action_scale=env.max_action)
        >>> returns = fine_tune_returns(policy, dict(policy.named_parameters()), env,
        ...                             torch.tensor([[0.3, -0.2], [0.0, 0.4]]), steps=2,
        ...                             generator=torch.Generator().manual_seed(0))
        >>> returns.shape
        torch.Size([3, 2])
    """
    owner = "fine_tune_returns"
    params = check_params(params, owner)
    env = _check_env(env, owner)
    goals = check_goals(goals, owner)
    steps = check_int(steps, "steps", owner, 0)
    n_trajectories = check_int(n_trajectories, "n_trajectories", owner, 1)
    lr = check_inner_lr(inner_lr, params, owner)
    gamma = check_discount(discount, owner)
    normalize = _check_bool(normalize_advantages, "normalize_advantages", owner)

    n_tasks = goals.shape[0]
    current = {
        name: value.detach().expand(n_tasks, *value.shape).clone() for name, value in params.items()
    }
    returns = []
    for step in range(steps + 1):
        trajectories = rollout(
            model, current, env, goals, n_trajectories, per_task=True, generator=generator
        )
        returns.append(trajectories.returns().mean(dim=1))
        if step < steps:
            batch = policy_gradient_batch(trajectories, discount=gamma, normalize=normalize)
            current = _adapt_each_task(model, current, batch, 1, lr, per_task=True)
    return torch.stack(returns)
