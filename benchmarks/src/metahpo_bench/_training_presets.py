"""The presets of :mod:`metahpo.presets` as benchmark problems, for the bundle builder.

``get_problem("preset:xgboost-classifier")`` is the preset's model trained on every
dataset of :mod:`metahpo_bench._preset_data` except the held-out ones (``held_out``),
through the preset's own :meth:`~metahpo.presets.Preset.validation_losses`, so the
bundle and a user's ``mh.presets.objective`` train and score the same way. The
descriptor is :func:`metahpo.knowledge.meta_features` of the task's rows (training and
validation parts), what ``mh.Task.from_data(X, y)`` gives a study.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from metahpo.testing.synthetic import Problem
from metahpo_bench._preset_data import (
    CLASSIFICATION_HELD_OUT,
    REGRESSION_HELD_OUT,
    classification_tasks,
    load_classification,
    load_regression,
    regression_tasks,
)


class PresetProblem(Problem):
    """The preset ``preset`` on its datasets; budgets in the preset's unit."""

    integer_budget = True

    def __init__(self, preset: str) -> None:
        from metahpo import presets
        from metahpo.knowledge import CLASSIFICATION_FEATURES, REGRESSION_FEATURES

        record = presets.get(preset)
        self.preset = preset
        self.name = f"preset:{preset}"
        self.space = record.space
        self.min_budget = float(record.min_budget)
        self.max_budget = float(record.max_budget)
        self.loss_name = record.loss_name
        regression = record.task_type == "regression"
        every = regression_tasks() if regression else classification_tasks()
        held = REGRESSION_HELD_OUT if regression else CLASSIFICATION_HELD_OUT
        self.held_out = tuple(sorted(held))
        self.tasks = tuple(task for task in every if task not in held)
        self.descriptor_names = REGRESSION_FEATURES if regression else CLASSIFICATION_FEATURES

    def __reduce__(self) -> Any:
        return (PresetProblem, (self.preset,))

    def split(self, task: str) -> Any:
        from metahpo import presets

        record = presets.get(self.preset)
        if record.task_type == "regression":
            return presets.Split(*load_regression(task), task_type="regression")
        x_train, y_train, x_valid, y_valid, n_classes = load_classification(task)
        return presets.Split(x_train, y_train, x_valid, y_valid, "classification", n_classes)

    def relative_cost(self, task: str) -> float:
        split = self.split(task)
        return float(
            len(split.y_train) * max(1, split.n_classes - 1) * split.x_train.shape[1] ** 0.5
        )

    def descriptor(self, task: str) -> np.ndarray:
        from metahpo import presets
        from metahpo.knowledge import meta_features

        split = self.split(task)
        features = meta_features(
            np.vstack([split.x_train, split.x_valid]),
            np.concatenate([split.y_train, split.y_valid]),
            task_type=presets.get(self.preset).task_type,
        )
        return np.array([features[name] for name in self.descriptor_names], dtype=float)

    def evaluate_budgets(
        self, task: str, config: Mapping[str, Any], budgets: Sequence[float]
    ) -> list[float]:
        from metahpo import presets

        self._check_task(task)
        steps = [int(self._check_budget(b)) for b in budgets]  # type: ignore[arg-type]
        return presets.get(self.preset).validation_losses(dict(config), self.split(task), steps)

    def _evaluate(self, task: str, config: dict[str, Any], budget: float | None) -> float:
        full = float(self.max_budget or 1.0)
        return self.evaluate_budgets(task, config, [budget if budget is not None else full])[0]


def preset_hgb_classifier() -> PresetProblem:
    """The ``hgb-classifier`` preset as a benchmark problem."""
    return PresetProblem("hgb-classifier")


def preset_hgb_regressor() -> PresetProblem:
    """The ``hgb-regressor`` preset as a benchmark problem."""
    return PresetProblem("hgb-regressor")


def preset_random_forest_classifier() -> PresetProblem:
    """The ``random-forest-classifier`` preset as a benchmark problem."""
    return PresetProblem("random-forest-classifier")


def preset_logistic_regression() -> PresetProblem:
    """The ``logistic-regression`` preset as a benchmark problem."""
    return PresetProblem("logistic-regression")


def preset_xgboost_classifier() -> PresetProblem:
    """The ``xgboost-classifier`` preset as a benchmark problem."""
    return PresetProblem("xgboost-classifier")


def preset_lightgbm_classifier() -> PresetProblem:
    """The ``lightgbm-classifier`` preset as a benchmark problem."""
    return PresetProblem("lightgbm-classifier")


def preset_mlp_classifier() -> PresetProblem:
    """The ``mlp-classifier`` preset as a benchmark problem."""
    return PresetProblem("mlp-classifier")
