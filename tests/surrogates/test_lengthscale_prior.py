"""The lengthscale prior of ExactGP, and learning one from related tasks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.optimize import approx_fprime

from metahpo.exceptions import InvalidParameterError
from metahpo.surrogates import ExactGP, LengthscalePrior, learn_lengthscale_prior


def _tasks(n_tasks: int, seed: int = 0, n: int = 60) -> list[tuple[np.ndarray, np.ndarray]]:
    """Tasks on which only column 0 matters (column 1 is irrelevant everywhere)."""
    rng = np.random.default_rng(seed)
    out = []
    for shift in np.linspace(0.1, 0.5, n_tasks):
        X = rng.random((n, 2))
        out.append((X, np.sin(8.0 * (X[:, 0] - shift))))
    return out


def test_learned_prior_finds_the_irrelevant_column_long_and_the_relevant_one_short() -> None:
    prior = learn_lengthscale_prior(_tasks(5))
    assert prior is not None
    relevant, irrelevant = np.exp(prior.location)
    assert relevant < 1.0 and irrelevant > 5.0 * relevant
    # Scales stay between the narrowest allowed and the default prior's √3.
    assert all(0.5 - 1e-12 <= s <= math.sqrt(3.0) + 1e-12 for s in prior.scale)


def test_too_few_tasks_learn_nothing_and_bad_datasets_are_refused() -> None:
    assert learn_lengthscale_prior(_tasks(2)) is None
    # A task whose losses are all equal says nothing about lengthscales: not counted.
    flat = [(np.random.default_rng(1).random((10, 2)), np.ones(10))]
    assert learn_lengthscale_prior(_tasks(2) + flat) is None
    with pytest.raises(InvalidParameterError, match="datasets"):
        learn_lengthscale_prior([(np.zeros((4, 2)), np.zeros(3))])
    with pytest.raises(InvalidParameterError, match="one width"):
        learn_lengthscale_prior(_tasks(3) + [(np.random.default_rng(2).random((10, 3)), np.arange(10.0))])


def test_the_prior_pulls_a_fit_on_few_points_toward_it() -> None:
    # Six points on which column 1 varies little: the default prior leaves its
    # lengthscale to chance; a prior learned on related tasks holds it long.
    rng = np.random.default_rng(3)
    X = rng.random((6, 2))
    y = np.sin(8.0 * (X[:, 0] - 0.3)) + 0.3 * X[:, 1] ** 2
    default = ExactGP(seed=0).fit(X, y)
    learned = ExactGP(seed=0, lengthscale_prior=LengthscalePrior((math.log(0.2), math.log(20.0)), (0.5, 0.5))).fit(X, y)
    assert learned.hyperparameters_.lengthscales[1] > 5.0
    assert learned.hyperparameters_.lengthscales[1] > 2.0 * default.hyperparameters_.lengthscales[1]
    # Conditioning keeps the prior (fantasies are fitted under it).
    assert learned.condition(X[:1], np.zeros(1)).lengthscale_prior == learned.lengthscale_prior


def test_objective_gradient_under_a_learned_prior_matches_finite_differences() -> None:
    rng = np.random.default_rng(6)
    X, y = torch.tensor(rng.random((30, 3))), torch.tensor(rng.standard_normal(30))
    gp = ExactGP(lengthscale_prior=LengthscalePrior((-1.0, 0.5, 2.0), (0.5, 0.8, 1.2)))
    raw = np.log([0.3, 0.5, 2.0, 1.2, 0.01])
    _, gradient = gp._objective(raw, X, y, 3)
    numeric = approx_fprime(raw, lambda r: gp._objective(r, X, y, 3)[0], 1e-6)
    np.testing.assert_allclose(gradient, numeric, rtol=1e-4, atol=1e-4 * np.abs(numeric).max())


def test_bad_priors_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="same length"):
        LengthscalePrior((0.0, 1.0), (1.0,))
    with pytest.raises(InvalidParameterError, match="scale"):
        LengthscalePrior((0.0,), (0.0,))
    with pytest.raises(InvalidParameterError, match="location"):
        LengthscalePrior((math.nan,), (1.0,))
    X = np.random.default_rng(0).random((5, 3))
    with pytest.raises(InvalidParameterError, match="lengthscale_prior.*3 entries"):
        ExactGP(lengthscale_prior=LengthscalePrior((0.0, 0.0), (1.0, 1.0))).fit(X, np.arange(5.0))
    with pytest.raises(InvalidParameterError, match="lengthscale_prior"):
        ExactGP(lengthscale_prior={"location": [0.0] * 3}).fit(X, np.arange(5.0))  # type: ignore[arg-type]


def test_priors_round_trip_through_json_dicts() -> None:
    prior = LengthscalePrior((0.1, -2.0), (0.5, 1.0))
    assert LengthscalePrior.from_dict(prior.to_dict()) == prior
    with pytest.raises(InvalidParameterError, match="location"):
        LengthscalePrior.from_dict({"scale": [1.0]})
