"""gradcheck through the second-order path, vmap against the loop, purity."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from metahpo.metalearn import (
    Task,
    adapt,
    clone_params,
    cross_entropy_loss,
    inner_lr_like,
    maml_loss,
    meta_gradient,
    mse_loss,
    task_losses,
)


def _mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 1)).double()


def _regression_tasks(
    n_tasks: int, n_support: int = 4, n_query: int = 5, seed: int = 1
) -> list[Task]:
    generator = torch.Generator().manual_seed(seed)
    tasks = []
    for _ in range(n_tasks):
        xs = torch.randn(n_support, 2, generator=generator, dtype=torch.float64)
        xq = torch.randn(n_query, 2, generator=generator, dtype=torch.float64)
        w = torch.randn(2, 1, generator=generator, dtype=torch.float64)
        tasks.append(Task((xs, torch.sin(xs @ w)), (xq, torch.sin(xq @ w))))
    return tasks


def test_gradcheck_through_second_order_path():
    model = _mlp()
    names = [name for name, _ in model.named_parameters()]
    tasks = _regression_tasks(2)
    start = [p.detach().clone().requires_grad_(True) for p in model.parameters()]
    rates = [torch.full_like(p, 0.1).requires_grad_(True) for p in start]

    def objective(*flat: torch.Tensor) -> torch.Tensor:
        params = dict(zip(names, flat[: len(names)], strict=True))
        inner_lr = dict(zip(names, flat[len(names) :], strict=True))
        return maml_loss(model, params, tasks, mse_loss, inner_steps=2, inner_lr=inner_lr)

    assert torch.autograd.gradcheck(objective, (*start, *rates), eps=1e-6, atol=1e-7)
    # Second derivatives of the meta-objective too (the Hessian-vector path).
    assert torch.autograd.gradgradcheck(objective, (*start, *rates), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("first_order", [False, True])
def test_vmap_batch_equals_loop(first_order):
    model = _mlp()
    params = clone_params(model, requires_grad=False)
    tasks = _regression_tasks(5)
    kwargs = {"inner_steps": 3, "inner_lr": 0.2, "first_order": first_order}
    batched = task_losses(model, params, tasks, mse_loss, vectorize=True, **kwargs)
    looped = task_losses(model, params, tasks, mse_loss, vectorize=False, **kwargs)
    torch.testing.assert_close(batched, looped, rtol=0, atol=1e-12)
    grad_batched = meta_gradient(model, params, tasks, mse_loss, vectorize=True, **kwargs)
    grad_looped = meta_gradient(model, params, tasks, mse_loss, vectorize=False, **kwargs)
    for name in params:
        torch.testing.assert_close(
            grad_batched.params[name], grad_looped.params[name], rtol=0, atol=1e-12
        )


def test_vmap_equals_loop_with_meta_sgd_and_a_cnn():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 3),
    ).double()
    params = clone_params(model, requires_grad=False)
    rates = inner_lr_like(params, 0.05, requires_grad=False)
    generator = torch.Generator().manual_seed(0)
    tasks = [
        Task(
            (
                torch.randn(6, 1, 8, 8, generator=generator, dtype=torch.float64),
                torch.arange(6) % 3,
            ),
            (
                torch.randn(9, 1, 8, 8, generator=generator, dtype=torch.float64),
                torch.arange(9) % 3,
            ),
        )
        for _ in range(3)
    ]
    kwargs = {"inner_steps": 2, "inner_lr": rates}
    batched = meta_gradient(model, params, tasks, cross_entropy_loss, vectorize=True, **kwargs)
    looped = meta_gradient(model, params, tasks, cross_entropy_loss, vectorize=False, **kwargs)
    torch.testing.assert_close(batched.loss, looped.loss, rtol=0, atol=1e-12)
    for name in params:
        torch.testing.assert_close(batched.params[name], looped.params[name], rtol=0, atol=1e-12)
        torch.testing.assert_close(
            batched.inner_lr[name], looped.inner_lr[name], rtol=0, atol=1e-12
        )


def test_unequal_task_shapes_fall_back_to_a_loop():
    model = _mlp()
    params = clone_params(model, requires_grad=False)
    tasks = _regression_tasks(2, n_support=4) + _regression_tasks(2, n_support=7, seed=2)
    losses = task_losses(model, params, tasks, mse_loss, inner_steps=2, inner_lr=0.1)
    expected = torch.stack(
        [mse_loss(model, adapt(model, params, mse_loss, t.support, 2, 0.1), t.query) for t in tasks]
    )
    torch.testing.assert_close(losses, expected, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="cannot be stacked"):
        task_losses(model, params, tasks, mse_loss, vectorize=True)


def test_functions_are_pure():
    model = _mlp()
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    params = dict(model.named_parameters())
    tasks = _regression_tasks(3)
    adapted = adapt(model, params, mse_loss, tasks[0].support, steps=3, inner_lr=0.5)
    meta_gradient(model, params, tasks, mse_loss, inner_steps=2, inner_lr=0.5)
    maml_loss(model, params, tasks, mse_loss, inner_steps=2, inner_lr=0.5).backward()
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name])
    assert not torch.equal(adapted["0.weight"], params["0.weight"])


def test_adapt_zero_steps_is_identity_and_steps_lower_the_support_loss():
    model = _mlp()
    params = clone_params(model, requires_grad=False)
    support = _regression_tasks(1)[0].support
    assert adapt(model, params, mse_loss, support, steps=0) == params
    losses = [
        float(
            mse_loss(model, adapt(model, params, mse_loss, support, steps=k, inner_lr=0.1), support)
        )
        for k in (0, 5, 20)
    ]
    assert losses[0] > losses[1] > losses[2]


def test_same_seed_same_result_and_a_different_seed_differs():
    def run(seed: int) -> torch.Tensor:
        torch.manual_seed(seed)
        model = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
        params = clone_params(model)
        optimizer = torch.optim.Adam(params.values(), lr=1e-2)
        for step in range(5):
            optimizer.zero_grad()
            tasks = [
                Task(
                    (t.support[0].float(), t.support[1].float()),
                    (t.query[0].float(), t.query[1].float()),
                )
                for t in _regression_tasks(4, seed=seed * 100 + step)
            ]
            maml_loss(model, params, tasks, mse_loss, inner_steps=2, inner_lr=0.1).backward()
            optimizer.step()
        return torch.cat([p.detach().reshape(-1) for p in params.values()])

    assert torch.equal(run(0), run(0))
    assert not torch.equal(run(0), run(1))
