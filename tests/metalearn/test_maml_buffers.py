"""Modules with buffers (batch norm): the functions run, and never change the module."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from metahpo.exceptions import InvalidParameterError
from metahpo.metalearn import (
    Task,
    adapt,
    clone_params,
    maml_loss,
    meta_gradient,
    mse_loss,
    reptile_step,
)


def _model(track_running_stats: bool = True) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(2, 4), nn.BatchNorm1d(4, track_running_stats=track_running_stats), nn.Tanh(), nn.Linear(4, 1)
    ).double()


def _tasks() -> list[Task]:
    generator = torch.Generator().manual_seed(1)
    tasks = []
    for slope in (1.0, -2.0):
        x = torch.randn(10, 2, generator=generator, dtype=torch.float64)
        y = slope * x.sum(1, keepdim=True)
        tasks.append(Task((x[:6], y[:6]), (x[6:], y[6:])))
    return tasks


def _buffers(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.clone() for name, value in model.named_buffers()}


def _assert_unchanged(model: nn.Module, before: dict[str, torch.Tensor]) -> None:
    for name, value in model.named_buffers():
        assert torch.equal(value, before[name]), name


@pytest.mark.parametrize("first_order", [False, True])
def test_batch_norm_in_training_mode_gives_the_gradient_of_batch_statistics_and_keeps_its_buffers(
    first_order: bool,
) -> None:
    model = _model()
    params = clone_params(model)
    before = _buffers(model)
    options = {"inner_steps": 2, "inner_lr": 0.1, "first_order": first_order}
    looped = meta_gradient(model, params, _tasks(), mse_loss, vectorize=False, **options)
    automatic = meta_gradient(model, params, _tasks(), mse_loss, **options)
    maml_loss(model, params, _tasks(), mse_loss, vectorize=False, **options).backward()
    # Batch norm without running statistics computes the same forward pass in training mode.
    # (Looped: vmap's batch norm backward gives wrong second derivatives, pytorch/functorch#534.)
    reference_model = _model(track_running_stats=False)
    reference = meta_gradient(
        reference_model, clone_params(reference_model), _tasks(), mse_loss, vectorize=False, **options
    )
    _assert_unchanged(model, before)
    assert torch.isfinite(looped.loss)
    for name, value in looped.params.items():
        assert bool(torch.isfinite(value).all()) and bool(value.abs().sum() > 0), name
        torch.testing.assert_close(automatic.params[name], value, rtol=0, atol=0)
        torch.testing.assert_close(params[name].grad, value, rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(reference.params[name], value, rtol=1e-12, atol=1e-14)


def test_adapt_and_reptile_leave_a_batch_norm_modules_buffers_alone() -> None:
    model = _model()
    params = clone_params(model)
    before = _buffers(model)
    task = _tasks()[0]
    for first_order in (False, True):
        adapted = adapt(model, params, mse_loss, task.support, steps=2, inner_lr=0.1, first_order=first_order)
        assert all(bool(torch.isfinite(value).all()) for value in adapted.values())
    reptile_step(model, params, _tasks(), mse_loss, inner_steps=2)
    _assert_unchanged(model, before)


def test_vectorize_true_is_refused_for_buffers_in_training_mode_and_runs_in_eval_mode() -> None:
    model = _model()
    params = clone_params(model)
    with pytest.raises(InvalidParameterError, match=r"'vectorize' parameter of task_losses.*1\.running_mean"):
        maml_loss(model, params, _tasks(), mse_loss, vectorize=True)
    model.eval()  # the running statistics are only read: vmap batches that
    vectorized = meta_gradient(model, params, _tasks(), mse_loss, vectorize=True)
    looped = meta_gradient(model, params, _tasks(), mse_loss, vectorize=False)
    for name, value in looped.params.items():
        torch.testing.assert_close(vectorized.params[name], value, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("norm", [nn.LayerNorm(4), nn.BatchNorm1d(4, track_running_stats=False)],
                         ids=["layer-norm", "batch-norm-without-statistics"])
def test_second_order_gradients_through_norm_layers_match_plain_autograd(norm) -> None:
    # vmap's batched backward of these layers gives wrong second derivatives: by default
    # the tasks are looped over, and asking for vmap is refused.
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 4), norm, nn.Tanh(), nn.Linear(4, 1)).double()
    params = clone_params(model)
    tasks = _tasks()
    total = 0.0
    for task in tasks:  # MAML by hand: one inner step, create_graph for the second order
        support = mse_loss(model, params, task.support)
        grads = torch.autograd.grad(support, list(params.values()), create_graph=True)
        fast = {name: value - 0.1 * g for (name, value), g in zip(params.items(), grads, strict=True)}
        total = total + mse_loss(model, fast, task.query)
    expected = torch.autograd.grad(total / len(tasks), list(params.values()))
    loss = maml_loss(model, params, tasks, mse_loss, inner_lr=0.1, inner_steps=1)
    got = torch.autograd.grad(loss, list(params.values()))
    for g, e in zip(got, expected, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-10, atol=1e-12)
    with pytest.raises(InvalidParameterError, match=r"second derivatives vmap computes wrongly"):
        maml_loss(model, params, tasks, mse_loss, vectorize=True)
