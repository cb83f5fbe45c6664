"""The optimizer adapter interface: run one optimizer on one task with one seed."""

from __future__ import annotations

import contextlib
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass

from metahpo.testing.synthetic import Problem
from metahpo_bench.runner._budget import BudgetExhausted, Evaluator
from metahpo_bench.runner._meta_train import MetaTrainData
from metahpo_bench.runner._records import Record

__all__ = ["Adapter", "RunContext"]

logger = logging.getLogger("metahpo_bench")


@dataclass(frozen=True)
class RunContext:
    """What an adapter may know about a run besides the problem.

    ``meta_train`` is the meta-train data of the other tasks (``None`` unless the
    adapter asked for it); a transfer method must use nothing else about them.
    """

    problem: Problem
    task: str
    seed: int
    n_full_evals: int
    meta_train: MetaTrainData | None = None


class Adapter(ABC):
    """One optimizer family behind a common ``run`` method.

    Subclasses implement :meth:`optimize`, calling the evaluator until it raises
    :class:`BudgetExhausted` (or until ``evaluator.exhausted``).

    Attributes:
        name: the benchmark name (``"optuna-tpe"``, ``"gpbo+hyperband"``...).
        needs_fidelity: the adapter only makes sense on problems with budgets.
        needs_meta_train: the adapter transfers from the meta-train data.
    """

    name: str = ""
    needs_fidelity: bool = False
    needs_meta_train: bool = False

    def run(
        self,
        problem: Problem,
        task: str,
        seed: int,
        n_full_evals: int,
        meta_train: MetaTrainData | None = None,
        continuation: bool = False,
    ) -> list[Record]:
        """Spend ``n_full_evals`` full-budget-equivalent evaluations on ``task``; one record each.

        ``continuation=True`` charges a promotion only the budget its parent had not
        reached (see :class:`Evaluator`); by default every evaluation restarts.
        """
        self.prepare()
        evaluator = Evaluator(problem, task, self.name, seed, n_full_evals, continuation)
        context = RunContext(problem, task, seed, n_full_evals, meta_train)
        with contextlib.suppress(BudgetExhausted):
            self.optimize(evaluator, context)
        return evaluator.records

    def prepare(self) -> None:
        """Import the optimizer's library, so that import time is not counted as its wall time."""
        return None

    @abstractmethod
    def optimize(self, evaluator: Evaluator, context: RunContext) -> None:
        """Propose configs and evaluate them with ``evaluator`` until the budget is spent."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"
