"""Adapters for metahpo's own optimizers, driven through ``ask``/``tell`` in memory."""

from __future__ import annotations

from typing import Any

from metahpo._validation import check_int
from metahpo_bench.runner._adapter import Adapter, RunContext
from metahpo_bench.runner._budget import Evaluator
from metahpo_bench.runner._names import parse_optimizer_name
from metahpo_bench.runner._parallel import run_simulated_workers

__all__ = ["SCHEDULERS", "MetahpoAdapter", "build_optimizer"]

# Benchmark suffix -> scheduler class name in metahpo.schedulers.
SCHEDULERS = {"hyperband": "Hyperband", "sh": "SuccessiveHalving", "asha": "ASHA"}


def build_optimizer(name: str) -> Any:
    """A metahpo optimizer from a benchmark name, ``"gpbo"`` or ``"metabo[inner_steps=0]"``."""
    from metahpo.exceptions import InvalidParameterError
    from metahpo.optimizers import make_optimizer

    base, params = parse_optimizer_name(name)
    optimizer = make_optimizer(base)
    if not params:
        return optimizer
    cls = type(optimizer)
    try:
        return cls(**params)
    except TypeError as exc:
        raise InvalidParameterError(
            f"The optimizer {name!r} sets parameters {cls.__name__} does not take: {exc}"
        ) from exc


class MetahpoAdapter(Adapter):
    """A metahpo study: ``optimizer`` by name (``"random"``, ``"gpbo"``...), optionally a scheduler.

    Each evaluation is one ``ask``/``tell``; a promotion is a new evaluation and
    counts its full budget. ``eta`` is the schedulers' reduction factor. With
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

    def _make_scheduler(self, context: RunContext) -> Any:
        if self.scheduler is None:
            return None
        import metahpo.schedulers as schedulers

        cls = getattr(schedulers, SCHEDULERS[self.scheduler])
        problem = context.problem
        return cls(min_budget=problem.min_budget, max_budget=problem.max_budget, eta=self.eta)

    def prepare(self) -> None:
        import metahpo.schedulers
        import metahpo.storage
        import metahpo.study
        build_optimizer(self.optimizer)  # imports the optimizer's module (GP-BO loads torch)
        del metahpo

    def optimize(self, evaluator: Evaluator, context: RunContext) -> None:
        from metahpo.storage import InMemoryStorage
        from metahpo.study import create_study

        study = create_study(
            space=context.problem.space,
            storage=InMemoryStorage(),
            optimizer=build_optimizer(self.optimizer),
            scheduler=self._make_scheduler(context),
            seed=context.seed,
        )
        if context.meta_train is not None:
            # Transfer optimizers read the meta-train tasks from the study context.
            study.context["meta_train"] = context.meta_train
        if self.workers != 1:
            run_simulated_workers(study, evaluator, self.workers)
            return
        while not evaluator.exhausted:
            handle = study.ask()
            loss = evaluator(handle.config, handle.budget)
            study.tell(handle, loss)
