"""A problem: a search space, a family of tasks and a loss to evaluate (the base of test functions and benchmarks)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.space import Space


class Problem(ABC):
    """A benchmark: ``evaluate(task, config, budget) -> loss`` over a space and its tasks.

    Losses are minimised. ``min_budget``/``max_budget`` are ``None`` for problems
    without a fidelity; ``budget=None`` always means the maximum budget.
    Subclasses implement :meth:`_evaluate`; :meth:`evaluate` validates first, so
    every problem refuses configs outside its space with the same clear error.
    """

    name: str = ""
    space: Space
    tasks: Sequence[str]
    min_budget: float | None = None
    max_budget: float | None = None
    integer_budget: bool = False

    def evaluate(self, task: str, config: Mapping[str, Any], budget: float | None = None) -> float:
        """The loss of ``config`` on ``task`` at ``budget`` (the maximum when ``None``)."""
        self._check_task(task)
        clean = self.space.validate(config)
        return float(self._evaluate(task, clean, self._check_budget(budget)))

    def descriptor(self, task: str) -> np.ndarray | None:
        """Meta-features of ``task`` when the problem knows them, else ``None``."""
        del task
        return None

    def _check_task(self, task: str) -> None:
        if task not in self.tasks:
            raise InvalidParameterError(
                f"The 'task' parameter of {self.name} must be one of its {len(self.tasks)} tasks "
                f"(e.g. {list(self.tasks)[:3]}). Got {describe(task)} instead."
            )

    def _check_batch(
        self,
        task: str,
        configs: Sequence[Mapping[str, Any]],
        budgets: Sequence[float | None] | float | None,
    ) -> tuple[list[dict[str, Any]], list[float | None]]:
        """Validated configs and one checked budget per config, for batch evaluation."""
        self._check_task(task)
        if isinstance(configs, Mapping) or not isinstance(configs, Sequence):
            raise InvalidParameterError(
                f"The 'configs' parameter of {self.name} must be a list of dicts. Got {describe(configs)} instead."
            )
        clean = [
            self.space.validate(config, name=f"configs[{i}]") for i, config in enumerate(configs)
        ]
        if budgets is None or isinstance(budgets, (int, float, np.number)):
            budget_list: list[Any] = [budgets] * len(clean)
        else:
            budget_list = list(budgets)
            if len(budget_list) != len(clean):
                raise InvalidParameterError(
                    f"The 'budgets' parameter of {self.name} must have one budget per config "
                    f"({len(clean)}). Got {len(budget_list)} budgets instead."
                )
        return clean, [self._check_budget(budget) for budget in budget_list]

    def _check_budget(self, budget: float | None) -> float | None:
        if self.max_budget is None:
            if budget is not None:
                raise InvalidParameterError(
                    f"The 'budget' parameter of {self.name} must be None: it has no fidelity. Got {budget!r} instead."
                )
            return None
        if budget is None:
            return self.max_budget
        if isinstance(budget, (np.integer, np.floating)):
            budget = budget.item()
        low = self.min_budget if self.min_budget is not None else 0.0
        if (
            isinstance(budget, bool)
            or not isinstance(budget, (int, float))
            or not low <= budget <= self.max_budget
        ):
            raise InvalidParameterError(
                f"The 'budget' parameter of {self.name} must be in [{low}, {self.max_budget}]. "
                f"Got {describe(budget)} instead."
            )
        return float(budget)

    @abstractmethod
    def _evaluate(self, task: str, config: dict[str, Any], budget: float | None) -> float:
        """The loss; ``config`` is validated and ``budget`` is in range (or ``None``)."""
