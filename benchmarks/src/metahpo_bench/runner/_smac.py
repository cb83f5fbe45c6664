"""SMAC3 peers through its ask/tell interface: the HPO facade and the multi-fidelity facade."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from metahpo_bench.runner._adapter import Adapter, RunContext
from metahpo_bench.runner._budget import Evaluator
from metahpo_bench.runner._configspace import from_configspace, to_configspace

__all__ = ["SMACAdapter"]

# SMAC's multi-fidelity initial design and Hyperband count low-budget trials in
# n_trials; this many per full-budget-equivalent is far more than a run can use.
_MF_TRIALS_PER_FULL_EVAL = 50


def _unused_target(config: object, seed: int = 0, budget: float | None = None) -> float:
    # The facades require a target function; with ask/tell it is never called.
    raise RuntimeError("evaluations go through ask/tell")


class SMACAdapter(Adapter):
    """SMAC3 2.x: ``multi_fidelity=False`` is the random-forest HPO facade,
    ``True`` the multi-fidelity facade (Hyperband with reduction factor ``eta``)."""

    def __init__(self, multi_fidelity: bool = False, eta: int = 3) -> None:
        self.multi_fidelity = multi_fidelity
        self.eta = eta
        self.name = "smac-mf" if multi_fidelity else "smac"
        self.needs_fidelity = multi_fidelity

    def prepare(self) -> None:
        import smac

        del smac

    def optimize(self, evaluator: Evaluator, context: RunContext) -> None:
        from smac import HyperparameterOptimizationFacade, MultiFidelityFacade, Scenario
        from smac.runhistory.dataclasses import TrialValue

        logging.getLogger("smac").setLevel(logging.ERROR)
        problem = context.problem
        with tempfile.TemporaryDirectory(prefix="metahpo-smac-") as tmp:
            if self.multi_fidelity:
                scenario = Scenario(
                    to_configspace(problem.space, context.seed),
                    output_directory=Path(tmp),
                    deterministic=True,
                    n_trials=context.n_full_evals * _MF_TRIALS_PER_FULL_EVAL,
                    seed=context.seed,
                    min_budget=problem.min_budget,
                    max_budget=problem.max_budget,
                )
                facade: HyperparameterOptimizationFacade = MultiFidelityFacade(
                    scenario,
                    _unused_target,
                    intensifier=MultiFidelityFacade.get_intensifier(scenario, eta=self.eta),
                    overwrite=True,
                    logging_level=logging.ERROR,
                )
            else:
                scenario = Scenario(
                    to_configspace(problem.space, context.seed),
                    output_directory=Path(tmp),
                    deterministic=True,
                    n_trials=context.n_full_evals,
                    seed=context.seed,
                )
                facade = HyperparameterOptimizationFacade(
                    scenario,
                    _unused_target,
                    intensifier=HyperparameterOptimizationFacade.get_intensifier(
                        scenario, max_config_calls=1
                    ),
                    overwrite=True,
                    logging_level=logging.ERROR,
                )
            while not evaluator.exhausted:
                info = facade.ask()
                config = from_configspace(problem.space, info.config)
                budget = info.budget if self.multi_fidelity else None
                loss = evaluator(config, budget)
                facade.tell(info, TrialValue(cost=loss), save=False)
