"""Properties of the proximal operator and of batched proximal gradient descent."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from metahpo.exceptions import InvalidParameterError
from metahpo.surrogates import ProximalGradient, proximal_box

_floats = st.floats(-5.0, 5.0, allow_nan=False)


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, (4, 3), elements=_floats), st.floats(0.0, 3.0), st.floats(1e-3, 2.0))
def test_prox_is_idempotent_and_lands_in_the_box(
    v: np.ndarray, penalty: float, step: float
) -> None:
    lower, upper = (
        torch.full((4, 3), 0.2, dtype=torch.float64),
        torch.full((4, 3), 0.9, dtype=torch.float64),
    )
    x = torch.tensor(v)
    projected = proximal_box(x, step, lower, upper)
    assert torch.all(projected >= lower) and torch.all(projected <= upper)
    assert torch.equal(proximal_box(projected, step, lower, upper), projected)
    center = torch.full((4, 3), 0.5, dtype=torch.float64)
    pulled = proximal_box(x, step, lower, upper, center, penalty)
    assert torch.all(pulled >= lower) and torch.all(pulled <= upper)
    # The prox of a convex function is firmly non-expansive: here, toward the centre.
    assert torch.all((pulled - center).abs() <= (projected - center).abs() + 1e-12)


def test_prox_solves_its_minimisation_problem() -> None:
    rng = np.random.default_rng(0)
    v, c = torch.tensor(rng.normal(0.5, 1.0, (5, 2))), torch.tensor(rng.random((5, 2)))
    step, penalty = 0.3, 2.0
    prox = proximal_box(v, step, 0.0, 1.0, c, penalty)

    def objective(z: torch.Tensor) -> torch.Tensor:
        return ((z - v) ** 2).sum(-1) / (2 * step) + 0.5 * penalty * ((z - c) ** 2).sum(-1)

    best = objective(prox)
    for _ in range(200):
        other = torch.tensor(rng.random((5, 2)))
        assert torch.all(objective(other) >= best - 1e-12)


def _rastrigin_like(z: torch.Tensor) -> torch.Tensor:
    return ((z - 0.3) ** 2).sum(-1) * 10 - torch.cos(12 * z).sum(-1)


@pytest.mark.parametrize("penalty", [0.0, 5.0])
def test_iterates_stay_in_the_box_and_the_objective_never_increases(penalty: float) -> None:
    rng = np.random.default_rng(1)
    starts = torch.tensor(rng.uniform(-1.0, 2.0, (16, 3)))
    lower = torch.full((16, 3), 0.1, dtype=torch.float64)
    upper = torch.full((16, 3), 0.8, dtype=torch.float64)
    center = torch.full((16, 3), 0.6, dtype=torch.float64)
    result = ProximalGradient(max_iter=60, initial_step=5.0).minimize(
        _rastrigin_like, starts, lower, upper, center, penalty
    )
    assert torch.all(result.x >= lower) and torch.all(result.x <= upper)
    steps = torch.diff(result.history, dim=0)
    assert torch.all(steps <= 1e-12)  # a large first step is rejected, never accepted uphill
    assert torch.all(result.history[-1] < result.history[0])


def test_converges_to_a_box_constrained_minimum_of_an_ill_conditioned_quadratic() -> None:
    weights = torch.tensor([1.0, 100.0, 0.01], dtype=torch.float64)
    target = torch.tensor([0.3, 1.7, -0.4], dtype=torch.float64)

    def f(z: torch.Tensor) -> torch.Tensor:
        return (weights * (z - target) ** 2).sum(-1)

    result = ProximalGradient(max_iter=300).minimize(
        f, torch.full((2, 3), 0.5, dtype=torch.float64)
    )
    np.testing.assert_allclose(result.x.numpy(), [[0.3, 1.0, 0.0]] * 2, atol=1e-4)
    assert result.n_evaluations == 2 * (result.n_iterations + 1)


def test_rejects_bad_parameters() -> None:
    with pytest.raises(InvalidParameterError, match="initial_step"):
        ProximalGradient(initial_step=0.0)
    with pytest.raises(InvalidParameterError, match="max_iter"):
        ProximalGradient(max_iter=-1)


@pytest.mark.parametrize(
    ("make", "call", "message"),
    [
        (lambda: ProximalGradient(min_step=0), None, r"'min_step' and 'max_step' parameters of ProximalGradient"),
        (lambda: ProximalGradient(min_step=1.0, max_step=0.5), None, r"of ProximalGradient must satisfy"),
        (ProximalGradient, lambda pg: pg.minimize(lambda z: (z**2).sum(), torch.zeros(3, 2, dtype=torch.float64)),
         r"'f' parameter of ProximalGradient.minimize must map \(3, d\) rows to 3 values.*shape \(\)"),
        (ProximalGradient, lambda pg: pg.minimize(lambda z: (z**2).sum(-1), torch.zeros(2, 2, dtype=torch.float64),
                                                  lower=1.0, upper=0.0),
         r"'lower' and 'upper' parameters of ProximalGradient.minimize.*lower=1.0, upper=0.0"),
        (ProximalGradient, lambda pg: pg.minimize(lambda z: (z**2).sum(-1), torch.zeros(2, 2, dtype=torch.float64),
                                                  lower=float("nan")),
         r"'lower' and 'upper' parameters of ProximalGradient.minimize"),
    ],
)
def test_bad_step_bounds_boxes_and_objectives_are_refused_by_name(make, call, message) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        optimizer = make()
        call(optimizer)
