"""The exact GP against closed-form references, its fitting and output transforms."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.special import ndtri

from metahpo.exceptions import InvalidParameterError
from metahpo.surrogates import ExactGP, GPHyperparameters, OutputTransform, matern52


def _matern52_reference(
    a: np.ndarray, b: np.ndarray, lengthscales: np.ndarray, scale: float
) -> np.ndarray:
    out = np.empty((len(a), len(b)))
    for i, u in enumerate(a):
        for j, v in enumerate(b):
            r = math.sqrt(float(np.sum(((u - v) / lengthscales) ** 2)))
            out[i, j] = scale * (1 + math.sqrt(5) * r + 5 * r * r / 3) * math.exp(-math.sqrt(5) * r)
    return out


def test_matern52_matches_the_formula() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random((5, 3)), rng.random((4, 3))
    lengthscales = np.array([0.3, 1.2, 0.7])
    got = matern52(
        torch.tensor(a),
        torch.tensor(b),
        torch.tensor(lengthscales),
        torch.tensor(1.7, dtype=torch.float64),
    )
    np.testing.assert_allclose(
        got.numpy(), _matern52_reference(a, b, lengthscales, 1.7), rtol=1e-12, atol=1e-14
    )


def test_posterior_matches_closed_form_on_tiny_data() -> None:
    rng = np.random.default_rng(1)
    X, y, Xq = rng.random((6, 2)), rng.standard_normal(6), rng.random((5, 2))
    hp = GPHyperparameters((0.4, 0.9), 1.3, 0.01)
    gp = ExactGP(output_transform="none", warm_start=hp, fit_hyperparameters=False).fit(X, y)
    mean, std = gp.predict(torch.tensor(Xq))

    ls = np.array(hp.lengthscales)
    K = _matern52_reference(X, X, ls, hp.outputscale) + hp.noise * np.eye(6)
    Ks = _matern52_reference(Xq, X, ls, hp.outputscale)
    ref_mean = Ks @ np.linalg.solve(K, y)
    ref_var = hp.outputscale - np.einsum("ij,ji->i", Ks, np.linalg.solve(K, Ks.T))
    np.testing.assert_allclose(mean.numpy(), ref_mean, rtol=0, atol=1e-8)
    np.testing.assert_allclose(std.numpy(), np.sqrt(ref_var), rtol=0, atol=1e-8)

    sign, logdet = np.linalg.slogdet(K)
    ref_lml = -0.5 * y @ np.linalg.solve(K, y) - 0.5 * logdet - 3 * math.log(2 * math.pi)
    assert sign > 0
    assert gp.log_marginal_likelihood() == pytest.approx(ref_lml, abs=1e-8)


def test_standardized_posterior_is_the_affine_image() -> None:
    rng = np.random.default_rng(2)
    X, y = rng.random((8, 2)), 5.0 + 3.0 * rng.standard_normal(8)
    hp = GPHyperparameters((0.5, 0.5), 1.0, 1e-4)
    raw = ExactGP("none", warm_start=hp, fit_hyperparameters=False).fit(X, (y - y.mean()) / y.std())
    standard = ExactGP("standardize", warm_start=hp, fit_hyperparameters=False).fit(X, y)
    Xq = torch.tensor(rng.random((4, 2)))
    for a, b in zip(raw.predict(Xq), standard.predict(Xq), strict=False):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-10)
    np.testing.assert_allclose(standard.transform_losses(y), (y - y.mean()) / y.std(), atol=1e-12)


def test_fit_interpolates_a_smooth_function_and_learns_relevance() -> None:
    rng = np.random.default_rng(3)
    X = rng.random((40, 3))
    y = np.sin(6 * X[:, 0])  # columns 1 and 2 are irrelevant
    gp = ExactGP(seed=0).fit(X, y)
    Xq = rng.random((50, 3))
    mean, std = gp.predict(torch.tensor(Xq))
    truth = gp.transform_losses(np.sin(6 * Xq[:, 0]))
    assert np.max(np.abs(mean.numpy() - truth)) < 0.1
    ls = gp.hyperparameters_.lengthscales
    assert ls[0] < ls[1] and ls[0] < ls[2]
    assert float(std.max()) < 0.2


def test_predict_is_differentiable_in_the_inputs() -> None:
    rng = np.random.default_rng(4)
    gp = ExactGP(seed=0).fit(rng.random((10, 2)), rng.standard_normal(10))
    x = torch.tensor(rng.random((3, 2)), requires_grad=True)
    assert torch.autograd.gradcheck(lambda z: torch.stack(gp.predict(z)), (x,))


def test_warm_start_and_condition_keep_hyperparameters() -> None:
    rng = np.random.default_rng(5)
    X, y = rng.random((12, 2)), rng.standard_normal(12)
    gp = ExactGP(seed=0).fit(X, y)
    again = ExactGP(warm_start=gp.hyperparameters_, n_restarts=1).fit(X, y)
    np.testing.assert_allclose(
        again.hyperparameters_.lengthscales, gp.hyperparameters_.lengthscales, rtol=1e-3
    )
    x_new = rng.random((1, 2))
    fantasy = gp.condition(x_new, np.array([10.0]))
    assert fantasy.hyperparameters_ == gp.hyperparameters_
    mean, std = fantasy.predict(torch.tensor(x_new))
    before = gp.predict(torch.tensor(x_new))[1]
    assert float(mean) > float(gp.predict(torch.tensor(x_new))[0])
    assert float(std) < float(before)


def test_hyperparameters_round_trip_through_json_dicts() -> None:
    hp = GPHyperparameters((0.1, 2.0), 1.5, 1e-6)
    assert GPHyperparameters.from_dict(hp.to_dict()) == hp
    with pytest.raises(InvalidParameterError, match="lengthscales"):
        GPHyperparameters.from_dict({"noise": 1.0})


def test_fit_refuses_bad_data() -> None:
    with pytest.raises(InvalidParameterError, match="same number"):
        ExactGP().fit(np.zeros((3, 1)), np.zeros(2))
    with pytest.raises(InvalidParameterError, match="finite"):
        ExactGP().fit(np.zeros((2, 1)), np.array([0.0, np.nan]))


@pytest.mark.parametrize("kind", ["standardize", "log", "rank", "none"])
def test_output_transforms_are_increasing(kind: str) -> None:
    y = np.array([3.0, 1.0, 1e4, 2.0, 50.0, 1.0])
    transform = OutputTransform(kind).fit(y)
    grid = np.linspace(0.5, 2e4, 200)
    assert np.all(np.diff(transform.transform(grid)) >= 0)
    z = transform.transform(y)
    assert np.argmin(z) in (1, 5) and np.argmax(z) == 2


def test_robust_transforms_tame_outliers() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0, 1e6])
    for kind in ("log", "rank"):
        z = OutputTransform(kind).fit(y).transform(y)
        # The four ordinary losses stay distinguishable (not squashed by the outlier).
        assert np.min(np.diff(z[:4])) > 0.05
    z = OutputTransform("standardize").fit(y).transform(y)
    assert np.max(np.diff(z[:4])) < 1e-5


def test_unknown_transform_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match="output_transform"):
        OutputTransform("boxcox")


def test_exact_gp_is_a_surrogate_and_thread_limits_are_restored() -> None:
    from metahpo.surrogates import Surrogate, torch_threads

    assert isinstance(ExactGP(), Surrogate)
    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


@pytest.mark.parametrize("noise_prior", ["gamma", "lognormal"])
def test_marginal_likelihood_gradient_matches_finite_differences(noise_prior: str) -> None:
    from scipy.optimize import approx_fprime

    rng = np.random.default_rng(6)
    X, y = torch.tensor(rng.random((30, 3))), torch.tensor(rng.standard_normal(30))
    gp = ExactGP(noise_prior=noise_prior)
    for raw in (np.log([0.3, 0.5, 2.0, 1.2, 0.01]), np.log([1.0, 1.0, 1.0, 1.0, 1e-4])):
        _, gradient = gp._objective(raw, X, y, 3)
        numeric = approx_fprime(raw, lambda r: gp._objective(r, X, y, 3)[0], 1e-6)
        np.testing.assert_allclose(gradient, numeric, rtol=1e-4, atol=1e-4 * np.abs(numeric).max())


# Noise prior and the automatic output transform ---------------------------------------------
def _smooth_inputs(n: int = 40, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.random((n, 3))
    return X, np.sin(3.0 * X[:, 0]) + X[:, 1] ** 2


def test_gamma_noise_prior_interpolates_deterministic_losses() -> None:
    X, f = _smooth_inputs()
    gamma = ExactGP(seed=0).fit(X, f)
    lognormal = ExactGP(seed=0, noise_prior="lognormal").fit(X, f)
    # The log-normal prior pulls the noise variance toward e^-4 ≈ 0.018; the Gamma prior
    # lets a noiseless function be interpolated (down to the 1e-6 floor).
    assert gamma.hyperparameters_.noise < 1e-5
    assert lognormal.hyperparameters_.noise > 10.0 * gamma.hyperparameters_.noise
    assert gamma.log_marginal_likelihood() > lognormal.log_marginal_likelihood()


def test_gamma_noise_prior_still_finds_real_noise() -> None:
    X, f = _smooth_inputs(60, seed=1)
    noisy = f + 0.3 * np.random.default_rng(2).standard_normal(len(f))
    gp = ExactGP(seed=0).fit(X, noisy)
    # 0.3² over the standardised losses' variance: the fitted noise is of that order.
    expected = 0.09 / np.var(noisy)
    assert 0.3 * expected < gp.hyperparameters_.noise < 3.0 * expected


def test_unknown_noise_prior_is_refused() -> None:
    X, f = _smooth_inputs(5)
    with pytest.raises(InvalidParameterError, match="noise_prior"):
        ExactGP(noise_prior="flat").fit(X, f)


@pytest.mark.parametrize("kind", ["standardize", "log", "none"])
def test_log_jacobian_matches_finite_differences(kind: str) -> None:
    y = np.array([0.3, 1.0, 2.5, 7.0, 40.0])
    transform = OutputTransform(kind).fit(y)
    h = 1e-6 * np.maximum(1.0, np.abs(y))
    slopes = (transform.transform(y + h) - transform.transform(y - h)) / (2 * h)
    assert transform.log_jacobian(y) == pytest.approx(
        float(np.sum(np.log(slopes))), rel=1e-6, abs=1e-6
    )


def test_rank_transform_has_no_jacobian_and_auto_is_not_a_transform() -> None:
    with pytest.raises(InvalidParameterError, match="rank"):
        OutputTransform("rank").fit(np.arange(4.0)).log_jacobian(np.arange(4.0))
    with pytest.raises(InvalidParameterError, match="output_transform"):
        OutputTransform("auto")


def test_auto_transform_picks_log_for_log_normal_losses() -> None:
    X, f = _smooth_inputs()
    noise = 0.1 * np.random.default_rng(3).standard_normal(len(f))
    gp = ExactGP(output_transform="auto", seed=0).fit(X, np.exp(2.0 * f + noise))
    assert gp.transform_.kind == "log"
    assert gp.transform_scores_["log"] > gp.transform_scores_["standardize"] + 5.0


def test_auto_transform_picks_standardize_for_gaussian_losses() -> None:
    X, f = _smooth_inputs()
    noise = 0.1 * np.random.default_rng(3).standard_normal(len(f))
    gp = ExactGP(output_transform="auto", seed=0).fit(X, f + noise)
    assert gp.transform_.kind == "standardize"
    assert gp.transform_scores_["standardize"] > gp.transform_scores_["log"] + 5.0


def test_auto_transform_equals_the_chosen_fixed_transform() -> None:
    X, f = _smooth_inputs()
    y = np.exp(2.0 * f)
    auto = ExactGP(output_transform="auto", seed=0).fit(X, y)
    fixed = ExactGP(output_transform=auto.transform_.kind, seed=0).fit(X, y)
    assert auto.hyperparameters_ == fixed.hyperparameters_
    Z = torch.tensor(np.random.default_rng(4).random((5, 3)))
    torch.testing.assert_close(auto.predict(Z), fixed.predict(Z))
    # Conditioning keeps the chosen transform (fantasies are on the same scale).
    liar = auto.condition(Z[:1].numpy(), np.array([0.0]))
    assert liar.transform_ is auto.transform_
    np.testing.assert_allclose(liar.transform_losses(y), auto.transform_losses(y))


def test_auto_transform_without_fitting_scores_the_warm_start() -> None:
    X, f = _smooth_inputs()
    y = np.exp(2.0 * f)
    hp = ExactGP(output_transform="log", seed=0).fit(X, y).hyperparameters_
    gp = ExactGP(output_transform="auto", warm_start=hp, fit_hyperparameters=False).fit(X, y)
    assert gp.hyperparameters_ == hp and gp.transform_.kind == "log"


@pytest.mark.parametrize(
    "make",
    [lambda: ExactGP(min_noise=-1.0), lambda: ExactGP(min_noise=0.0), lambda: ExactGP(max_iter=-1),
     lambda: GPHyperparameters((1.0,), 1.0, 0.0), lambda: GPHyperparameters((0.0,), 1.0, 1e-3),
     lambda: ExactGP(seed="a")],
)
def test_a_zero_or_negative_noise_or_scale_is_refused(make):
    # A zero noise left the Cholesky retry loop multiplying zero by ten forever.
    with pytest.raises(InvalidParameterError, match=r"must be (a finite number > 0|an int >= 0)"):
        make()


def test_predict_before_fit_or_on_other_columns_is_refused():
    gp = ExactGP()
    with pytest.raises(InvalidParameterError, match="call fit first"):
        gp.predict(torch.zeros((1, 2), dtype=torch.float64))
    gp.fit(np.random.default_rng(0).random((5, 2)), np.arange(5.0))
    with pytest.raises(InvalidParameterError, match=r"2 input columns.*\(1, 3\)"):
        gp.predict(torch.zeros((1, 3), dtype=torch.float64))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda gp: gp.predict_with_grad(torch.zeros((3, 5), dtype=torch.float64)),
         r"ExactGP.predict_with_grad needs .* 2 input columns.*\(3, 5\)"),
        (lambda gp: ExactGP().predict_with_grad(torch.zeros((3, 2), dtype=torch.float64)),
         r"predict_with_grad needs a fitted GP \(call fit first\).*an unfitted GP"),
        (lambda gp: gp.condition(np.zeros((1, 3)), np.zeros(1)), r"ExactGP.condition needs .* 2 input columns"),
        (lambda gp: gp.condition(np.zeros((2, 2)), np.zeros(1)), r"'y_model' parameters of ExactGP.condition.*2 rows"),
        (lambda gp: gp.condition(np.zeros((1, 2)), np.array([np.nan])), r"ExactGP.condition must be finite"),
        (lambda gp: ExactGP(fit_hyperparameters="no"), r"'fit_hyperparameters' parameter of ExactGP.*'no'"),
    ],
)
def test_prediction_conditioning_and_flags_name_their_bad_input(call, message):
    gp = ExactGP().fit(np.random.default_rng(0).random((6, 2)), np.arange(6.0))
    with pytest.raises(InvalidParameterError, match=message):
        call(gp)


@pytest.mark.filterwarnings("error")  # NumPy's overflow RuntimeWarnings among them
@pytest.mark.parametrize("kind", ["standardize", "log", "rank", "none"])
def test_output_transforms_of_losses_near_the_largest_float_stay_finite(kind: str) -> None:
    y = np.array([1e307, -1e307, 5e306, 1.7e308, -1.7e308, 0.0])
    transform = OutputTransform(kind).fit(y)
    z = transform.transform(y)
    # "none" models the losses divided by as much as brings them below 2**500.
    assert np.all(np.isfinite(z)) and np.all(np.abs(z) < (2.0**500 if kind == "none" else 10.0))
    assert np.argmin(z) == 4 and np.argmax(z) == 3
    if kind == "standardize":  # the same map as of the losses divided by a power of two
        np.testing.assert_array_equal(z, OutputTransform(kind).fit(y / 2.0**900).transform(y / 2.0**900))
    if kind != "rank":
        h = 1e302  # a step the model scale resolves at every loss
        slopes = (transform.transform(y + h) - transform.transform(y - h)) / (2 * h)
        assert transform.log_jacobian(y) == pytest.approx(float(np.sum(np.log(slopes))), rel=1e-6)


@pytest.mark.filterwarnings("error")
def test_small_losses_beside_a_huge_one_keep_their_log_scale_and_ranks() -> None:
    y = np.array([1e-30, 2e-30, 3e-30, 1e300])
    rank = OutputTransform("rank").fit(y)
    np.testing.assert_allclose(rank.transform(y), ndtri((np.arange(4) + 0.5) / 4))
    log = OutputTransform("log").fit(y)
    shift = 1e-30 - 0.1 * (2.5e-30 - 1e-30)  # a tenth of the gap to the median below the best
    logged = np.log(y - shift)
    np.testing.assert_allclose(log.transform(y), (logged - logged.mean()) / logged.std(), rtol=1e-9)
    assert rank.unit_ == log.unit_ == 1.0
    # Standardised, the losses are divided by no more than brings the largest below 2**500.
    standardized = OutputTransform("standardize").fit(y)
    assert 2.0**499 <= 1e300 / standardized.unit_ < 2.0**500
    z = standardized.transform(y)
    assert np.all(np.isfinite(z)) and z[3] > 0 > z[0]
