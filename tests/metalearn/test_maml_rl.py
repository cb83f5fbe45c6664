"""MAML for RL: the point environment, the Gaussian policy, the policy gradient, sampling."""

from __future__ import annotations

import functools

import pytest
import torch
from torch.func import functional_call

from metahpo.exceptions import InvalidParameterError
from metahpo.metalearn import (
    GaussianMLPPolicy,
    PointNavigation,
    adapt,
    clipped_surrogate_loss,
    clone_params,
    discounted_returns,
    fine_tune_returns,
    gaussian_log_prob,
    linear_feature_baseline,
    maml_loss,
    policy_gradient_batch,
    reinforce_loss,
    rollout,
    sample_maml_rl_tasks,
)


@pytest.fixture
def small() -> tuple[PointNavigation, GaussianMLPPolicy]:
    torch.manual_seed(0)
    env = PointNavigation(horizon=15)
    return env, GaussianMLPPolicy(2, 2, (16, 16), action_scale=env.max_action)


def test_step_clips_the_velocity_and_rewards_minus_the_distance():
    env = PointNavigation()
    positions = torch.tensor([[0.0, 0.0], [0.2, -0.1], [0.0, 0.0]])
    actions = torch.tensor([[1.0, -0.05], [-0.3, 0.02], [0.1, 0.1]])
    goals = torch.tensor([[0.3, 0.0], [-0.5, 0.5], [0.1, 0.1]])
    moved, rewards = env.step(positions, actions, goals)
    expected = torch.tensor([[0.1, -0.05], [0.1, -0.08], [0.1, 0.1]])
    torch.testing.assert_close(moved, expected)
    torch.testing.assert_close(rewards, -torch.linalg.vector_norm(expected - goals, dim=-1))
    assert rewards[2].item() == pytest.approx(0.0, abs=1e-7)
    assert torch.equal(env.reset((3, 4)), torch.zeros(3, 4, 2))


def test_goals_are_uniform_in_the_square_and_seeded():
    env = PointNavigation()
    goals = env.sample_goals(4000, torch.Generator().manual_seed(0))
    assert goals.shape == (4000, 2)
    assert goals.min() >= -0.5 and goals.max() <= 0.5
    assert goals.min() < -0.49 and goals.max() > 0.49
    assert abs(float(goals.mean())) < 0.02
    again = env.sample_goals(4000, torch.Generator().manual_seed(0))
    assert torch.equal(goals, again)


def test_rollout_follows_the_dynamics(small):
    env, policy = small
    goals = torch.tensor([[0.3, -0.2], [-0.1, 0.4]])
    batch = rollout(
        policy,
        dict(policy.named_parameters()),
        env,
        goals,
        3,
        generator=torch.Generator().manual_seed(1),
    )
    assert batch.observations.shape == (2, 3, 15, 2) and batch.rewards.shape == (2, 3, 15)
    assert torch.equal(batch.observations[:, :, 0], torch.zeros(2, 3, 2))
    steps = batch.observations[:, :, 1:] - batch.observations[:, :, :-1]
    torch.testing.assert_close(steps, batch.actions[:, :, :-1].clamp(-0.1, 0.1))
    final = batch.observations[:, :, -1] + batch.actions[:, :, -1].clamp(-0.1, 0.1)
    torch.testing.assert_close(
        batch.rewards[:, :, -1], -torch.linalg.vector_norm(final - goals[:, None], dim=-1)
    )
    torch.testing.assert_close(batch.returns(), batch.rewards.sum(-1))


def test_log_prob_matches_torch_distributions(small):
    _, policy = small
    params = {
        name: value + 0.1 * torch.randn_like(value) for name, value in policy.named_parameters()
    }
    observations = torch.randn(5, 7, 2)
    actions = 0.2 * torch.randn(5, 7, 2)
    mean, std = functional_call(policy, params, (observations,))
    expected = torch.distributions.Normal(mean, std).log_prob(actions).sum(-1)
    torch.testing.assert_close(gaussian_log_prob(policy, params, observations, actions), expected)
    assert std.shape == mean.shape
    torch.testing.assert_close(std[0, 0], 0.1 * params["log_std"].exp())


def test_rollout_records_the_log_prob_of_its_actions(small):
    env, policy = small
    params = dict(policy.named_parameters())
    batch = rollout(
        policy,
        params,
        env,
        torch.tensor([[0.2, 0.2]]),
        4,
        generator=torch.Generator().manual_seed(3),
    )
    with torch.no_grad():
        recomputed = gaussian_log_prob(policy, params, batch.observations, batch.actions)
    torch.testing.assert_close(batch.log_probs, recomputed)


