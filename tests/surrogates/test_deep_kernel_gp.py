"""The deep-kernel GP: leave-one-out score and validated adaptation."""

from __future__ import annotations

import numpy as np
import torch

from metahpo.surrogates._deep_kernel import DeepKernelGP, DeepKernelNet, loo_nll, predictive_nll


def _data(n: int = 9, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, 2))
    y = np.sin(4 * x[:, 0]) + x[:, 1] ** 2
    return torch.as_tensor(x), torch.as_tensor((y - y.mean()) / y.std())


def _params(net: DeepKernelNet) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return {k: v.detach().clone() for k, v in net.named_parameters()}


def test_loo_nll_matches_refitting_without_each_point():
    net = DeepKernelNet(2, hidden=8, n_outputs=3)
    params = _params(net)
    x, y = _data()
    brute = []
    for i in range(len(y)):
        keep = torch.arange(len(y)) != i
        brute.append(float(predictive_nll(net, params, (x[keep], y[keep], x[i : i + 1], y[i : i + 1]))))
    assert abs(float(loo_nll(net, params, (x, y))) - np.mean(brute)) < 1e-8


def test_validated_adaptation_never_predicts_worse_in_leave_one_out():
    net = DeepKernelNet(2, hidden=8, n_outputs=3)
    params = _params(net)
    x, y = _data(12, seed=1)
    scores = {}
    for validate in (False, True):
        gp = DeepKernelGP(net, params, adapt_steps=6, inner_lr=0.5, validate=validate)
        gp.fit(x.numpy(), y.numpy())
        scores[validate] = float(loo_nll(net, gp.params_, (x, torch.as_tensor(gp.transform_.transform(y.numpy())))))
    start = float(loo_nll(net, params, (x, torch.as_tensor(gp.transform_.transform(y.numpy())))))
    assert scores[True] <= min(scores[False], start) + 1e-12
    assert 0 <= gp.adapted_steps_ <= 6


def test_validated_adaptation_keeps_the_start_when_steps_make_it_worse():
    net = DeepKernelNet(2, hidden=8, n_outputs=3)
    params = _params(net)
    x, y = _data(10, seed=2)
    # A huge step size throws the parameters far away: the first candidate must win.
    gp = DeepKernelGP(net, params, adapt_steps=3, inner_lr=50.0, validate=True).fit(x.numpy(), y.numpy())
    assert gp.adapted_steps_ == 0
    assert all(torch.equal(gp.params_[k], params[k]) for k in params)
