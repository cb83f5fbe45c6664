"""Large studies: hyperparameters fitted on a subset of rows, the posterior on all of them."""

from __future__ import annotations

import numpy as np
import torch

from metahpo.surrogates import ExactGP
from metahpo.surrogates._deep_kernel import DeepKernelGP, DeepKernelNet
from metahpo.surrogates._fit_rows import MAX_FIT_ROWS, fit_rows


def _data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, 3))
    return x, np.sin(5 * x[:, 0]) + x[:, 1] ** 2 + 0.1 * x[:, 2]


def test_every_row_is_fitted_up_to_the_cap() -> None:
    y = np.random.default_rng(0).random(MAX_FIT_ROWS)
    assert fit_rows(y, seed=0).tolist() == list(range(MAX_FIT_ROWS))


def test_beyond_the_cap_the_best_half_and_a_random_rest_are_fitted() -> None:
    y = np.random.default_rng(1).random(1000)
    rows = fit_rows(y, seed=3)
    assert len(rows) == len(set(rows.tolist())) == MAX_FIT_ROWS
    assert np.all(np.diff(rows) > 0)  # in their original order
    best = np.argsort(y)[: MAX_FIT_ROWS // 2]
    assert set(best.tolist()) <= set(rows.tolist())
    # The rest is a random draw among the others: not the next best, and keyed by the seed.
    assert not set(np.argsort(y)[MAX_FIT_ROWS // 2 : MAX_FIT_ROWS].tolist()) <= set(rows.tolist())
    assert fit_rows(y, seed=3).tolist() == rows.tolist()
    assert fit_rows(y, seed=4).tolist() != rows.tolist()


def test_exact_gp_fits_hyperparameters_on_the_subset_and_conditions_on_every_row() -> None:
    x, y = _data(MAX_FIT_ROWS + 140)
    gp = ExactGP(output_transform="none", seed=5).fit(x, y)
    rows = fit_rows(y, seed=5)
    on_subset = ExactGP(output_transform="none", seed=5).fit(x[rows], y[rows])
    assert gp.hyperparameters_ == on_subset.hyperparameters_
    assert len(gp.X_train_) == len(x)
    # Conditioned on every row: an observation outside the subset is interpolated.
    outside = np.setdiff1d(np.arange(len(y)), rows)[0]
    mean, _ = gp.predict(torch.as_tensor(x[outside : outside + 1]))
    mean_subset, _ = on_subset.predict(torch.as_tensor(x[outside : outside + 1]))
    assert abs(float(mean[0]) - y[outside]) < abs(float(mean_subset[0]) - y[outside]) + 1e-9
    assert abs(float(mean[0]) - y[outside]) < 1e-2


def test_deep_kernel_adapts_on_the_subset_and_conditions_on_every_row() -> None:
    x, y = _data(MAX_FIT_ROWS + 60, seed=2)
    torch.manual_seed(0)
    net = DeepKernelNet(3, hidden=8, n_outputs=3)
    params = {k: v.detach().clone() for k, v in net.named_parameters()}
    gp = DeepKernelGP(net, params, adapt_steps=2, output_transform="none").fit(x, y)
    rows = fit_rows(y, seed=0)
    on_subset = DeepKernelGP(net, params, adapt_steps=2, output_transform="none").fit(x[rows], y[rows])
    everything = DeepKernelGP(net, params, adapt_steps=2, output_transform="none")
    everything.adapted_steps_, everything.params_ = everything._adapt(
        params, torch.as_tensor(x), torch.as_tensor(y)
    )
    assert len(gp.x_train_) == len(x)
    for name, value in gp.params_.items():
        assert torch.equal(value, on_subset.params_[name])
    assert any(not torch.allclose(v, everything.params_[k]) for k, v in gp.params_.items())
