"""Log expected improvement and the lower confidence bound."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import norm

from metahpo.exceptions import InvalidParameterError
from metahpo.surrogates import (
    ExactGP,
    LogExpectedImprovement,
    LowerConfidenceBound,
    PriorWeighted,
    log_expected_improvement,
    lower_confidence_bound,
)


def test_log_ei_matches_scipy_where_ei_is_representable() -> None:
    mean = np.array([-3.0, -1.0, -0.2, 0.0, 0.5, 1.0, 3.0, 8.0, 20.0])
    std = np.full_like(mean, 0.7)
    z = (0.0 - mean) / std
    reference = np.log(std * (norm.pdf(z) + z * norm.cdf(z)))
    got = log_expected_improvement(torch.tensor(mean), torch.tensor(std), 0.0).numpy()
    np.testing.assert_allclose(got, reference, rtol=1e-9)


def test_log_ei_is_finite_far_from_the_incumbent() -> None:
    mean = torch.tensor([40.0, 1e3, 1e8], dtype=torch.float64, requires_grad=True)
    value = log_expected_improvement(mean, torch.ones(3, dtype=torch.float64), 0.0)
    assert torch.all(torch.isfinite(value))
    assert value[0] > value[1] > value[2]
    value.sum().backward()
    assert torch.all(torch.isfinite(mean.grad)) and torch.all(mean.grad < 0)


def test_log_ei_gradcheck_across_both_branches() -> None:
    mean = torch.tensor(
        [-2.0, -0.5, 0.3, 0.99, 1.01, 3.0, 20.0, 1e3], dtype=torch.float64, requires_grad=True
    )
    std = torch.tensor(
        [0.5, 1.0, 0.2, 1.0, 1.0, 0.8, 1.5, 2.0], dtype=torch.float64, requires_grad=True
    )
    assert torch.autograd.gradcheck(lambda m, s: log_expected_improvement(m, s, 0.0), (mean, std))


def test_acquisitions_gradcheck_through_the_gp_with_a_budget_column() -> None:
    rng = np.random.default_rng(0)
    X = np.hstack([rng.random((12, 2)), rng.choice([0.0, 0.5, 1.0], size=(12, 1))])
    gp = ExactGP(seed=0).fit(X, np.sin(5 * X[:, 0]) + X[:, 2])
    z = torch.tensor(rng.random((4, 2)), requires_grad=True)
    for acquisition in (
        LogExpectedImprovement(gp, best=-1.0, budget_feature=1.0),
        LowerConfidenceBound(gp, beta=2.0, budget_feature=1.0),
    ):
        assert torch.autograd.gradcheck(acquisition, (z,))


def test_lcb_and_log_ei_prefer_low_mean_and_high_uncertainty() -> None:
    mean = torch.tensor([0.0, -1.0, 0.0], dtype=torch.float64)
    std = torch.tensor([1.0, 1.0, 2.0], dtype=torch.float64)
    lcb = lower_confidence_bound(mean, std, beta=2.0)
    assert lcb.tolist() == pytest.approx([-2.0, -3.0, -4.0])
    log_ei = log_expected_improvement(mean, std, 0.0)
    assert log_ei[1] > log_ei[0] and log_ei[2] > log_ei[0]


@pytest.mark.parametrize("best", [-1.5, -30.0, 2.0])
def test_closed_form_gradients_match_autograd(best: float) -> None:
    rng = np.random.default_rng(3)
    X = np.hstack([rng.random((25, 3)), rng.choice([0.0, 0.5, 1.0], size=(25, 1))])
    gp = ExactGP(seed=0).fit(X, np.sin(5 * X[:, 0]) + X[:, 2] + X[:, 3])
    z = torch.tensor(rng.random((8, 3)))
    for acquisition in (
        LogExpectedImprovement(gp, best=best, budget_feature=1.0),
        LowerConfidenceBound(gp, beta=1.5, budget_feature=0.5),
    ):
        value, grad = acquisition.value_and_grad(z)
        x = z.clone().requires_grad_(True)
        reference = acquisition(x)
        (reference_grad,) = torch.autograd.grad(reference.sum(), x)
        np.testing.assert_allclose(
            value.numpy(), reference.detach().numpy(), rtol=1e-12, atol=1e-12
        )
        scale = float(reference_grad.abs().max())
        np.testing.assert_allclose(
            grad.numpy(), reference_grad.numpy(), rtol=1e-7, atol=1e-9 * scale
        )


def test_prior_weighted_adds_the_priors_log_probability_of_improvement() -> None:
    rng = np.random.default_rng(4)
    X = np.hstack([rng.random((20, 2)), np.ones((20, 1))])
    study = ExactGP(seed=0).fit(X, np.cos(4 * X[:, 0]) + X[:, 1])
    prior = ExactGP(seed=1).fit(X, X[:, 0] + X[:, 1])  # believes the optimum is at (0, 0)
    base = LogExpectedImprovement(study, best=-0.5, budget_feature=1.0)
    z = torch.tensor(rng.random((6, 2)))
    unweighted = PriorWeighted(base, prior, best=-1.0, weight=0.0, budget_feature=1.0)
    np.testing.assert_allclose(unweighted(z).numpy(), base(z).numpy())
    weighted = PriorWeighted(base, prior, best=-1.0, weight=0.5, budget_feature=1.0)
    mean, std = prior.predict(torch.cat([z, torch.ones(6, 1, dtype=z.dtype)], dim=-1))
    expected = base(z) - 0.5 * torch.special.log_ndtr((-1.0 - mean) / std)
    np.testing.assert_allclose(weighted(z).detach().numpy(), expected.detach().numpy(), rtol=1e-12)
    # A point the prior finds promising gains on one it does not, against the base loss.
    corners = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    gain = (weighted(corners) - base(corners)).detach()
    assert gain[0] < gain[1]


def test_prior_weighted_closed_form_gradient_matches_autograd() -> None:
    rng = np.random.default_rng(5)
    X = np.hstack([rng.random((20, 3)), np.ones((20, 1))])
    study = ExactGP(seed=0).fit(X, np.sin(5 * X[:, 0]) + X[:, 2])
    prior = ExactGP(seed=1).fit(X, X[:, 1] - X[:, 2])
    weighted = PriorWeighted(
        LogExpectedImprovement(study, best=-1.0, budget_feature=1.0), prior, best=-1.2,
        weight=0.3, budget_feature=1.0,
    )
    z = torch.tensor(rng.random((8, 3)))
    value, grad = weighted.value_and_grad(z)
    x = z.clone().requires_grad_(True)
    reference = weighted(x)
    (reference_grad,) = torch.autograd.grad(reference.sum(), x)
    np.testing.assert_allclose(value.numpy(), reference.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(grad.numpy(), reference_grad.numpy(), rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("trend", [False, True])
def test_prior_weighted_with_a_deep_kernel_prior_gradchecks(trend: bool) -> None:
    # MetaBO's prior is its meta-learned deep-kernel GP: autograd through it, in float64.
    from metahpo.surrogates import DeepKernelGP, DeepKernelNet

    rng = np.random.default_rng(6)
    X = np.hstack([rng.random((12, 2)), np.ones((12, 1))])
    y = np.sin(4 * X[:, 0]) + X[:, 1] ** 2
    torch.manual_seed(0)
    net = DeepKernelNet(3, hidden=8, n_outputs=3, trend=trend).double()
    params = {k: v.detach().clone() for k, v in net.named_parameters()}
    prior = DeepKernelGP(net, params, adapt_steps=0).fit(X, y)
    study = ExactGP(seed=0).fit(X, y)
    weighted = PriorWeighted(
        LogExpectedImprovement(study, best=float(study.transform_losses(y).min()), budget_feature=1.0),
        prior, best=float(prior.transform_losses(y).min()), weight=0.7, budget_feature=1.0,
    )
    z = torch.tensor(rng.random((5, 2)), requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: weighted(x), (z,))
    value, grad = weighted.value_and_grad(z.detach())
    reference = weighted(z)
    (reference_grad,) = torch.autograd.grad(reference.sum(), z)
    np.testing.assert_allclose(value.numpy(), reference.detach().numpy(), rtol=1e-10)
    # The base log EI's closed form differs from autograd a little at training points.
    np.testing.assert_allclose(grad.numpy(), reference_grad.numpy(), rtol=1e-5, atol=1e-6)


def test_prior_weighted_weights_log_ei_only_and_stays_finite_far_in_the_tail() -> None:
    X = np.hstack([np.linspace(0, 1, 6)[:, None], np.ones((6, 1))])
    gp = ExactGP(seed=0).fit(X, X[:, 0])
    with pytest.raises(InvalidParameterError, match="'acquisition' parameter of PriorWeighted"):
        PriorWeighted(LowerConfidenceBound(gp, budget_feature=1.0), gp, best=0.0, weight=1.0)
    # An incumbent a billion standard deviations away: the prior's gradient stays finite.
    weighted = PriorWeighted(LogExpectedImprovement(gp, best=0.0, budget_feature=1.0), gp,
                             best=-1e9, weight=1.0, budget_feature=1.0)
    value, grad = weighted.value_and_grad(torch.tensor([[0.3], [0.9]], dtype=torch.float64))
    assert torch.isfinite(value).all() and torch.isfinite(grad).all()
