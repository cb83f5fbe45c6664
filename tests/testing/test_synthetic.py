"""Synthetic problems: known optima, related task families, multi-fidelity bias, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.stats import spearmanr

from metahpo.exceptions import InvalidParameterError
from metahpo.testing.synthetic import (
    Branin,
    Hartmann6,
    MultiFidelityBranin,
    QuadraticFamily,
    Rosenbrock,
    ShiftedBranin,
    ShiftedHartmann6,
    SyntheticProblem,
)

ALL_PROBLEMS = [
    Branin,
    Hartmann6,
    Rosenbrock,
    lambda: Rosenbrock(dim=3),
    ShiftedBranin,
    ShiftedHartmann6,
    QuadraticFamily,
    MultiFidelityBranin,
]
FAMILIES = [ShiftedBranin, ShiftedHartmann6, QuadraticFamily]


@pytest.fixture(params=ALL_PROBLEMS, ids=lambda f: getattr(f, "__name__", "Rosenbrock3"))
def problem(request: pytest.FixtureRequest) -> SyntheticProblem:
    return request.param()  # type: ignore[no-any-return]


def test_published_optima() -> None:
    assert Branin.global_minimum == pytest.approx(0.397887357729738, abs=1e-12)
    assert Hartmann6.global_minimum == pytest.approx(-3.32236801141551, abs=1e-12)
    branin = Branin()
    for x in [(-math.pi, 12.275), (math.pi, 2.275), (3 * math.pi, 2.475)]:
        value = branin.evaluate("0", {"x0": x[0], "x1": x[1]})
        assert value == pytest.approx(Branin.global_minimum, abs=1e-6)
    published = dict(
        zip(
            [f"x{i}" for i in range(6)],
            [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573],
            strict=True,
        )
    )
    assert Hartmann6().evaluate("0", published) == pytest.approx(-3.32237, abs=1e-5)


def test_optimum_reached_at_argmin(problem: SyntheticProblem) -> None:
    for task in list(problem.tasks)[:5]:
        config = problem.argmin(task)
        assert problem.space.contains(config)
        assert problem.evaluate(task, config) == pytest.approx(problem.optimum(task), abs=1e-6)


def test_optimum_is_a_lower_bound(problem: SyntheticProblem) -> None:
    rng = np.random.default_rng(0)
    for task in list(problem.tasks)[:3]:
        configs = problem.space.sample(rng, 2000)
        losses = problem.evaluate_batch(task, configs)
        assert losses.min() >= problem.optimum(task) - 1e-9


@pytest.mark.parametrize("family", FAMILIES)
def test_argmin_is_a_local_minimum(family: type[SyntheticProblem]) -> None:
    # A local optimiser started at the recorded argmin finds nothing lower.
    problem = family()
    names = problem.space.names
    bounds = [(problem.space[n].low, problem.space[n].high) for n in names]  # type: ignore[union-attr]
    for task in problem.tasks[:4]:
        start = np.array([problem.argmin(task)[n] for n in names]) + 1e-3
        result = minimize(
            lambda x, task=task: problem.evaluate_batch(
                task, [dict(zip(names, map(float, x), strict=True))]
            )[0],
            start,
            method="L-BFGS-B",
            bounds=bounds,
        )
        assert result.fun >= problem.optimum(task) - 1e-9
        assert result.fun == pytest.approx(problem.optimum(task), abs=1e-5)


def test_batch_matches_single(problem: SyntheticProblem) -> None:
    configs = problem.space.sample(np.random.default_rng(1), 10)
    task = problem.tasks[-1]
    batch = problem.evaluate_batch(task, configs)
    single = [problem.evaluate(task, config) for config in configs]
    np.testing.assert_allclose(batch, single, rtol=1e-12)


@pytest.mark.parametrize("family", FAMILIES)
def test_family_tasks_differ_but_correlate(family: type[SyntheticProblem]) -> None:
    problem = family(n_tasks=8)  # type: ignore[call-arg]
    configs = problem.space.sample(np.random.default_rng(2), 300)
    losses = np.array([problem.evaluate_batch(task, configs) for task in problem.tasks])
    optima = [problem.optimum(task) for task in problem.tasks]
    argmins = [tuple(problem.argmin(task).values()) for task in problem.tasks]
    assert len(set(optima)) == len(optima)
    assert len(set(argmins)) == len(argmins)
    correlations = []
    for i in range(len(losses)):
        for j in range(i + 1, len(losses)):
            assert not np.allclose(losses[i], losses[j])
            correlations.append(spearmanr(losses[i], losses[j]).statistic)
    assert np.median(correlations) > 0.5
    assert max(correlations) < 1.0 - 1e-6


@pytest.mark.parametrize("family", FAMILIES)
def test_family_is_seeded(family: type[SyntheticProblem]) -> None:
    config = family().space.sample(np.random.default_rng(3), 1)[0]
    a = family(n_tasks=5, seed=1).evaluate("3", config)  # type: ignore[call-arg]
    b = family(n_tasks=9, seed=1).evaluate("3", config)  # type: ignore[call-arg]
    c = family(n_tasks=5, seed=2).evaluate("3", config)  # type: ignore[call-arg]
    assert a == b
    assert a != c


def test_multi_fidelity_branin_bias() -> None:
    problem = MultiFidelityBranin(min_budget=1, max_budget=81)
    configs = problem.space.sample(np.random.default_rng(4), 500)
    full = problem.evaluate_batch("0", configs, 81)
    np.testing.assert_allclose(full, Branin().evaluate_batch("0", configs), rtol=1e-12)
    np.testing.assert_allclose(problem.evaluate_batch("0", configs), full, rtol=1e-12)
    low = problem.evaluate_batch("0", configs, 1)
    mid = problem.evaluate_batch("0", configs, 41)
    gap_low = np.abs(low - full).mean()
    gap_mid = np.abs(mid - full).mean()
    assert 0 < gap_mid < gap_low
    assert spearmanr(low, full).statistic > 0.8
    # The biased function's minimiser is not Branin's.
    argmin = problem.argmin("0")
    assert problem.evaluate("0", argmin, budget=1) > problem.global_minimum + 1e-3
    assert problem.fidelity(1) == 0.0 and problem.fidelity(81) == 1.0


def test_batch_accepts_one_budget_per_config() -> None:
    problem = MultiFidelityBranin(min_budget=1, max_budget=81)
    configs = problem.space.sample(np.random.default_rng(5), 3)
    batch = problem.evaluate_batch("0", configs, [1, 27, 81])
    expected = [problem.evaluate("0", c, b) for c, b in zip(configs, [1, 27, 81], strict=True)]
    np.testing.assert_allclose(batch, expected, rtol=1e-12)
    np.testing.assert_array_equal(
        problem.evaluate_batch("0", configs, np.array([1, 27, 81])), batch
    )
    at_27 = [problem.evaluate("0", c, 27) for c in configs]
    np.testing.assert_array_equal(problem.evaluate_batch("0", configs, np.int64(27)), at_27)
    with pytest.raises(InvalidParameterError, match="one budget per config"):
        problem.evaluate_batch("0", configs, [1, 27])


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ({"x0": 11.0, "x1": 1.0}, "'x0'"),
        ({"x0": 0.0, "x1": -0.1}, "'x1'"),
        ({"x0": 0.0}, "missing"),
        ({"x0": 0.0, "x1": 1.0, "x2": 1.0}, "unknown"),
        ({"x0": "a", "x1": 1.0}, "'x0'"),
        ({"x0": float("nan"), "x1": 1.0}, "'x0'"),
        ([0.0, 1.0], "dict"),
    ],
)
def test_bad_configs_rejected(config: object, match: str) -> None:
    for problem in (Branin(), ShiftedBranin(), MultiFidelityBranin()):
        with pytest.raises(InvalidParameterError, match=match):
            problem.evaluate("0", config)  # type: ignore[arg-type]
        with pytest.raises(InvalidParameterError, match=match):
            problem.evaluate_batch("0", [{"x0": 0.0, "x1": 1.0}, config])  # type: ignore[list-item]


def test_out_of_box_rejected_everywhere(problem: SyntheticProblem) -> None:
    config = problem.argmin(problem.tasks[0])
    name = problem.space.names[-1]
    bad = {**config, name: problem.space[name].high + 1.0}  # type: ignore[union-attr]
    with pytest.raises(InvalidParameterError, match=f"'{name}'"):
        problem.evaluate(problem.tasks[0], bad)


def test_bad_task_and_budget_rejected() -> None:
    config = {"x0": 0.0, "x1": 1.0}
    with pytest.raises(InvalidParameterError, match="'task'"):
        Branin().evaluate("1", config)
    with pytest.raises(InvalidParameterError, match="'task'"):
        ShiftedBranin(n_tasks=3).evaluate_batch("3", [config])
    with pytest.raises(InvalidParameterError, match=r"'budget'.*no fidelity"):
        Branin().evaluate("0", config, budget=1.0)
    with pytest.raises(InvalidParameterError, match="'budget'"):
        MultiFidelityBranin(min_budget=1, max_budget=81).evaluate("0", config, budget=0.5)


@pytest.mark.parametrize(
    ("factory", "kwargs", "match"),
    [
        (Rosenbrock, {"dim": 1}, "'dim'"),
        (ShiftedHartmann6, {"max_shift": 0.5}, "'max_shift'"),
        (ShiftedBranin, {"n_tasks": 0}, "'n_tasks'"),
        (ShiftedBranin, {"scale_range": (0.0, 1.0)}, "'scale_range'"),
        (QuadraticFamily, {"dim": 0}, "'dim'"),
        (MultiFidelityBranin, {"min_budget": 5, "max_budget": 5}, "'min_budget'"),
    ],
)
def test_bad_constructor_arguments(factory: type, kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        factory(**kwargs)


def test_quadratic_closed_form() -> None:
    problem = QuadraticFamily(dim=2, n_tasks=3)
    q = problem.coefficients("1")
    x = {"x0": 0.3, "x1": -1.2}
    expected = 0.5 * q.a * (0.3**2 + 1.2**2) + q.b[0] * 0.3 - q.b[1] * 1.2 + q.c
    assert problem.evaluate("1", x) == pytest.approx(expected, rel=1e-12)
