"""Proximal operators against hand formulas and brute force, the step rules, and proximal gradient."""

from __future__ import annotations

import pytest
import torch

from metahpo.exceptions import InvalidParameterError
from metahpo.metalearn import (
    BoxIndicator,
    GroupLassoPenalty,
    L1Penalty,
    MCPPenalty,
    ZeroPenalty,
    barzilai_borwein_step,
    gradient_mapping_norm,
    nonmonotone_accept,
    proximal_gradient,
)

DOUBLE = torch.float64


@pytest.mark.parametrize("penalty", [L1Penalty(0.7), MCPPenalty(0.7, 2.5)])
@pytest.mark.parametrize("step", [0.3, 1.0, 2.0])
def test_scalar_prox_is_the_argmin_found_on_a_fine_grid(
    penalty: L1Penalty | MCPPenalty, step: float
) -> None:
    grid = torch.linspace(-6, 6, 240001, dtype=DOUBLE)
    for v in (-4.0, -1.5, -0.5, 0.1, 0.9, 2.0, 5.0):
        mcp = isinstance(penalty, MCPPenalty)
        a = grid.abs()
        if mcp:
            lam, gamma = penalty.strength, penalty.concavity
            g = torch.where(
                a <= gamma * lam,
                lam * a - a**2 / (2 * gamma),
                torch.full_like(a, gamma * lam**2 / 2),
            )
        else:
            g = penalty.strength * a
        # The penalty's value() agrees with the hand formula on a few points of the grid.
        assert float(penalty.value(grid[::40000])) == pytest.approx(float(g[::40000].sum()))
        best = grid[torch.argmin(g + (grid - v) ** 2 / (2 * step))]
        assert float(penalty.prox(torch.tensor([v], dtype=DOUBLE), step)) == pytest.approx(
            float(best), abs=1e-4
        )


def test_soft_thresholding_group_shrinkage_and_clipping_by_hand() -> None:
    v = torch.tensor([3.0, -0.5, -2.0, 4.0], dtype=DOUBLE)
    assert L1Penalty(1.0).prox(v, 1.0).tolist() == [2.0, 0.0, -1.0, 3.0]
    group = GroupLassoPenalty(1.0, [[0, 3], [1]])
    # ‖(3, 4)‖ = 5 shrinks to 4; |-0.5| <= 1 vanishes; index 2 is in no group.
    assert group.prox(v, 1.0).tolist() == pytest.approx([2.4, 0.0, -2.0, 3.2])
    assert float(group.value(v)) == pytest.approx(5.5)
    assert BoxIndicator(-1.0, 1.0).prox(v, 1.0).tolist() == [1.0, -0.5, -1.0, 1.0]
    assert float(BoxIndicator(-1.0, 1.0).value(v)) == float("inf")


def test_barzilai_borwein_step_by_hand_with_its_safeguards() -> None:
    s = torch.tensor([[1.0, 1.0], [1.0, 0.0], [1.0, 0.0]], dtype=DOUBLE)
    y = torch.tensor([[2.0, 2.0], [-1.0, 0.0], [1e-9, 0.0]], dtype=DOUBLE)
    previous = torch.tensor([0.1, 0.1, 0.1], dtype=DOUBLE)
    steps = barzilai_borwein_step(s, y, previous, min_step=1e-3, max_step=100.0)
    # sᵀs/sᵀy = 2/4; negative curvature doubles the previous step; tiny curvature hits max_step.
    assert steps.tolist() == pytest.approx([0.5, 0.2, 100.0])


def test_nonmonotone_test_compares_with_the_worst_recent_value() -> None:
    displacement = torch.tensor([1.0, 0.0], dtype=DOUBLE)
    step = torch.tensor(1.0, dtype=DOUBLE)
    recent = torch.tensor([1.0, 3.0, 2.0], dtype=DOUBLE)

    def accept(value):
        return bool(
            nonmonotone_accept(
                torch.tensor(value, dtype=DOUBLE),
                recent,
                displacement,
                step,
                sufficient_decrease=0.5,
            )
        )

    assert accept(2.74) and not accept(2.76) and not accept(float("nan"))


