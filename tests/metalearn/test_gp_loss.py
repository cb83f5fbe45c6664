"""A GP marginal likelihood as the inner loss: the path a deep-kernel surrogate will take."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.func import functional_call

from metahpo.metalearn import Task, clone_params, meta_gradient, task_losses


class DeepKernel(nn.Module):
    """Features from a small network, an RBF kernel on them, a Gaussian noise level."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 2))
        self.log_lengthscale = nn.Parameter(torch.zeros(()))
        self.log_noise = nn.Parameter(torch.tensor(-2.0))

    def forward(self, x: Tensor) -> Tensor:
        return self.features(x)


def negative_log_marginal_likelihood(model: nn.Module, params: dict[str, Tensor], batch) -> Tensor:
    x, y = batch
    z = functional_call(model, params, (x,)) / params["log_lengthscale"].exp()
    squared = (z.unsqueeze(-2) - z.unsqueeze(-3)).pow(2).sum(-1)
    n = x.shape[-2]
    kernel = torch.exp(-0.5 * squared) + params["log_noise"].exp() * torch.eye(n, dtype=x.dtype)
    chol = torch.linalg.cholesky(kernel)
    alpha = torch.cholesky_solve(y, chol)
    return (
        0.5 * (y * alpha).sum()
        + torch.log(torch.diagonal(chol)).sum()
        + 0.5 * n * math.log(2 * math.pi)
    ) / n


def _tasks() -> list[Task]:
    generator = torch.Generator().manual_seed(0)
    tasks = []
    for shift in (0.0, 0.5, 1.0):
        x = torch.rand(12, 1, generator=generator, dtype=torch.float64) * 4 - 2
        y = torch.sin(3 * x + shift)
        tasks.append(Task((x[:6], y[:6]), (x[6:], y[6:])))
    return tasks


def test_gp_marginal_likelihood_meta_trains_batched_and_looped_alike():
    torch.manual_seed(0)
    model = DeepKernel().double()
    params = clone_params(model, requires_grad=False)
    tasks = _tasks()
    kwargs = {"inner_steps": 2, "inner_lr": 0.05}
    batched = task_losses(
        model, params, tasks, negative_log_marginal_likelihood, vectorize=True, **kwargs
    )
    looped = task_losses(
        model, params, tasks, negative_log_marginal_likelihood, vectorize=False, **kwargs
    )
    torch.testing.assert_close(batched, looped, rtol=0, atol=1e-12)
    result = meta_gradient(model, params, tasks, negative_log_marginal_likelihood, **kwargs)
    assert all(torch.isfinite(g).all() for g in result.params.values())
    assert float(result.params["log_noise"].abs()) > 0


def test_gp_meta_gradient_gradcheck():
    torch.manual_seed(0)
    model = DeepKernel().double()
    names = [name for name, _ in model.named_parameters()]
    start = tuple(p.detach().clone().requires_grad_(True) for p in model.parameters())
    tasks = _tasks()[:2]

    def objective(*flat: Tensor) -> Tensor:
        params = dict(zip(names, flat, strict=True))
        return task_losses(
            model, params, tasks, negative_log_marginal_likelihood, inner_steps=1, inner_lr=0.05
        ).mean()

    assert torch.autograd.gradcheck(objective, start, eps=1e-6, atol=1e-6)
