"""Leave-one-out likelihood in loss units, for comparing fitted surrogates."""

from __future__ import annotations

import math

import numpy as np
import torch

from metahpo.surrogates import ExactGP, loo_nll_of_losses


def _data(n: int = 14, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.random((n, 2))
    return X, np.exp(2.0 * np.sin(3 * X[:, 0]) + X[:, 1])


def test_matches_refitting_without_each_point_in_loss_units():
    X, y = _data()
    gp = ExactGP(output_transform="standardize").fit(X, y)
    # Hold each point out with the same hyperparameters and transform: its predictive
    # density, mapped back to loss units (divide by the transform's scale).
    scale = gp.transform_.scale_
    total = 0.0
    for i in range(len(y)):
        keep = np.arange(len(y)) != i
        other = ExactGP(output_transform="standardize")
        other.transform_, other.hyperparameters_ = gp.transform_, gp.hyperparameters_
        other._set_posterior(torch.as_tensor(X[keep]), torch.as_tensor(gp.transform_.transform(y[keep])))
        mean, std = other.predict(torch.as_tensor(X[i : i + 1]))
        variance = float(std[0]) ** 2 + other.noise_used_
        z = float(gp.transform_.transform(y[i : i + 1])[0])
        total += 0.5 * ((z - float(mean[0])) ** 2 / variance + math.log(variance) + math.log(2 * math.pi))
        total += math.log(scale)
    assert abs(loo_nll_of_losses(gp, y) - total / len(y)) < 1e-6


def test_is_in_loss_units_so_rescaling_the_losses_shifts_it_by_log_scale():
    X, y = _data(16, seed=1)
    for transform in ("standardize", "log"):
        one = loo_nll_of_losses(ExactGP(output_transform=transform, n_restarts=1).fit(X, y), y)
        ten = loo_nll_of_losses(ExactGP(output_transform=transform, n_restarts=1).fit(X, 10 * y), 10 * y)
        # A density in loss units: losses 10x larger, each density 10x lower.
        assert abs(ten - one - math.log(10.0)) < 1e-4