def test_discounted_returns_match_a_loop():
    rewards = torch.randn(3, 4, 12, dtype=torch.float64)
    expected = torch.zeros_like(rewards)
    running = torch.zeros(3, 4, dtype=torch.float64)
    for t in reversed(range(12)):
        running = rewards[..., t] + 0.9 * running
        expected[..., t] = running
    torch.testing.assert_close(discounted_returns(rewards, 0.9), expected)


def test_linear_baseline_fits_returns_in_its_feature_span():
    observations = torch.randn(2, 6, 10, 2, dtype=torch.float64)
    time = torch.arange(10, dtype=torch.float64) / 10
    returns = 3.0 * observations[..., 0] - observations[..., 1].square() + 2.0 * time**3 - 1.0
    fitted = linear_feature_baseline(observations, returns, regularization=1e-10)
    torch.testing.assert_close(fitted, returns, atol=1e-5, rtol=0)


def test_one_policy_gradient_step_moves_the_mean_toward_the_goal():
    torch.manual_seed(0)
    env = PointNavigation(horizon=10)
    policy = GaussianMLPPolicy(2, 2, (16,), action_scale=env.max_action)
    params = {name: value.detach() for name, value in policy.named_parameters()}
    for goal in ([0.4, 0.0], [-0.3, 0.3], [0.0, -0.45]):
        goals = torch.tensor([goal])
        batch = policy_gradient_batch(
            rollout(policy, params, env, goals, 200, generator=torch.Generator().manual_seed(1))
        )
        one_task = tuple(part[0] for part in batch)
        stepped = adapt(policy, params, reinforce_loss, one_task, steps=1, inner_lr=0.05)
        origin = torch.zeros(1, 2)
        before = functional_call(policy, params, (origin,))[0]
        after = functional_call(policy, stepped, (origin,))[0]
        assert float(torch.cosine_similarity(after - before, goals)) > 0.9
        # Ascending the surrogate instead moves the mean away from the goal.
        away = adapt(policy, params, reinforce_loss, one_task, steps=1, inner_lr=-0.05)
        away_mean = functional_call(policy, away, (origin,))[0]
        assert float(torch.cosine_similarity(away_mean - before, goals)) < -0.9


def test_fine_tuning_improves_the_return():
    torch.manual_seed(0)
    env = PointNavigation(horizon=20)
    policy = GaussianMLPPolicy(2, 2, (32, 32), action_scale=env.max_action)
    goals = torch.tensor([[0.4, 0.3], [-0.4, 0.2], [0.1, -0.45]])
    returns = fine_tune_returns(
        policy,
        dict(policy.named_parameters()),
        env,
        goals,
        steps=3,
        inner_lr=0.2,
        n_trajectories=40,
        generator=torch.Generator().manual_seed(0),
    )
    assert returns.shape == (4, 3)
    assert float(returns[3].mean()) > float(returns[0].mean()) + 2.0


def test_query_set_is_sampled_by_the_parameters_maml_loss_recomputes(small):
    env, policy = small
    params = clone_params(policy)
    generator = torch.Generator().manual_seed(0)
    tasks = sample_maml_rl_tasks(
        policy,
        params,
        env,
        env.sample_goals(3, generator),
        n_trajectories=4,
        inner_lr=0.05,
        generator=generator,
    )
    for task in tasks:
        adapted = adapt(policy, params, reinforce_loss, task.support, 1, 0.05)
        with torch.no_grad():
            log_probs = gaussian_log_prob(policy, adapted, task.query[0], task.query[1])
        torch.testing.assert_close(log_probs, task.query[3])
    # At the sampling parameters the clipped surrogate has the REINFORCE gradient.
    clipped = maml_loss(
        policy, params, tasks, reinforce_loss, inner_lr=0.05, query_loss_fn=clipped_surrogate_loss
    )
    (clipped_grad,) = torch.autograd.grad(clipped, [params["log_std"]])
    plain = maml_loss(policy, params, tasks, reinforce_loss, inner_lr=0.05)
    (plain_grad,) = torch.autograd.grad(plain, [params["log_std"]])
    torch.testing.assert_close(clipped_grad, plain_grad)


def test_pretraining_tasks_have_no_support_set(small):
    env, policy = small
    tasks = sample_maml_rl_tasks(
        policy,
        dict(policy.named_parameters()),
        env,
        torch.tensor([[0.1, 0.2], [0.3, -0.1]]),
        n_trajectories=2,
        inner_steps=0,
        generator=torch.Generator().manual_seed(0),
    )
    assert tasks[0].support == () and tasks[0].query[0].shape == (2, 15, 2)
    loss = maml_loss(policy, clone_params(policy), tasks, reinforce_loss, inner_steps=0)
    assert loss.shape == ()