def test_gradient_mapping_by_hand() -> None:
    objective = lambda x: 0.5 * ((x - 3.0) ** 2).sum()  # noqa: E731
    # x = 0, t = 1: prox of 3 under L1(1) is 2, so G = (0 - 2)/1.
    assert gradient_mapping_norm(
        objective, L1Penalty(1.0), torch.zeros(1, dtype=DOUBLE), 1.0
    ) == pytest.approx(2.0)
    assert gradient_mapping_norm(
        objective, ZeroPenalty(), torch.zeros(2, dtype=DOUBLE), 0.5
    ) == pytest.approx(3.0 * 2**0.5)


def _orthogonal_lasso() -> tuple[object, torch.Tensor]:
    # f(x) = ½‖x - v‖²: the Lasso solution is soft thresholding of v.
    v = torch.tensor([3.0, -0.2, 1.5, -2.5, 0.4], dtype=DOUBLE)
    return (lambda x: 0.5 * ((x - v) ** 2).sum()), v


@pytest.mark.parametrize(
    ("method", "step_rule", "step"),
    [
        ("ista", "fixed", 1.0),
        ("ista", "backtracking", 5.0),
        ("fista", "fixed", 1.0),
        ("fista", "backtracking", 5.0),
        ("ista", "barzilai_borwein", 5.0),
    ],
)
def test_every_variant_solves_the_orthogonal_lasso(
    method: str, step_rule: str, step: float
) -> None:
    _objective, v = _orthogonal_lasso()
    matrix = torch.diag(torch.tensor([1.0, 2.0, 0.5, 1.0, 3.0], dtype=DOUBLE))
    scaled = lambda x: 0.5 * ((matrix @ x - v) ** 2).sum()  # noqa: E731
    result = proximal_gradient(
        scaled,
        L1Penalty(0.5),
        torch.zeros(5, dtype=DOUBLE),
        method=method,
        step_rule=step_rule,
        step=step / 9.0 if step_rule == "fixed" else step,
        max_iter=5000,
        tol=1e-10,
    )
    d = torch.diagonal(matrix)
    expected = torch.sign(v) * (v.abs() * d - 0.5).clamp_min(0) / d**2
    assert result.converged
    assert result.x.tolist() == pytest.approx(expected.tolist(), abs=1e-8)


def test_bb_on_mcp_reaches_a_stationary_point_and_never_exceeds_the_worst_recent_value() -> None:
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(15, 30, generator=generator, dtype=DOUBLE)
    target = torch.randn(15, generator=generator, dtype=DOUBLE)
    objective = lambda w: 0.5 * ((features @ w - target) ** 2).sum() / 15  # noqa: E731
    penalty = MCPPenalty(0.1, 3.0)
    result = proximal_gradient(
        objective,
        penalty,
        torch.zeros(30, dtype=DOUBLE),
        method="ista",
        step_rule="barzilai_borwein",
        step=1.0,
        max_iter=3000,
        tol=1e-9,
        memory=5,
    )
    assert result.converged
    lipschitz = float(torch.linalg.matrix_norm(features, 2) ** 2 / 15)
    assert gradient_mapping_norm(objective, penalty, result.x, 1.0 / lipschitz) < 1e-7
    history = result.history
    for k in range(1, len(history)):
        assert float(history[k]) <= float(history[max(0, k - 5) : k].max()) + 1e-12


def test_fixed_steps_too_large_diverge_and_are_reported_as_not_converged() -> None:
    objective = lambda x: 0.5 * (4.0 * x**2).sum()  # noqa: E731  L = 4: steps above 1/2 diverge
    result = proximal_gradient(
        objective,
        ZeroPenalty(),
        torch.ones(2, dtype=DOUBLE),
        method="ista",
        step_rule="fixed",
        step=0.6,
        max_iter=2000,
    )
    assert not result.converged


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"method": "adam"}, "method"),
        ({"step_rule": "armijo"}, "step_rule"),
        ({"method": "fista", "step_rule": "barzilai_borwein"}, "step_rule"),
        ({"step": 0.0}, "step"),
        ({"tol": -1.0}, "tol"),
        ({"max_iter": 0}, "max_iter"),
        ({"memory": 0}, "memory"),
        ({"x0": torch.tensor([1, 2])}, "x0"),
        ({"penalty": 0.1}, "penalty"),
        ({"objective": "f"}, "objective"),
        ({"penalty": GroupLassoPenalty(0.1, [[0, 5]])}, "x0"),
    ],
)
def test_bad_input_is_refused_by_name(kwargs: dict[str, object], name: str) -> None:
    arguments: dict[str, object] = {
        "objective": lambda x: (x**2).sum(),
        "penalty": L1Penalty(0.1),
        "x0": torch.ones(2, dtype=DOUBLE),
    }
    arguments.update(kwargs)
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter of proximal_gradient"):
        proximal_gradient(**arguments)  # type: ignore[arg-type]


