"""The deep-kernel GP's trend term: a meta-learned direction the posterior scales per task."""

from __future__ import annotations

import numpy as np
import torch

from metahpo.surrogates._deep_kernel import DeepKernelGP, DeepKernelNet, covariance, marginal_nll
from metahpo.surrogates._kernels import matern52


def _net_with_known_trend(n_features: int = 2) -> tuple[DeepKernelNet, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    net = DeepKernelNet(n_features, hidden=8, n_outputs=4, trend=True)
    params = {k: v.detach().clone() for k, v in net.named_parameters()}
    # Short lengthscales: the Matérn part forgets the data a little way from it.
    params["log_lengthscales"] = torch.full_like(params["log_lengthscales"], np.log(0.05))
    params["log_noise"] = torch.tensor(np.log(1e-4), dtype=torch.float64)
    params["log_outputscale"] = torch.tensor(np.log(0.01), dtype=torch.float64)
    return net, params


def test_the_kernel_is_the_matern_part_plus_the_trend_outer_product():
    net, params = _net_with_known_trend()
    x = torch.rand(5, 2, dtype=torch.float64)
    features = torch.func.functional_call(net, params, (x,))
    assert features.shape == (5, 2 + 4 + 1)
    lengthscales, scale = torch.exp(params["log_lengthscales"]), torch.exp(params["log_outputscale"])
    trend = features[:, -1:]
    expected = matern52(features[:, :-1], features[:, :-1], lengthscales, scale) + trend @ trend.T
    torch.testing.assert_close(covariance(net, features, features, lengthscales, scale), expected)
    plain = DeepKernelNet(2, hidden=8, n_outputs=4)
    assert torch.func.functional_call(plain, dict(plain.named_parameters()), (x,)).shape == (5, 6)


def test_far_from_the_data_the_posterior_follows_the_scaled_trend():
    net, params = _net_with_known_trend()
    rng = np.random.default_rng(0)
    X = rng.uniform(0.0, 0.3, size=(6, 2))  # observations in one corner only
    with torch.no_grad():
        trend = lambda rows: torch.func.functional_call(net, params, (torch.as_tensor(rows),))[:, -1].numpy()  # noqa: E731
        y = 3.0 * trend(X)
        gp = DeepKernelGP(net, params, adapt_steps=0, output_transform="none").fit(X, y)
        far = rng.uniform(0.7, 1.0, size=(20, 2))
        mean, std = gp.predict(torch.as_tensor(far))
    # A zero-mean Matérn GP predicts about 0 out there; this one extrapolates 3 m(x).
    np.testing.assert_allclose(mean.numpy(), 3.0 * trend(far), rtol=0.1, atol=0.02)
    assert np.all(np.isfinite(std.numpy()))


def test_the_trend_head_gets_gradients_from_the_marginal_likelihood():
    net, params = _net_with_known_trend()
    params = {k: v.requires_grad_(True) for k, v in params.items()}
    x = torch.rand(8, 2, dtype=torch.float64)
    y = torch.randn(8, dtype=torch.float64)
    marginal_nll(net, params, (x, y)).backward()
    assert float(params["trend_head.weight"].grad.abs().sum()) > 0.0
