"""Surrogate features of a space: one-hot categoricals, budgets, snapping and neighbours."""

from __future__ import annotations

import numpy as np
import torch

import metahpo as mh
from metahpo.surrogates import AcquisitionOptimizer, SpaceEncoding, TrustRegion, torch_threads

SPACE = mh.Space(
    {
        "lr": mh.Float(1e-4, 1.0, log=True),
        "depth": mh.Int(1, 5),
        "act": mh.Categorical(["relu", "tanh", "gelu"]),
    }
)


def test_features_round_trip_and_one_hot() -> None:
    encoding = SpaceEncoding(SPACE)
    configs = SPACE.sample(np.random.default_rng(0), 20)
    unit = SPACE.to_unit(configs)
    features = encoding.features(unit)
    assert features.shape == (20, 5)
    np.testing.assert_array_equal(features[:, 2:].sum(1), 1.0)
    assert SPACE.from_unit(encoding.unit(features)) == configs


def test_snap_gives_valid_rows_and_is_idempotent() -> None:
    encoding = SpaceEncoding(SPACE)
    relaxed = np.random.default_rng(1).random((30, 5))
    snapped = encoding.snap(relaxed)
    assert np.array_equal(encoding.snap(snapped), snapped)
    np.testing.assert_array_equal(snapped[:, 2:].sum(1), 1.0)
    np.testing.assert_allclose(snapped[:, 0], relaxed[:, 0])  # floats untouched
    configs = SPACE.from_unit(encoding.unit(snapped))
    np.testing.assert_allclose(encoding.features(SPACE.to_unit(configs)), snapped)


def test_neighbours_move_one_discrete_step() -> None:
    encoding = SpaceEncoding(SPACE)
    row = encoding.features(SPACE.to_unit([{"lr": 0.01, "depth": 1, "act": "tanh"}]))[0]
    neighbours = SPACE.from_unit(encoding.unit(encoding.neighbors(row)))
    assert {(c["depth"], c["act"]) for c in neighbours} == {(2, "tanh"), (1, "relu"), (1, "gelu")}


def test_budget_column_is_log_scaled() -> None:
    encoding = SpaceEncoding(SPACE, min_budget=1.0, max_budget=81.0)
    np.testing.assert_allclose(encoding.budget_feature(np.array([1.0, 9.0, 81.0])), [0.0, 0.5, 1.0])
    assert encoding.inputs(np.full((2, 3), 0.5), np.array([9.0, 81.0])).shape == (2, 6)
    assert not SpaceEncoding(SPACE).has_budget


def test_acquisition_optimizer_finds_the_discrete_minimum() -> None:
    encoding = SpaceEncoding(SPACE)
    target = encoding.features(SPACE.to_unit([{"lr": 0.001, "depth": 4, "act": "gelu"}]))[0]

    def loss(z: torch.Tensor) -> torch.Tensor:
        return ((z - torch.as_tensor(target)) ** 2).sum(-1)

    anchors = encoding.features(SPACE.to_unit(SPACE.sample(np.random.default_rng(2), 3)))
    with torch_threads(1):
        candidates = AcquisitionOptimizer().optimize(
            loss, encoding, anchors, np.random.default_rng(0)
        )
    best = SPACE.from_unit(encoding.unit(candidates.x[:1]))[0]
    assert (best["depth"], best["act"]) == (4, "gelu")
    assert abs(np.log10(best["lr"]) + 3) < 1e-3
    assert np.all(np.diff(candidates.value) >= 0)


def test_trust_region_confines_the_local_starts() -> None:
    encoding = SpaceEncoding(mh.Space({"x": mh.Float(0, 1), "y": mh.Float(0, 1)}))
    center = np.array([0.2, 0.2])

    def loss(z: torch.Tensor) -> torch.Tensor:
        return ((z - 0.9) ** 2).sum(-1)

    optimizer = AcquisitionOptimizer(n_global=0, n_local=4)
    candidates = optimizer.optimize(
        loss, encoding, center[None, :], np.random.default_rng(0), TrustRegion(center, 0.1)
    )
    assert np.all(np.abs(candidates.x - center) <= 0.1 + 1e-12)
    np.testing.assert_allclose(candidates.x[0], [0.3, 0.3], atol=1e-6)


def test_an_integers_relaxation_ends_at_its_extreme_values() -> None:
    encoding = SpaceEncoding(SPACE)
    low, high = encoding.feature_bounds()
    # depth 1..5 sits at cell centres 0.1 .. 0.9; the float and the one-hot block span [0, 1].
    np.testing.assert_allclose(low, [0.0, 0.1, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(high, [1.0, 0.9, 1.0, 1.0, 1.0])
    extremes = encoding.features(SPACE.to_unit([{"lr": 1.0, "depth": 5, "act": "relu"},
                                                {"lr": 1e-4, "depth": 1, "act": "gelu"}]))
    assert np.all(extremes >= low) and np.all(extremes <= high)


def test_the_search_stays_where_an_integer_has_values() -> None:
    # Beyond depth 5's cell centre (0.9) the loss pulls x toward 0.8 and falls to -5; inside,
    # the best x is 0.3. Searched on the whole unit interval, the optima sit at depth 1.0,
    # x 0.8, and snap back to depth 5 with x 0.8 (loss 0.25); confined to the integer's
    # values, the search finds x 0.3 (loss 0).
    encoding = SpaceEncoding(mh.Space({"x": mh.Float(0, 1), "depth": mh.Int(1, 5)}))

    def loss(z: torch.Tensor) -> torch.Tensor:
        beyond = torch.clamp((z[:, 1] - 0.9) / 0.1, 0.0, 1.0)
        return (1 - beyond) * (z[:, 0] - 0.3) ** 2 + beyond * ((z[:, 0] - 0.8) ** 2 - 5.0)

    with torch_threads(1):
        candidates = AcquisitionOptimizer().optimize(loss, encoding, np.empty((0, 2)),
                                                     np.random.default_rng(0))
    assert abs(candidates.x[0, 0] - 0.3) < 1e-4 and candidates.value[0] < 1e-8
    with torch.no_grad():
        np.testing.assert_allclose(candidates.value, loss(torch.as_tensor(candidates.x)).numpy())
