"""Optuna peers through its ask/tell interface: TPE, GPSampler, random, TPE + HyperbandPruner."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from metahpo.exceptions import InvalidParameterError
from metahpo.space import Categorical, Float, Int, Space
from metahpo.testing.synthetic import Problem
from metahpo_bench.runner._adapter import Adapter, RunContext
from metahpo_bench.runner._budget import Evaluator, budget_steps
from metahpo_bench.runner._configspace import active_config

__all__ = ["OptunaAdapter", "optuna_distributions", "report_steps"]

_MAX_FLOAT_STEPS = 100


def optuna_distributions(space: Space) -> dict[str, Any]:
    """The Optuna distributions of a metahpo space (same bounds, same log scales)."""
    import optuna

    out: dict[str, Any] = {}
    for name, param in space.items():
        if isinstance(param, Float):
            out[name] = optuna.distributions.FloatDistribution(param.low, param.high, log=param.log)
        elif isinstance(param, Int):
            out[name] = optuna.distributions.IntDistribution(param.low, param.high, log=param.log)
        elif isinstance(param, Categorical):
            out[name] = optuna.distributions.CategoricalDistribution(list(param.choices))
    return out


def report_steps(problem: Problem) -> list[float]:
    """The budgets at which a pruned Optuna trial reports: every epoch for integer budgets,
    otherwise an even grid of at most 100 steps from ``min_budget`` to ``max_budget``."""
    if problem.max_budget is None:
        raise InvalidParameterError(
            f"Problem {problem.name!r} has no budgets; the pruned Optuna runner needs them."
        )
    low = float(problem.min_budget if problem.min_budget is not None else problem.max_budget)
    high = float(problem.max_budget)
    if problem.integer_budget:
        return [float(b) for b in range(max(math.ceil(low), 1), int(high) + 1)]
    count = min(max(math.ceil(high / low), 2), _MAX_FLOAT_STEPS)
    return [low + (high - low) * i / (count - 1) for i in range(count)]


class OptunaAdapter(Adapter):
    """An Optuna study driven by ``ask``/``tell``.

    ``sampler`` is ``"tpe"``, ``"gp"`` or ``"random"``. With ``hyperband=True`` each
    trial is one training run that reports the problem's loss at every budget step
    (:func:`report_steps`) to a ``HyperbandPruner`` (reduction factor ``eta``) and
    stops when pruned; it costs the largest budget it reached.
    """

    def __init__(self, sampler: str, hyperband: bool = False, eta: int = 3) -> None:
        self.sampler = sampler
        self.hyperband = hyperband
        self.eta = eta
        self.name = f"optuna-{sampler}" + ("-hyperband" if hyperband else "")
        self.needs_fidelity = hyperband

    def prepare(self) -> None:
        import optuna

        if self.sampler == "gp":
            import torch  # GPSampler imports torch on its first model fit

            del torch
        del optuna

    def _make_sampler(self, seed: int) -> Any:
        import optuna

        if self.sampler == "tpe":
            return optuna.samplers.TPESampler(seed=seed)
        if self.sampler == "gp":
            return optuna.samplers.GPSampler(seed=seed)
        return optuna.samplers.RandomSampler(seed=seed)

    def optimize(self, evaluator: Evaluator, context: RunContext) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        distributions = optuna_distributions(context.problem.space)
        steps = report_steps(context.problem) if self.hyperband else []
        pruner = (
            optuna.pruners.HyperbandPruner(
                min_resource=1, max_resource=len(steps), reduction_factor=self.eta
            )
            if self.hyperband
            else optuna.pruners.NopPruner()
        )
        study = optuna.create_study(sampler=self._make_sampler(context.seed), pruner=pruner)
        while not evaluator.exhausted:
            trial = study.ask(distributions)
            # Optuna samples every parameter; a conditional space's config keeps the active ones.
            config = active_config(context.problem.space, trial.params)
            if not self.hyperband:
                study.tell(trial, evaluator(config))
                continue
            loss, pruned = self._run_with_pruning(trial, config, steps, evaluator)
            if pruned:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)  # uses the last report
            else:
                study.tell(trial, loss)

    def _run_with_pruning(
        self, trial: Any, config: dict[str, Any], steps: list[float], evaluator: Evaluator
    ) -> tuple[float, bool]:
        # One training run: the loss after each step, stopped when pruned or when the
        # run's budget would be overspent. It costs (and is recorded at) its last step.
        problem, loss, reached = evaluator.problem, math.inf, steps[0]
        loss_at = _staged_losses(problem, evaluator.task, config, steps, self.eta)
        pruned = False
        for index, budget in enumerate(steps, start=1):
            if index > 1 and evaluator.cum_budget + budget > evaluator.total_budget:
                pruned = True
                break
            loss = loss_at(budget)
            reached = budget
            trial.report(loss, index)
            if index < len(steps) and trial.should_prune():
                pruned = True
                break
        evaluator.account(reached, loss, config=config)
        return loss, pruned


def _staged_losses(
    problem: Problem, task: str, config: dict[str, Any], steps: list[float], eta: int
) -> Callable[[float], float]:
    """The loss at each report step of one training run, computed as the run gets there.

    A problem with ``evaluate_budgets`` (the training problems: one fit gives the losses
    at every smaller budget, equal to fresh fits) is trained once per segment of the
    ``eta`` ladder the run enters, so a run pruned at a rung of the ladder costs about
    1.5x its budget in compute instead of one fresh fit per step; other problems
    evaluate each step. The budget accounting is the same either way.
    """
    evaluate_budgets = getattr(problem, "evaluate_budgets", None)
    if evaluate_budgets is None:
        return lambda budget: problem.evaluate(task, config, budget)
    ladder = budget_steps(problem, eta)
    known: dict[float, float] = {}

    def loss_at(budget: float) -> float:
        if budget not in known:
            end = next((b for b in ladder if b >= budget), steps[-1])
            segment = [s for s in steps if budget <= s <= end]
            known.update(zip(segment, evaluate_budgets(task, config, segment), strict=True))
        return known[budget]

    return loss_at
