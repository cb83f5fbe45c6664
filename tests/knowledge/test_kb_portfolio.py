"""Greedy warm-start portfolios recover the planted optimum region of synthetic families."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from _knowledge_families import UNIT2, family_tasks, unit_family_tasks

import metahpo as mh
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge import KnowledgeBase, Task, greedy_portfolio, regret_matrix
from metahpo.testing.synthetic import QuadraticFamily, ShiftedBranin, ShiftedHartmann6

TRAIN = [str(i) for i in range(20)]
HELD_OUT = [str(i) for i in range(20, 30)]
# Branin's three minimisers; each task of ShiftedBranin moves them by at most max_shift.
BRANIN_MINIMIZERS = ((-math.pi, 12.275), (math.pi, 2.275), (3 * math.pi, 2.475))


def _regret_first(family, task: str, configs: list[dict]) -> float:
    return float(family.evaluate_batch(task, configs).min() - family.optimum(task))


def _random_regret(family, task: str, n: int, repeats: int = 40) -> float:
    return float(
        np.mean(
            [
                _regret_first(family, task, family.space.sample(np.random.default_rng(seed), n))
                for seed in range(repeats)
            ]
        )
    )


def test_branin_portfolio_starts_in_the_planted_region_and_beats_random() -> None:
    family = ShiftedBranin(n_tasks=30, seed=0, max_shift=1.5)
    portfolio = greedy_portfolio(family_tasks(family, TRAIN, n_configs=256), size=5)
    first = np.array([portfolio[0]["x0"], portfolio[0]["x1"]])
    # The region where the tasks' minimisers lie: each minimiser shifted by up to 1.5.
    slack = 1.5 + 0.3
    assert any(np.all(np.abs(first - np.array(m)) <= slack) for m in BRANIN_MINIMIZERS)
    ours = np.mean([_regret_first(family, t, portfolio) for t in HELD_OUT])
    random = np.mean([_random_regret(family, t, 5) for t in HELD_OUT])
    assert ours < 0.2 * random, (ours, random)


def test_hartmann6_portfolio_beats_random_on_held_out_tasks() -> None:
    family = ShiftedHartmann6(n_tasks=30, seed=0, max_shift=0.1)
    portfolio = greedy_portfolio(family_tasks(family, TRAIN, n_configs=256), size=5)
    from metahpo.testing._synthetic import _HARTMANN6_MINIMIZER

    first = np.array([portfolio[0][f"x{i}"] for i in range(6)])
    assert np.max(np.abs(first - np.array(_HARTMANN6_MINIMIZER))) < 0.1 + 0.1
    ours = np.mean([_regret_first(family, t, portfolio) for t in HELD_OUT])
    random = np.mean([_random_regret(family, t, 5) for t in HELD_OUT])
    assert ours < 0.5 * random, (ours, random)


def test_greedy_lowers_the_mean_regret_at_every_step() -> None:
    family = ShiftedBranin(n_tasks=20, seed=3)
    tasks = family_tasks(family, TRAIN, n_configs=128)
    portfolio = greedy_portfolio(tasks, size=6)
    regrets = regret_matrix(tasks, portfolio)
    curve = [np.minimum.accumulate(regrets, axis=0)[i].mean() for i in range(len(portfolio))]
    assert all(b <= a for a, b in itertools.pairwise(curve))
    # Greedy's first pick is the candidate with the best mean regret on its own.
    pool = list(tasks[0].configs)
    assert portfolio[0] == pool[int(np.argmin(regret_matrix(tasks, pool).mean(axis=1)))]
    assert greedy_portfolio(tasks, size=6) == portfolio  # deterministic


def test_tasks_with_their_own_designs_use_nearest_configs() -> None:
    family = ShiftedBranin(n_tasks=20, seed=0)
    tasks = [
        Task(
            t,
            family.space,
            (cs := family.space.sample(np.random.default_rng(i), 200)),
            family.evaluate_batch(t, cs),
        )
        for i, t in enumerate(TRAIN)
    ]
    portfolio = greedy_portfolio(tasks, size=3)
    first = np.array([portfolio[0]["x0"], portfolio[0]["x1"]])
    assert any(np.all(np.abs(first - np.array(m)) <= 1.8) for m in BRANIN_MINIMIZERS)


def test_explicit_candidates_and_bad_input() -> None:
    family = ShiftedBranin(n_tasks=5)
    tasks = family_tasks(family, ["0", "1", "2"], n_configs=64)
    candidates = [family.argmin("0"), {"x0": -5.0, "x1": 15.0}]
    assert greedy_portfolio(tasks, 2, candidates=candidates)[0] == candidates[0]
    with pytest.raises(InvalidParameterError, match="one search space"):
        greedy_portfolio([*tasks, Task("u", UNIT2, [{"x0": 0.1, "x1": 0.2}], [1.0])], 2)
    with pytest.raises(InvalidParameterError, match="'size'"):
        greedy_portfolio(tasks, 0)
    assert greedy_portfolio([], 3) == []


def test_knowledge_base_portfolio_follows_the_target_descriptor() -> None:
    names = [str(i) for i in range(8)]
    branin = unit_family_tasks(
        ShiftedBranin(n_tasks=10), names, "branin-", descriptor_centre=(1.0, 0.0)
    )
    quadratic_family = QuadraticFamily(dim=2, n_tasks=10)
    quadratic = unit_family_tasks(quadratic_family, names, "quad-", descriptor_centre=(0.0, 1.0))
    kb = KnowledgeBase(branin + quadratic)
    target = Task("new", descriptor={"a": 0.05, "b": 0.95})
    # Without k: the cluster of the nearest task, here the quadratic family.
    assert {t.name.split("-")[0] for t in kb.relevant(UNIT2, target)} == {"quad"}
    assert len(kb.relevant(UNIT2, target, k=3)) == 3
    assert len(kb.relevant(UNIT2, None)) == 16
    chosen = kb.portfolio(UNIT2, size=3, target=target)
    assert chosen == greedy_portfolio(quadratic, 3)
    assert chosen != greedy_portfolio(branin, 3)


def test_knowledge_base_portfolio_maps_overlapping_spaces() -> None:
    family = ShiftedBranin(n_tasks=5)
    kb = KnowledgeBase(family_tasks(family, ["0", "1", "2"], n_configs=64))
    wider = mh.Space({"x0": mh.Float(-5.0, 10.0), "x1": mh.Float(0.0, 15.0), "extra": mh.Int(1, 3)})
    portfolio = kb.portfolio(wider, size=2)
    assert all(wider.contains(c) for c in portfolio)
    assert [c["extra"] for c in portfolio] == [2, 2]  # the midpoint of a parameter no task has


def test_a_descriptor_nothing_shares_selects_every_task() -> None:
    family = ShiftedBranin(n_tasks=6)
    kb = KnowledgeBase(family_tasks(family, [str(i) for i in range(6)], n_configs=32))
    target = Task("new", descriptor={"n_samples": 100.0})
    assert len(kb.relevant(family.space, target)) == 6
    assert kb.portfolio(family.space, 3, target=target) == kb.portfolio(family.space, 3)


def test_neighbouring_integers_of_a_wide_range_are_different_candidates() -> None:
    space = mh.Space({"seed": mh.Int(0, 2**53)})
    n = 2**53 - 2
    configs = [{"seed": n}, {"seed": n + 1}, {"seed": n + 2}]
    tasks = [Task(f"t{i}", space, configs, losses) for i, losses in enumerate([[0.0, 1.0, 2.0], [2.0, 0.0, 1.0]])]
    assert len(set(tasks[0].config_keys())) == 3
    # Three seeds, three configs, however close they are.
    assert greedy_portfolio(tasks, 3) == [{"seed": n}, {"seed": n + 1}, {"seed": n + 2}]