def test_penalties_refuse_bad_parameters_by_name() -> None:
    with pytest.raises(InvalidParameterError, match="'strength' parameter of L1Penalty"):
        L1Penalty(-1.0)
    with pytest.raises(InvalidParameterError, match="'concavity' parameter of MCPPenalty"):
        MCPPenalty(0.1, 1.0)
    with pytest.raises(InvalidParameterError, match="'groups' parameter of GroupLassoPenalty"):
        GroupLassoPenalty(0.1, [[0, 1], [1, 2]])


def test_step_rules_refuse_bad_parameters_by_name() -> None:
    s = torch.ones(2, dtype=DOUBLE)
    with pytest.raises(
        InvalidParameterError, match="'min_step' and 'max_step' parameters of barzilai_borwein_step"
    ):
        barzilai_borwein_step(s, s, torch.tensor(1.0), min_step=1.0, max_step=0.5)
    with pytest.raises(InvalidParameterError, match="'growth' parameter of barzilai_borwein_step"):
        barzilai_borwein_step(s, s, torch.tensor(1.0), growth=0.5)
    with pytest.raises(
        InvalidParameterError, match="'gradient_change' parameter of barzilai_borwein_step"
    ):
        barzilai_borwein_step(s, torch.ones(3, dtype=DOUBLE), torch.tensor(1.0))
    with pytest.raises(
        InvalidParameterError, match="'sufficient_decrease' parameter of nonmonotone_accept"
    ):
        nonmonotone_accept(
            torch.tensor(1.0), torch.ones(2), s, torch.tensor(1.0), sufficient_decrease=1.5
        )


@pytest.mark.parametrize("step_rule", ["fixed", "backtracking", "barzilai_borwein"])
def test_every_step_rule_takes_a_matrix_iterate(step_rule):
    # argmin (w - 1)² + 0.1 |w| is 0.95 in every entry.
    result = proximal_gradient(lambda W: ((W - 1) ** 2).sum(), L1Penalty(0.1),
                               torch.zeros(2, 2, dtype=torch.float64), method="ista",
                               step_rule=step_rule, step=0.25)
    assert result.x.shape == (2, 2)
    assert torch.allclose(result.x, torch.full((2, 2), 0.95, dtype=torch.float64), atol=1e-6)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: BoxIndicator(float("nan"), 1.0), "'lower' parameter of BoxIndicator must hold numbers"),
        (lambda: BoxIndicator(0.0, torch.tensor([1.0, float("nan")])), "'upper' parameter of BoxIndicator"),
        (lambda: gradient_mapping_norm(lambda x: (x**2).sum(), L1Penalty(1.0), torch.zeros(2, dtype=DOUBLE), step=-1.0),
         "'step' parameter of gradient_mapping_norm must be > 0. Got -1.0"),
        (lambda: gradient_mapping_norm(lambda x: (x**2).sum(), L1Penalty(1.0), torch.zeros(2, dtype=DOUBLE), step=0.0),
         "'step' parameter of gradient_mapping_norm must be > 0"),
        (lambda: gradient_mapping_norm(lambda x: (x**2).sum(), GroupLassoPenalty(1.0, [[0, 3]]),
                                       torch.zeros(3, dtype=DOUBLE), step=1.0),
         r"'x' parameter of gradient_mapping_norm must have at least 4 entries.*largest index is 3"),
    ],
)
def test_penalties_and_the_gradient_mapping_refuse_what_they_cannot_measure(call, message) -> None:
    with pytest.raises(InvalidParameterError, match=message):
        call()


def test_an_infinite_box_bound_is_no_bound() -> None:
    box = BoxIndicator(float("-inf"), 1.0)
    assert box.prox(torch.tensor([-5.0, 3.0], dtype=DOUBLE), 1.0).tolist() == [-5.0, 1.0]
