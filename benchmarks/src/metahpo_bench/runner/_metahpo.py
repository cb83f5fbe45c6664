"""Adapters for metahpo's own optimizers, driven through ``ask``/``tell`` in memory."""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from metahpo._validation import check_int
from metahpo.surrogates.meta import MetaModelProvider, MetaTrainingConfig
from metahpo_bench.runner._adapter import Adapter, RunContext
from metahpo_bench.runner._budget import BudgetExhausted, Evaluator
from metahpo_bench.runner._names import parse_optimizer_name
from metahpo_bench.runner._parallel import run_simulated_workers

__all__ = ["SCHEDULERS", "MetahpoAdapter", "build_optimizer"]

# Benchmark suffix -> scheduler class name in metahpo.schedulers.
SCHEDULERS = {"hyperband": "Hyperband", "sh": "SuccessiveHalving", "asha": "ASHA"}


# Ablation knobs of MetaBO that belong to its meta-model provider, not to its signature.
_TRAINING_KNOBS = {f.name for f in fields(MetaTrainingConfig)} - {"seed"}
_PROVIDER_KNOBS = {"adapt_steps"}
# Providers shared by the runs of this process, so a meta-model is trained once per
# knowledge, configuration and meta-training seed (their caches are keyed by all three).
_PROVIDERS: dict[str, MetaModelProvider] = {}


def build_optimizer(name: str, knowledge: Any = None, meta_seed: int = 0) -> Any:
    """A metahpo optimizer from a benchmark name, ``"gpbo"`` or ``"metabo[inner_steps=0]"``.

    MetaBO's training and adaptation knobs (``meta_steps``, ``inner_steps``,
    ``task_transform``, ``trend``, ``adapt_steps``, ...) configure its meta-model provider,
    with ``meta_seed`` as the meta-training seed; its other parameters are its own.
    ``knowledge`` goes to the optimizers that learn from it.
    """
    from metahpo.exceptions import InvalidParameterError
    from metahpo.optimizers import optimizer_class, takes_knowledge

    base, params = parse_optimizer_name(name)
    cls = optimizer_class(base)
    if takes_knowledge(cls):
        params["knowledge"] = knowledge
    if base == "metabo":
        training = {k: params.pop(k) for k in list(params) if k in _TRAINING_KNOBS}
        adaptation = {k: params.pop(k) for k in list(params) if k in _PROVIDER_KNOBS}
        params["meta_models"] = _provider(training, adaptation, meta_seed)
        params.setdefault("continual_update", False)
    try:
        return cls(**params)
    except TypeError as exc:
        raise InvalidParameterError(
            f"The optimizer {name!r} sets parameters {cls.__name__} does not take: {exc}"
        ) from exc


def _provider(training: dict[str, Any], adaptation: dict[str, Any], meta_seed: int) -> MetaModelProvider:
    key = json.dumps([training, adaptation, meta_seed], sort_keys=True)
    if key not in _PROVIDERS:
        config = MetaTrainingConfig(**training, seed=meta_seed)
        _PROVIDERS[key] = MetaModelProvider(config, cache_size=16, **adaptation)
    return _PROVIDERS[key]


