"""Problems by name, benchmark optimizer names, and transfer methods on benchmark problems."""

from __future__ import annotations

import numpy as np
import pytest

import metahpo as mh
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge import KnowledgeBase, greedy_portfolio
from metahpo_bench import get_problem, problem_names
from metahpo_bench.runner._names import parse_optimizer_name
from metahpo_bench.runner._registry import make_adapter


def test_registry() -> None:
    for name in [
        "branin",
        "hartmann6",
        "rosenbrock",
        "shifted_branin",
        "shifted_hartmann6",
        "quadratic",
        "mf_branin",
    ]:
        assert name in problem_names()
        assert get_problem(name).name == name
    assert len(get_problem("rosenbrock", dim=7).space) == 7
    with pytest.raises(InvalidParameterError, match="'name'"):
        get_problem("no-such-problem")
    with pytest.raises(InvalidParameterError, match="keyword"):
        get_problem("branin", dim=3)


def test_optimizer_names_with_parameters_name_ablations() -> None:
    assert parse_optimizer_name("metabo[inner_steps=0;n_warm_start=0]") == (
        "metabo", {"inner_steps": 0, "n_warm_start": 0}
    )
    assert parse_optimizer_name("gpbo") == ("gpbo", {})
    assert parse_optimizer_name("gpbo[acquisition=lcb]") == ("gpbo", {"acquisition": "lcb"})
    adapter = make_adapter("metabo[inner_steps=0;adapt_steps=0]+hyperband")
    assert adapter.needs_meta_train and adapter.scheduler == "hyperband"
    with pytest.raises(InvalidParameterError, match=r"name\[key=value"):
        parse_optimizer_name("metabo[inner_steps]")


def test_a_scheduler_name_can_set_its_parameters() -> None:
    from metahpo_bench.runner._adapter import RunContext

    adapter = make_adapter("metabo+asha[min_budget=5]")
    assert adapter.name == "metabo+asha[min_budget=5]" and adapter.needs_fidelity
    problem = get_problem("mf_branin")
    scheduler = adapter._make_scheduler(RunContext(problem, problem.tasks[0], 0, 5))
    assert isinstance(scheduler, mh.ASHA) and scheduler.min_budget == 5
    assert scheduler.max_budget == problem.max_budget
    with pytest.raises(InvalidParameterError, match="optimizers"):
        make_adapter("metabo+no-such[min_budget=5]")
    # Refused when the benchmark is named, before any run starts.
    with pytest.raises(InvalidParameterError, match=r"ASHA does not take: \['no_such'\]"):
        make_adapter("metabo+asha[no_such=1]")


def test_an_ablation_builds_the_optimizer_with_its_parameters() -> None:
    from metahpo_bench.runner._metahpo import build_optimizer

    optimizer = build_optimizer("gpbo[acquisition=lcb;beta=1.5]")
    assert isinstance(optimizer, mh.GPBO) and optimizer.acquisition == "lcb" and optimizer.beta == 1.5
    with pytest.raises(InvalidParameterError, match=r"GPBO does not take.*no_such"):
        build_optimizer("gpbo[no_such=1]")


def test_metabo_ablations_configure_its_meta_model_provider() -> None:
    from metahpo_bench.runner._metahpo import build_optimizer

    kb = mh.KnowledgeBase()
    optimizer = build_optimizer("metabo[inner_steps=0;adapt_steps=0;n_warm_start=0;trend=false]",
                                kb, meta_seed=4)
    provider = optimizer._provider
    assert optimizer.knowledge is kb and optimizer.n_warm_start == 0
    assert provider.adapt_steps == 0 and provider.config.inner_steps == 0
    assert provider.config.trend is False and provider.config.seed == 4
    # The same ablation and seed share one provider (one meta-training per process).
    assert build_optimizer("metabo[trend=false;inner_steps=0;adapt_steps=0]", kb, 4)._provider is provider


def test_lcbench_portfolio_regret_is_well_below_random_search() -> None:
    """Leave-one-task-out on the 34 lcbench tasks: a 10-config portfolio chosen on the other
    33 tasks' losses at 256 Sobol configs, against 10 random configs (20 repeats), both
    scored by regret normalised with each task's min and max over 2000 random configs."""
    from metahpo_bench.yahpo import YahpoDataError, YahpoProblem, find_data_dir

    try:
        problem = YahpoProblem("lcbench", data_dir=find_data_dir())
    except YahpoDataError as exc:
        pytest.skip(f"YAHPO data not found: {exc}")
    design = problem.space.sobol(256, seed=0)
    losses = {
        t: np.asarray(problem.evaluate_batch(t, design, problem.max_budget)) for t in problem.tasks
    }
    kb = KnowledgeBase.from_design(problem.space, design, losses)
    ratios = []
    for test in problem.tasks:
        draws = problem.space.sample(np.random.default_rng(0), 2000)
        reference = np.asarray(problem.evaluate_batch(test, draws, problem.max_budget))
        low, high = reference.min(), reference.max()
        portfolio = greedy_portfolio([t for t in kb.tasks(problem.space) if t.name != test], 10)
        ours = np.asarray(problem.evaluate_batch(test, portfolio, problem.max_budget)).min()
        random = np.mean(
            [
                np.asarray(
                    problem.evaluate_batch(
                        test, problem.space.sample(np.random.default_rng(s), 10), problem.max_budget
                    )
                ).min()
                for s in range(1, 21)
            ]
        )
        ratios.append(((min(ours, high) - low) / (high - low), (random - low) / (high - low)))
    portfolio_regret, random_regret = np.mean(ratios, axis=0)
    # Measured here: 0.023 against 0.149, about a sixth.
    assert portfolio_regret < 0.3 * random_regret, (portfolio_regret, random_regret)
