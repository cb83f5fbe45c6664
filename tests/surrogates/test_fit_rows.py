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
    y = y + 0.2 * np.sin(40 * x[:, 2])  # fine structure the subset alone misses between its rows
    gp = ExactGP(output_transform="none", seed=5).fit(x, y)
    rows = fit_rows(y, seed=5)
    on_subset = ExactGP(output_transform="none", seed=5).fit(x[rows], y[rows])
    assert gp.hyperparameters_ == on_subset.hyperparameters_
    # The posterior is that of those hyperparameters on every row, not on the subset.
    every_row = ExactGP(
        output_transform="none", warm_start=gp.hyperparameters_, fit_hyperparameters=False
    ).fit(x, y)
    outside = torch.as_tensor(x[np.setdiff1d(np.arange(len(y)), rows)])
    torch.testing.assert_close(gp.predict(outside), every_row.predict(outside))
    gap = (on_subset.predict(outside)[0] - gp.predict(outside)[0]).abs().max()
    assert float(gap) > 1e-3


def test_auto_transform_beyond_the_cap_is_chosen_on_the_subset() -> None:
    x, f = _data(MAX_FIT_ROWS + 100, seed=7)
    y = np.exp(2.0 * f)
    auto = ExactGP(output_transform="auto", seed=1).fit(x, y)
    fixed = ExactGP(output_transform=auto.transform_.kind, seed=1).fit(x, y)
    assert auto.hyperparameters_ == fixed.hyperparameters_
    assert set(auto.transform_scores_) == {"standardize", "log"}
    rows = fit_rows(y, seed=1)
    # The scores are log posteriors of the subset's raw losses: the log-Jacobian of its rows.
    log_fit = ExactGP(output_transform="log", seed=1).fit(x, y)
    z = torch.as_tensor(log_fit.transform_losses(y)[rows])
    value = log_fit._objective(log_fit._to_raw(log_fit.hyperparameters_), torch.as_tensor(x[rows]), z, 3)[0]
    expected = -value + log_fit.transform_.log_jacobian(y[rows])
    assert abs(auto.transform_scores_["log"] - expected) < 1e-8 * max(1.0, abs(expected))


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