class MetahpoAdapter(Adapter):
    """A metahpo study: ``optimizer`` by name (``"random"``, ``"gpbo"``...), optionally a scheduler.

    Each evaluation is one ``ask``/``tell``; a promotion is a new evaluation that
    names its parent's budget, so under continuation accounting it is charged only the
    budget it adds (under restart accounting, its full budget). ``eta`` is the schedulers' reduction factor;
    ``"asha[min_budget=6]"`` sets a scheduler's parameters (the problem's budget range otherwise). With
    ``workers > 1`` the run simulates that many parallel workers
    (:func:`~metahpo_bench.runner._parallel.run_simulated_workers`) and its
    benchmark name ends in ``@workers`` (``"random+asha@4"``).
    """

    def __init__(
        self, optimizer: str, scheduler: str | None = None, eta: int = 3, workers: int = 1
    ) -> None:
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.eta = eta
        self.workers = check_int(workers, "workers", "MetahpoAdapter", minimum=1)
        self.name = optimizer if scheduler is None else f"{optimizer}+{scheduler}"
        if workers != 1:
            self.name += f"@{workers}"
        self.needs_fidelity = scheduler is not None
        self.needs_meta_train = optimizer.partition("[")[0] in {"metabo", "portfolio"}
        if scheduler is not None:
            _check_scheduler_params(scheduler)

    def _make_scheduler(self, context: RunContext) -> Any:
        if self.scheduler is None:
            return None
        import metahpo.schedulers as schedulers

        base, params = parse_optimizer_name(self.scheduler)
        cls = getattr(schedulers, SCHEDULERS[base])
        problem = context.problem
        settings = {"min_budget": problem.min_budget, "max_budget": problem.max_budget, "eta": self.eta}
        return cls(**{**settings, **params})

    def prepare(self) -> None:
        import metahpo.schedulers
        import metahpo.storage
        import metahpo.study
        build_optimizer(self.optimizer)  # imports the optimizer's module (GP-BO loads torch)
        del metahpo

    def optimize(self, evaluator: Evaluator, context: RunContext) -> None:
        from metahpo.exceptions import InvalidParameterError
        from metahpo.storage import InMemoryStorage
        from metahpo.study import create_study

        # Each run seed meta-trains its own model, so the spread between meta-training
        # draws is part of the measured spread between runs.
        optimizer = build_optimizer(self.optimizer, _knowledge(context), meta_seed=context.seed)
        study = create_study(
            space=context.problem.space,
            storage=InMemoryStorage(),
            optimizer=optimizer,
            scheduler=self._make_scheduler(context),
            seed=context.seed,
        )
        stopping = getattr(study.scheduler, "mode", None) == "stopping"
        if self.workers != 1:
            if stopping:
                raise InvalidParameterError(
                    f"{self.name}: simulated parallel workers run promotions, not a scheduler "
                    "in stopping mode. Use one worker or mode='promotion'."
                )
            run_simulated_workers(study, evaluator, self.workers)
            return
        while not evaluator.exhausted:
            handle = study.ask()
            if stopping:
                _run_with_reports(study, handle, evaluator)
                continue
            loss = evaluator(handle.config, handle.budget, handle.parent_budget)
            study.tell(handle, loss)


def _run_with_reports(study: Any, handle: Any, evaluator: Evaluator) -> None:
    """One training run that reports at every rung budget and stops when the scheduler says.

    It is one run, not a restart per report: each report is charged only the budget it
    adds to the previous one, under either accounting. Reports are made at the scheduler's
    own rung budgets (its ``should_stop`` looks values up there), each evaluated at the
    budget the problem takes (rounded for integer budgets). A stopped run is told PRUNED.
    """
    scheduler = study.scheduler
    rungs = [scheduler.rung_budget(rung) for rung in range(scheduler.ladder.s_max + 1)]
    reached = 0.0
    for rung in rungs:
        if evaluator.exhausted:
            raise BudgetExhausted
        step = float(evaluator.snap(rung))  # type: ignore[arg-type]  # the scheduler needs budgets
        loss = evaluator.problem.evaluate(evaluator.task, handle.config, step)
        evaluator.account(step, loss, cost=step - reached, parent_budget=reached or None,
                          config=handle.config)
        reached = step
        handle.report(rung, loss)
        if rung < rungs[-1] and handle.should_stop():
            study.tell(handle, state="PRUNED")
            return
    study.tell(handle, loss)

def _knowledge(context: RunContext) -> Any:
    """The meta-train tasks as a knowledge base: the design evaluated on each of them."""
    from metahpo.knowledge import KnowledgeBase

    data = context.meta_train
    if data is None:
        return None
    return KnowledgeBase.from_design(
        context.problem.space, list(data.configs), dict(data.losses), source="meta_train",
        fidelities=data.fidelities or None, max_budget=context.problem.max_budget,
    )


def _check_scheduler_params(scheduler: str) -> None:
    """Refuse, when the benchmark is named, a scheduler parameter its class does not take."""
    import inspect

    import metahpo.schedulers as schedulers
    from metahpo.exceptions import InvalidParameterError

    base, params = parse_optimizer_name(scheduler)
    if base not in SCHEDULERS:
        return  # the registry names the unknown scheduler itself
    cls = getattr(schedulers, SCHEDULERS[base])
    unknown = sorted(set(params) - set(inspect.signature(cls).parameters))
    if unknown:
        raise InvalidParameterError(
            f"The scheduler {scheduler!r} sets parameters {cls.__name__} does not take: {unknown}. "
            f"It takes {sorted(inspect.signature(cls).parameters)}."
        )
