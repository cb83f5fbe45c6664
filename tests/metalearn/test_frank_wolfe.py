"""Frank–Wolfe: the oracles against brute force, the gap as a certificate, rates and bad input."""

from __future__ import annotations

import itertools

import pytest
import torch

from metahpo.exceptions import InvalidParameterError
from metahpo.metalearn import BoxLMO, L1BallLMO, NuclearNormBallLMO, SimplexLMO, frank_wolfe

DOUBLE = torch.float64


def _gradient(seed: int, d: int = 4) -> torch.Tensor:
    return torch.randn(d, generator=torch.Generator().manual_seed(seed), dtype=DOUBLE)


@pytest.mark.parametrize("seed", range(5))
def test_polytope_oracles_match_the_best_vertex_by_enumeration(seed: int) -> None:
    grad = _gradient(seed)
    d = grad.numel()
    cases = {
        SimplexLMO(2.0): [2.0 * torch.eye(d, dtype=DOUBLE)[i] for i in range(d)],
        L1BallLMO(1.5): [
            sign * 1.5 * torch.eye(d, dtype=DOUBLE)[i] for i in range(d) for sign in (-1.0, 1.0)
        ],
        BoxLMO(-1.0, 2.0): [
            torch.tensor(c, dtype=DOUBLE) for c in itertools.product((-1.0, 2.0), repeat=d)
        ],
    }
    for lmo, vertices in cases.items():
        best = min(float(grad @ v) for v in vertices)
        assert float(grad @ lmo(grad)) == pytest.approx(best, abs=1e-12)


def test_nuclear_norm_oracle_reaches_minus_radius_times_the_top_singular_value() -> None:
    grad = torch.randn(5, 3, generator=torch.Generator().manual_seed(0), dtype=DOUBLE)
    vertex = NuclearNormBallLMO(2.0)(grad)
    assert float((grad * vertex).sum()) == pytest.approx(
        -2.0 * float(torch.linalg.matrix_norm(grad, 2))
    )
    assert float(torch.linalg.matrix_norm(vertex, "nuc")) == pytest.approx(2.0)


def _least_squares(d: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(3 * d, d, generator=generator, dtype=DOUBLE), torch.randn(
        3 * d, generator=generator, dtype=DOUBLE
    )


def test_the_gap_bounds_the_suboptimality_and_away_steps_reach_the_solution() -> None:
    matrix, target = _least_squares()
    objective = lambda x: 0.5 * ((matrix @ x - target) ** 2).sum()  # noqa: E731
    lmo = SimplexLMO()
    x0 = lmo(torch.zeros(8, dtype=DOUBLE))
    exact = frank_wolfe(
        objective, lmo, x0, step_rule="line_search", away_steps=True, max_iter=20000, tol=1e-12
    )
    assert exact.converged and lmo.contains(exact.x)
    slow = frank_wolfe(objective, lmo, x0, step_rule="open_loop", max_iter=200, tol=0.0)
    suboptimality = slow.objectives - exact.objective
    assert bool((slow.gaps >= suboptimality - 1e-9).all())
    # Jaggi (2013), Theorem 1: f(x_k) - f* <= 2 C_f / (k + 2) with C_f <= L diam².
    lipschitz = float(torch.linalg.matrix_norm(matrix, 2) ** 2)
    k = torch.arange(len(suboptimality), dtype=DOUBLE)
    assert bool((suboptimality[1:] <= 2 * lipschitz * 2.0 / (k[1:] + 2)).all())


def test_frank_wolfe_solves_a_projection_onto_the_l1_ball() -> None:
    target = torch.tensor([2.0, -0.5, 0.25], dtype=DOUBLE)
    objective = lambda x: 0.5 * ((x - target) ** 2).sum()  # noqa: E731
    lmo = L1BallLMO(1.0)
    result = frank_wolfe(
        objective,
        lmo,
        lmo(torch.zeros(3, dtype=DOUBLE)),
        step_rule="line_search",
        away_steps=True,
        max_iter=2000,
        tol=1e-12,
    )
    assert result.x.tolist() == pytest.approx([1.0, 0.0, 0.0], abs=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"step_rule": "exact"}, "step_rule"),
        ({"away_steps": True}, "away_steps"),
        ({"max_iter": -1}, "max_iter"),
        ({"tol": float("nan")}, "tol"),
        ({"tol": -1.0}, "tol"),  # the gap is >= 0: the run would never stop
        ({"x0": torch.tensor([0.5, 0.6], dtype=DOUBLE)}, "x0"),
        ({"x0": [1.0, 0.0]}, "x0"),
        ({"lmo": "simplex"}, "lmo"),
    ],
)
def test_bad_input_is_refused_by_name(kwargs: dict[str, object], name: str) -> None:
    arguments: dict[str, object] = {
        "objective": lambda x: (x**2).sum(),
        "lmo": SimplexLMO(),
        "x0": torch.tensor([1.0, 0.0], dtype=DOUBLE),
    }
    arguments.update(kwargs)
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of frank_wolfe"):
        frank_wolfe(**arguments)  # type: ignore[arg-type]


def test_oracles_refuse_bad_radii_and_boxes() -> None:
    with pytest.raises(InvalidParameterError, match="'radius' parameter of SimplexLMO"):
        SimplexLMO(0.0)
    with pytest.raises(InvalidParameterError, match="'lower' and 'upper' parameters of BoxLMO"):
        BoxLMO(1.0, 0.0)
    with pytest.raises(InvalidParameterError, match="NuclearNormBallLMO needs a matrix"):
        NuclearNormBallLMO()(torch.ones(3))


def test_line_search_on_a_nan_objective_stops_as_open_loop_does():
    start = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    for rule in ("line_search", "open_loop"):
        result = frank_wolfe(lambda x: (x**2).sum() * float("nan"), SimplexLMO(), start,
                             max_iter=5, step_rule=rule)
        assert not result.converged
