"""What the training problems share: tasks of one data source, descriptors, staged budgets."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from metahpo.testing.synthetic import Problem
from metahpo_bench._training_data import DESCRIPTOR_NAMES, TabularTask, list_tasks, load_task
from metahpo_bench._training_losses import check_budgets


class TrainingProblem(Problem):
    """A model trained on the tasks of one data source; budgets are nested (rounds, epochs).

    Subclasses set ``space``, the budget range and :meth:`_losses`, which trains once and
    returns the loss after each of the (sorted, integer) budgets.
    """

    source = ""
    integer_budget = True
    loss_name = "validation_log_loss"
    descriptor_names = DESCRIPTOR_NAMES

    def __init__(self) -> None:
        self.tasks = tuple(list_tasks(self.source))

    def relative_cost(self, task: str) -> float:
        """A rough cost of one evaluation of ``task``, for ordering builds (largest first)."""
        return load_task(self.source, task).relative_cost()

    def descriptor(self, task: str) -> np.ndarray:
        """``[n_train, n_features, n_classes, class_entropy]`` of ``task``."""
        return load_task(self.source, task).descriptor()

    def evaluate_budgets(
        self, task: str, config: Mapping[str, Any], budgets: Sequence[float]
    ) -> list[float]:
        """The losses of ``config`` at every budget of ``budgets``, from one run at the largest."""
        if task not in self.tasks:
            self.evaluate(task, config, None)  # raises the task error of evaluate()
        clean = self.space.validate(config)
        steps = check_budgets(self.name, [self._check_budget(budget) for budget in budgets])
        return self._losses(load_task(self.source, task), clean, steps)

    def _evaluate(self, task: str, config: dict[str, Any], budget: float | None) -> float:
        return self._losses(
            load_task(self.source, task), config, check_budgets(self.name, [budget])
        )[0]

    @abstractmethod
    def _losses(self, data: TabularTask, config: dict[str, Any], steps: list[int]) -> list[float]:
        """Train once on ``data`` and return the validation loss after each of ``steps``."""