def test_sampling_and_fine_tuning_are_deterministic_with_a_seed(small):
    env, policy = small
    params = dict(policy.named_parameters())
    goals = torch.tensor([[0.1, 0.2], [0.3, -0.1]])

    def sample(seed: int) -> torch.Tensor:
        tasks = sample_maml_rl_tasks(
            policy,
            params,
            env,
            goals,
            n_trajectories=3,
            generator=torch.Generator().manual_seed(seed),
        )
        return torch.cat([t.flatten() for task in tasks for t in (*task.support, *task.query)])

    assert torch.equal(sample(5), sample(5))
    assert not torch.equal(sample(5), sample(6))
    tune = functools.partial(
        fine_tune_returns, policy, params, env, goals, steps=2, n_trajectories=3
    )
    assert torch.equal(
        tune(generator=torch.Generator().manual_seed(1)),
        tune(generator=torch.Generator().manual_seed(1)),
    )


def test_bad_input_is_refused_with_the_parameter_named(small):
    env, policy = small
    params = dict(policy.named_parameters())
    goals = torch.tensor([[0.1, 0.2]])
    with pytest.raises(InvalidParameterError, match="'horizon' parameter of PointNavigation"):
        PointNavigation(horizon=0)
    with pytest.raises(InvalidParameterError, match="'max_action' parameter of PointNavigation"):
        PointNavigation(max_action=-0.1)
    with pytest.raises(InvalidParameterError, match="'goal_bound' parameter"):
        PointNavigation(goal_bound=float("inf"))
    with pytest.raises(
        InvalidParameterError, match=r"'actions' parameter of PointNavigation\.step"
    ):
        env.step(torch.zeros(2), torch.zeros(3), torch.zeros(2))
    with pytest.raises(
        InvalidParameterError, match="'hidden_sizes' parameter of GaussianMLPPolicy"
    ):
        GaussianMLPPolicy(2, 2, (16, 0))
    with pytest.raises(InvalidParameterError, match="'action_scale' parameter"):
        GaussianMLPPolicy(2, 2, action_scale=0.0)
    with pytest.raises(InvalidParameterError, match="'actions' parameter of gaussian_log_prob"):
        gaussian_log_prob(policy, params, torch.zeros(4, 2), torch.zeros(4, 3))
    with pytest.raises(InvalidParameterError, match="'goals' parameter of rollout"):
        rollout(policy, params, env, torch.zeros(3), 2)
    with pytest.raises(InvalidParameterError, match="'n_trajectories' parameter of rollout"):
        rollout(policy, params, env, goals, 0)
    with pytest.raises(InvalidParameterError, match="leading dimension of n_tasks"):
        rollout(policy, params, env, goals, 2, per_task=True)
    with pytest.raises(InvalidParameterError, match="'env' parameter of sample_maml_rl_tasks"):
        sample_maml_rl_tasks(policy, params, "point", goals)
    with pytest.raises(InvalidParameterError, match="'discount' parameter of sample_maml_rl_tasks"):
        sample_maml_rl_tasks(policy, params, env, goals, discount=1.5)
    with pytest.raises(InvalidParameterError, match="'inner_lr' parameter of fine_tune_returns"):
        fine_tune_returns(policy, params, env, goals, inner_lr=float("nan"))
    with pytest.raises(InvalidParameterError, match="'normalize_advantages' parameter"):
        fine_tune_returns(policy, params, env, goals, normalize_advantages="yes")
    with pytest.raises(InvalidParameterError, match="'batch' parameter of reinforce_loss"):
        reinforce_loss(policy, params, (torch.zeros(1, 2), torch.zeros(1, 2)))
    batch = (torch.zeros(1, 2), torch.zeros(1, 2), torch.zeros(1), torch.zeros(1))
    with pytest.raises(InvalidParameterError, match="'clip' parameter of clipped_surrogate_loss"):
        clipped_surrogate_loss(policy, params, batch, clip=0.0)
    with pytest.raises(InvalidParameterError, match="'trajectories' parameter"):
        policy_gradient_batch(batch)


def test_float64_goals_run_with_a_float32_policy(small) -> None:
    env, policy = small
    params = {name: value.detach() for name, value in policy.named_parameters()}
    batch = rollout(policy, params, env, torch.zeros(2, 2, dtype=torch.float64), 2)
    assert batch is not None


def test_normalised_advantages_of_a_single_step_are_zero_not_nan(small) -> None:
    _, policy = small
    params = {name: value.detach() for name, value in policy.named_parameters()}
    one_step = PointNavigation(horizon=1)
    trajectories = rollout(policy, params, one_step, torch.zeros(2, 2), 1)
    advantages = policy_gradient_batch(trajectories, normalize=True)[2]
    assert torch.all(torch.isfinite(advantages)) and torch.all(advantages == 0)
