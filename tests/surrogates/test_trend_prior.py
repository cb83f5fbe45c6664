"""The trend weight's prior N(w0, s²), measured on the knowledge's tasks and used by a study's GP."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from metahpo.surrogates import loo_nll_of_losses
from metahpo.surrogates._deep_kernel import DeepKernelGP, DeepKernelNet, loo_nll, trend_weight
from metahpo.surrogates._kernels import matern52
from metahpo.surrogates.meta import MetaTrainingConfig
from metahpo.surrogates.meta._config import TaskData
from metahpo.surrogates.meta._model import MetaModel
from metahpo.surrogates.meta._trend import trend_prior


def _net() -> tuple[DeepKernelNet, dict[str, torch.Tensor]]:
    torch.manual_seed(1)
    net = DeepKernelNet(2, hidden=8, n_outputs=4, trend=True)
    params = {k: v.detach().clone() for k, v in net.named_parameters()}
    params["log_lengthscales"] = torch.full_like(params["log_lengthscales"], np.log(0.2))
    return net, params


def _parts(net, params, x):
    features = torch.func.functional_call(net, params, (x,))
    ls, scale = torch.exp(params["log_lengthscales"]), torch.exp(params["log_outputscale"])
    noise = torch.exp(params["log_noise"]) + 1e-4
    return features, ls, scale, noise


def test_trend_weight_is_the_posterior_mean_of_the_weight():
    net, params = _net()
    x = torch.rand(7, 2, dtype=torch.float64)
    y = torch.randn(7, dtype=torch.float64)
    with torch.no_grad():
        f, ls, scale, noise = _parts(net, params, x)
        m = f[:, -1]
        full = matern52(f[:, :-1], f[:, :-1], ls, scale) + torch.outer(m, m) + noise * torch.eye(7, dtype=x.dtype)
        # w ~ N(0, 1), y = w m + rest: E[w | y] = Cov(w, y) K⁻¹ y = mᵀ K⁻¹ y,
        # Var[w | y] = 1 - mᵀ K⁻¹ m.
        expected_mean = float(m @ torch.linalg.solve(full, y))
        expected_var = 1.0 - float(m @ torch.linalg.solve(full, m))
        mean, variance = trend_weight(net, params, x, y)
        assert mean == pytest.approx(expected_mean, rel=1e-8)
        assert variance == pytest.approx(expected_var, rel=1e-8)


def test_the_posterior_is_a_gp_with_mean_w0_m_and_kernel_plus_s2_m_m():
    net, params = _net()
    rng = np.random.default_rng(0)
    X, Xq = rng.uniform(size=(6, 2)), rng.uniform(size=(4, 2))
    y = rng.normal(size=6)
    w0, s = -0.7, 0.2
    gp = DeepKernelGP(net, params, adapt_steps=0, output_transform="none", trend_prior=(w0, s)).fit(X, y)
    with torch.no_grad():
        mean, std = gp.predict(torch.as_tensor(Xq))
        f, ls, scale, noise = _parts(net, params, torch.as_tensor(np.vstack([X, Xq])))
        m, rest = f[:, -1], f[:, :-1]
        K = matern52(rest, rest, ls, scale) + s**2 * torch.outer(m, m)
        train, query = slice(0, 6), slice(6, 10)
        Ktt = K[train, train] + noise * torch.eye(6, dtype=torch.float64)
        resid = torch.as_tensor(y) - w0 * m[train]
        expected_mean = w0 * m[query] + K[query, train] @ torch.linalg.solve(Ktt, resid)
        expected_var = torch.diagonal(K[query, query] - K[query, train] @ torch.linalg.solve(Ktt, K[train, query]))
    torch.testing.assert_close(mean, expected_mean)
    torch.testing.assert_close(std**2, expected_var)
    # Pending "constant liars" condition the same GP: as a refit on the extended data.
    extra = rng.uniform(size=(2, 2))
    liars = np.full(2, 1.5)
    conditioned = gp.condition(extra, liars)
    refit = DeepKernelGP(net, params, adapt_steps=0, output_transform="none", trend_prior=(w0, s)).fit(
        np.vstack([X, extra]), np.concatenate([y, liars])
    )
    with torch.no_grad():
        torch.testing.assert_close(conditioned.predict(torch.as_tensor(Xq))[0], refit.predict(torch.as_tensor(Xq))[0])
    # The leave-one-out score the step count is chosen by is the fitted posterior's.
    with torch.no_grad():
        direct = float(loo_nll(net, params, (torch.as_tensor(X), torch.as_tensor(y)), (w0, s)))
    assert loo_nll_of_losses(gp, y) == pytest.approx(direct, rel=1e-6)
    assert direct != pytest.approx(float(loo_nll(net, params, (torch.as_tensor(X), torch.as_tensor(y)))), rel=1e-3)


def test_the_prior_is_measured_on_the_tasks_and_carries_their_sign():
    net, params = _net()
    # A weak Matérn part: the trend has to explain the losses.
    params["log_outputscale"] = torch.tensor(np.log(0.01), dtype=torch.float64)
    # A trend that varies across the box about zero (a fresh head's is nearly constant).
    params["trend_head.weight"] = 40.0 * params["trend_head.weight"]
    with torch.no_grad():
        centre = torch.func.functional_call(net, params, (torch.rand(200, 2, dtype=torch.float64),))[:, -1].mean()
    params["trend_head.bias"] = params["trend_head.bias"] - centre
    model = MetaModel(2, MetaTrainingConfig(hidden=8, n_outputs=4, trend=True), params)
    rng = np.random.default_rng(0)
    tasks = []
    for i in range(5):
        X = rng.uniform(size=(40, 2))
        with torch.no_grad():
            m = torch.func.functional_call(net, params, (torch.as_tensor(X),))[:, -1].numpy()
        # Good configs at the high end of m on every task: the weight is negative.
        tasks.append(TaskData(X, -m + 0.05 * rng.normal(size=40), f"t{i}"))
    mean, spread = trend_prior(model, tasks)
    assert mean < 0.0 and 0.0 < spread < 1.0
    flipped, _ = trend_prior(model, [TaskData(t.X, -t.y, t.name) for t in tasks])
    assert flipped == pytest.approx(-mean, rel=0.2)
    assert trend_prior(model, tasks[:1]) == (0.0, 1.0)  # one task says nothing about the spread
    plain = MetaModel(2, MetaTrainingConfig(hidden=8, n_outputs=4, trend=False), params)
    assert trend_prior(plain, tasks) == (0.0, 1.0)
    assert model.surrogate().trend_prior == (0.0, 1.0)
    model.info["trend_prior"] = [mean, spread]
    assert model.surrogate().trend_prior == (mean, spread)


def test_the_provider_measures_the_prior_for_trained_and_loaded_models(tmp_path):
    import metahpo as mh
    from metahpo.surrogates import SpaceEncoding
    from metahpo.surrogates.meta import MetaModelProvider
    from metahpo.testing.synthetic import ShiftedBranin

    family = ShiftedBranin(n_tasks=4, seed=0)
    kb = mh.KnowledgeBase()
    design = family.space.sobol(32, seed=0)
    for task in family.tasks:
        kb.add_task(family.space, design, [family.evaluate(task, c) for c in design], name=task,
                    source="bundled:branin")
    encoding = SpaceEncoding(family.space)
    provider = MetaModelProvider(MetaTrainingConfig(meta_steps=5))
    model = provider.model(kb, encoding)
    mean, spread = model.info["trend_prior"]
    assert np.isfinite(mean) and spread > 0.0
    # A model saved before the prior existed gets it when it is next handed out.
    old = MetaModel.from_bytes(model.to_bytes())
    del old.info["trend_prior"]
    again = MetaModelProvider(MetaTrainingConfig(meta_steps=5), initial=old).model(kb, encoding)
    assert again.info["trained_on"] == 4  # the ready-trained model itself, not a new one
    assert again.info["trend_prior"] == pytest.approx([mean, spread], abs=1e-6)


def test_the_query_loss_scores_the_posterior_a_study_gets_under_the_prior():
    # The continual update's guard scores models with predictive_nll: under the model's
    # prior it must be the Gaussian NLL of the study's own posterior (plus noise).
    from metahpo.surrogates._deep_kernel import predictive_nll

    net, params = _net()
    rng = np.random.default_rng(3)
    X, Xq = rng.uniform(size=(8, 2)), rng.uniform(size=(5, 2))
    y, yq = rng.normal(size=8), rng.normal(size=5)
    prior = (0.8, 0.3)
    gp = DeepKernelGP(net, params, adapt_steps=0, output_transform="none", trend_prior=prior).fit(X, y)
    with torch.no_grad():
        mean, std = gp.predict(torch.as_tensor(Xq))
        noise = float(torch.exp(params["log_noise"]) + 1e-4)
        variance = std.numpy() ** 2 + noise
        expected = np.mean(0.5 * ((yq - mean.numpy()) ** 2 / variance + np.log(2 * np.pi * variance)))
        batch = tuple(torch.as_tensor(a) for a in (X, y, Xq, yq))
        assert float(predictive_nll(net, params, batch, prior)) == pytest.approx(expected, rel=1e-6)
        # N(0, 1), meta-training's prior, is another posterior.
        assert float(predictive_nll(net, params, batch)) != pytest.approx(expected, rel=1e-3)
