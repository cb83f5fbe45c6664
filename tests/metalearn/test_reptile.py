"""Reptile against its definition."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from metahpo.metalearn import Task, adapt, clone_params, mse_loss, reptile_gradient, reptile_step


def _tasks(n_tasks: int, n_points: int = 6) -> list[Task]:
    generator = torch.Generator().manual_seed(0)
    out = []
    for _ in range(n_tasks):
        x = torch.randn(n_points, 3, generator=generator, dtype=torch.float64)
        y = x @ torch.randn(3, 1, generator=generator, dtype=torch.float64)
        out.append(Task((x, y), (x, y)))
    return out


def test_one_step_reptile_on_a_linear_model_is_the_mean_support_gradient():
    # With one inner step, θ − φ_i = α ∇L_i(θ): Reptile's direction is α times the mean gradient.
    torch.manual_seed(0)
    model = nn.Linear(3, 1).double()
    params = clone_params(model, requires_grad=False)
    tasks = _tasks(4)
    direction = reptile_gradient(model, params, tasks, mse_loss, inner_steps=1, inner_lr=0.1)
    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    mean_grad = {k: torch.zeros_like(v) for k, v in params.items()}
    for task in tasks:
        loss = mse_loss(model, leaves, task.support)
        for name, g in zip(leaves, torch.autograd.grad(loss, list(leaves.values())), strict=True):
            mean_grad[name] += g / len(tasks)
    for name in params:
        torch.testing.assert_close(direction[name], 0.1 * mean_grad[name], rtol=0, atol=1e-12)


@pytest.mark.parametrize("vectorize", [True, False])
def test_reptile_step_moves_toward_the_mean_adapted_weights(vectorize):
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double()
    params = clone_params(model, requires_grad=False)
    tasks = _tasks(3)
    adapted = [adapt(model, params, mse_loss, t.support, 4, 0.05, first_order=True) for t in tasks]
    mean_adapted = {k: torch.stack([a[k] for a in adapted]).mean(0) for k in params}
    for epsilon in (1.0, 0.25):
        new = reptile_step(
            model,
            params,
            tasks,
            mse_loss,
            inner_steps=4,
            inner_lr=0.05,
            outer_lr=epsilon,
            vectorize=vectorize,
        )
        for name in params:
            expected = params[name] + epsilon * (mean_adapted[name] - params[name])
            torch.testing.assert_close(new[name], expected, rtol=0, atol=1e-12)
            assert not new[name].requires_grad


def test_reptile_refuses_zero_inner_steps():
    model = nn.Linear(3, 1).double()
    with pytest.raises(ValueError, match="inner_steps"):
        reptile_gradient(model, clone_params(model), _tasks(2), mse_loss, inner_steps=0)
