"""The deep-kernel GP: leave-one-out score and validated adaptation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from metahpo.exceptions import InvalidParameterError
from metahpo.surrogates._deep_kernel import DeepKernelGP, DeepKernelNet, loo_nll, predictive_nll


def _data(n: int = 9, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, 2))
    y = np.sin(4 * x[:, 0]) + x[:, 1] ** 2
    return torch.as_tensor(x), torch.as_tensor((y - y.mean()) / y.std())


def _net() -> DeepKernelNet:
    torch.manual_seed(0)  # The network's initial weights are the parameters under test.
    return DeepKernelNet(2, hidden=8, n_outputs=3)


def _params(net: DeepKernelNet) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.named_parameters()}


def test_loo_nll_matches_refitting_without_each_point():
    net = _net()
    params = _params(net)
    x, y = _data()
    brute = []
    for i in range(len(y)):
        keep = torch.arange(len(y)) != i
        brute.append(
            float(predictive_nll(net, params, (x[keep], y[keep], x[i : i + 1], y[i : i + 1])))
        )
    assert abs(float(loo_nll(net, params, (x, y))) - np.mean(brute)) < 1e-8


def test_validated_adaptation_never_predicts_worse_in_leave_one_out():
    net = _net()
    params = _params(net)
    x, y = _data(12, seed=1)
    scores = {}
    for validate in (False, True):
        gp = DeepKernelGP(net, params, adapt_steps=6, inner_lr=0.5, validate=validate)
        gp.fit(x.numpy(), y.numpy())
        scores[validate] = float(
            loo_nll(net, gp.params_, (x, torch.as_tensor(gp.transform_.transform(y.numpy()))))
        )
    start = float(loo_nll(net, params, (x, torch.as_tensor(gp.transform_.transform(y.numpy())))))
    assert scores[True] <= min(scores[False], start) + 1e-12
    assert 0 <= gp.adapted_steps_ <= 6


def test_validated_adaptation_keeps_the_start_when_steps_make_it_worse():
    net = _net()
    params = _params(net)
    x, y = _data(10, seed=2)
    # A huge step size throws the parameters far away: the first candidate must win.
    gp = DeepKernelGP(net, params, adapt_steps=3, inner_lr=50.0, validate=True).fit(
        x.numpy(), y.numpy()
    )
    assert gp.adapted_steps_ == 0
    assert all(torch.equal(gp.params_[k], params[k]) for k in params)


def test_adapted_steps_says_how_many_steps_the_parameters_took() -> None:
    net = _net()
    params = _params(net)
    x, y = _data(12, seed=1)
    plain = DeepKernelGP(net, params, adapt_steps=4, inner_lr=0.05).fit(x.numpy(), y.numpy())
    assert plain.adapted_steps_ == 4
    assert plain.condition(x[:1].numpy(), np.zeros(1)).adapted_steps_ == 4
    # A refit with nothing to adapt must not keep the count of the previous fit.
    validated = DeepKernelGP(net, params, adapt_steps=4, inner_lr=0.05, validate=True)
    validated.fit(x.numpy(), y.numpy())
    assert 0 <= validated.adapted_steps_ <= 4
    validated.adapt_steps = 0
    assert validated.fit(x.numpy(), y.numpy()).adapted_steps_ == 0
    assert all(torch.equal(validated.params_[k], params[k]) for k in params)
    one = DeepKernelGP(net, params, adapt_steps=4, validate=True).fit(x[:1].numpy(), y[:1].numpy())
    assert one.adapted_steps_ == 0
    # Too few points to validate on: every step is kept.
    two = DeepKernelGP(net, params, adapt_steps=4, inner_lr=0.05, validate=True)
    assert two.fit(x[:2].numpy(), y[:2].numpy()).adapted_steps_ == 4


def test_an_adaptation_that_breaks_the_kernel_keeps_the_meta_parameters():
    import pytest

    from metahpo.exceptions import InvalidParameterError

    torch.manual_seed(0)
    net = DeepKernelNet(2).double()
    meta = {k: v.detach() for k, v in net.named_parameters()}
    X = np.random.default_rng(0).random((6, 2))
    gp = DeepKernelGP(net, meta, inner_lr=100.0).fit(X, X.sum(1))
    assert gp.adapted_steps_ == 0
    assert all(torch.equal(gp.params_[k], meta[k]) for k in meta)
    with pytest.raises(InvalidParameterError, match="must be finite"):
        DeepKernelGP(net, meta).fit(X, np.r_[X.sum(1)[:5], np.nan])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"adapt_steps": -1}, r"'adapt_steps' parameter of DeepKernelGP must be an int >= 0"),
        ({"validate": "yes"}, r"'validate' parameter of DeepKernelGP must be True or False"),
        ({"meta_params": "drop log_noise"}, r"'meta_params' parameter of DeepKernelGP.*none for \['log_noise'\]"),
        ({"meta_params": "reshape log_noise"}, r"'meta_params' parameter.*other shapes for \['log_noise'\]"),
        ({"net": torch.nn.Linear(2, 1)}, r"'net' parameter of DeepKernelGP must be a DeepKernelNet"),
    ],
)
def test_the_constructor_names_a_bad_argument(options, message):
    net = _net()
    params = _params(net)
    if options.get("meta_params") == "drop log_noise":
        options["meta_params"] = {k: v for k, v in params.items() if k != "log_noise"}
    elif options.get("meta_params") == "reshape log_noise":
        options["meta_params"] = {**params, "log_noise": torch.zeros(2, dtype=torch.float64)}
    with pytest.raises(InvalidParameterError, match=message):
        DeepKernelGP(**{"net": net, "meta_params": params, **options})


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (torch.zeros(2, 2), r"torch.float64 rows of its 2 input columns. Got torch.float32 rows of shape \(2, 2\)"),
        (torch.zeros(2, 5, dtype=torch.float64), r"Got torch.float64 rows of shape \(2, 5\)"),
        (None, r"call fit first.*Got an unfitted model"),
    ],
)
def test_predict_names_rows_it_cannot_use(rows, message):
    net = _net()
    x, y = _data()
    gp = DeepKernelGP(net, _params(net), adapt_steps=0)
    if rows is not None:
        gp.fit(x.numpy(), y.numpy())
    with pytest.raises(InvalidParameterError, match=message):
        gp.predict(torch.zeros(2, 2, dtype=torch.float64) if rows is None else rows)
