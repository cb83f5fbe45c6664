"""MAML meta-gradients against the hand-derived linear-model reference, in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _linear_reference import meta_gradient as reference_meta_gradient

from metahpo.metalearn import Task, inner_lr_like, maml_loss, meta_gradient, mse_loss

TOL = 1e-10
IN_FEATURES = 3


def _problem(seed: int, n_tasks: int = 4, n_support: int = 6, n_query: int = 9):
    rng = np.random.default_rng(seed)
    tasks_np = []
    for _ in range(n_tasks):
        w, b = rng.normal(size=IN_FEATURES), rng.normal()
        xs, xq = rng.normal(size=(n_support, IN_FEATURES)), rng.normal(size=(n_query, IN_FEATURES))
        ys = xs @ w + b + 0.1 * rng.normal(size=n_support)
        yq = xq @ w + b + 0.1 * rng.normal(size=n_query)
        tasks_np.append(((xs, ys), (xq, yq)))
    theta0 = rng.normal(size=IN_FEATURES + 1)
    tasks = [
        Task(
            (torch.from_numpy(s[0]), torch.from_numpy(s[1]).unsqueeze(1)),
            (torch.from_numpy(q[0]), torch.from_numpy(q[1]).unsqueeze(1)),
        )
        for s, q in tasks_np
    ]
    model = torch.nn.Linear(IN_FEATURES, 1).double()
    params = {
        "weight": torch.from_numpy(theta0[:IN_FEATURES].copy()).reshape(1, IN_FEATURES),
        "bias": torch.from_numpy(theta0[IN_FEATURES:].copy()),
    }
    return model, params, tasks, tasks_np, theta0


def _flat(grads: dict[str, torch.Tensor]) -> np.ndarray:
    return np.concatenate([grads["weight"].reshape(-1).numpy(), grads["bias"].reshape(-1).numpy()])


@pytest.mark.parametrize("first_order", [False, True])
@pytest.mark.parametrize("steps", [1, 3])
@pytest.mark.parametrize("vectorize", [True, False])
def test_meta_gradient_matches_hand_derived_reference(first_order, steps, vectorize):
    model, params, tasks, tasks_np, theta0 = _problem(seed=steps)
    alpha = 0.05
    result = meta_gradient(
        model,
        params,
        tasks,
        mse_loss,
        inner_steps=steps,
        inner_lr=alpha,
        first_order=first_order,
        vectorize=vectorize,
    )
    ref_loss, ref_grad, _ = reference_meta_gradient(
        theta0, tasks_np, np.full(theta0.size, alpha), steps, first_order
    )
    assert result.inner_lr is None
    assert abs(float(result.loss) - ref_loss) < TOL
    np.testing.assert_allclose(_flat(result.params), ref_grad, rtol=0, atol=TOL)


def test_second_and_first_order_differ():
    # Guards against the reference comparison passing because both paths coincide.
    model, params, tasks, _, _ = _problem(seed=0)
    second = meta_gradient(model, params, tasks, mse_loss, inner_steps=2, inner_lr=0.1)
    first = meta_gradient(
        model, params, tasks, mse_loss, inner_steps=2, inner_lr=0.1, first_order=True
    )
    assert np.abs(_flat(second.params) - _flat(first.params)).max() > 1e-3


@pytest.mark.parametrize("first_order", [False, True])
@pytest.mark.parametrize("steps", [1, 2])
def test_meta_sgd_gradients_match_reference(first_order, steps):
    model, params, tasks, tasks_np, theta0 = _problem(seed=10 + steps)
    rng = np.random.default_rng(3)
    alpha = rng.uniform(0.01, 0.1, size=theta0.size)
    rates = {
        "weight": torch.from_numpy(alpha[:IN_FEATURES].copy()).reshape(1, IN_FEATURES),
        "bias": torch.from_numpy(alpha[IN_FEATURES:].copy()),
    }
    result = meta_gradient(
        model,
        params,
        tasks,
        mse_loss,
        inner_steps=steps,
        inner_lr=rates,
        first_order=first_order,
    )
    ref_loss, ref_grad, ref_alpha_grad = reference_meta_gradient(
        theta0, tasks_np, alpha, steps, first_order
    )
    assert abs(float(result.loss) - ref_loss) < TOL
    np.testing.assert_allclose(_flat(result.params), ref_grad, rtol=0, atol=TOL)
    assert result.inner_lr is not None
    np.testing.assert_allclose(_flat(result.inner_lr), ref_alpha_grad, rtol=0, atol=TOL)


def test_maml_loss_backward_equals_meta_gradient():
    model, params, tasks, _, _ = _problem(seed=5)
    leaves = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    rates = inner_lr_like(leaves, 0.07)
    loss = maml_loss(model, leaves, tasks, mse_loss, inner_steps=2, inner_lr=rates)
    loss.backward()
    result = meta_gradient(
        model,
        params,
        tasks,
        mse_loss,
        inner_steps=2,
        inner_lr={k: v.detach() for k, v in rates.items()},
    )
    for name in params:
        torch.testing.assert_close(leaves[name].grad, result.params[name], rtol=0, atol=TOL)
        torch.testing.assert_close(rates[name].grad, result.inner_lr[name], rtol=0, atol=TOL)
