"""A small PyTorch MLP on real datasets, with training epochs as the budget.

Two hidden ReLU layers of the same width with dropout, trained with AdamW (decoupled
weight decay) on minibatches of the task's training part; the loss is the validation
log-loss after the last epoch. Training is deterministic: the initial weights, the
shuffling and the dropout masks come from seed 0, inside ``torch.random.fork_rng`` so
the caller's random state is untouched. Epochs are nested (no schedule depends on the
total), so :meth:`evaluate_budgets` trains once and reads every smaller budget on the
way. A run whose weights diverge to NaN scores the worst log-loss, ``-log(1e-15)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from metahpo.space import Float, Int, Space
from metahpo_bench._training_data import TabularTask
from metahpo_bench._training_losses import (
    PROBABILITY_FLOOR,
    validation_log_loss,
)
from metahpo_bench._training_problem import TrainingProblem

MLP_SPACE = Space(
    {
        "learning_rate": Float(1e-4, 1e-1, log=True),
        "width": Int(16, 512, log=True),
        "weight_decay": Float(1e-8, 1e-1, log=True),
        "dropout": Float(0.0, 0.5),
        "batch_size": Int(16, 512, log=True),
    }
)
MLP_MODEL_SEED = 0


class _MLPProblem(TrainingProblem):
    """A two-hidden-layer MLP on the tasks of one data source."""

    space = MLP_SPACE
    min_budget = 1.0
    max_budget = 27.0

    def _losses(self, data: TabularTask, config: dict[str, Any], steps: list[int]) -> list[float]:
        return _train(data, config, steps)


def _train(data: TabularTask, config: dict[str, Any], epochs: list[int]) -> list[float]:
    import torch

    # One thread: the model is tiny, and parallelism belongs to the caller.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train_single_thread(data, config, epochs)
    finally:
        torch.set_num_threads(threads)


def _train_single_thread(
    data: TabularTask, config: dict[str, Any], epochs: list[int]
) -> list[float]:
    import torch
    from torch import nn

    wanted = set(epochs)
    by_epoch: dict[int, float] = {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(MLP_MODEL_SEED)
        shuffle = torch.Generator().manual_seed(MLP_MODEL_SEED)
        x_train = torch.tensor(data.x_train, dtype=torch.float32)
        y_train = torch.tensor(data.y_train, dtype=torch.int64)
        x_valid = torch.tensor(data.x_valid, dtype=torch.float32)
        width, dropout = config["width"], config["dropout"]
        model = nn.Sequential(
            nn.Linear(x_train.shape[1], width),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(width, width),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(width, data.n_classes),
        )
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=config["learning_rate"], weight_decay=config["weight_decay"]
        )
        criterion = nn.CrossEntropyLoss()
        batch_size = config["batch_size"]
        for epoch in range(1, max(epochs) + 1):
            model.train()
            order = torch.randperm(len(y_train), generator=shuffle)
            for start in range(0, len(order), batch_size):
                index = order[start : start + batch_size]
                optimizer.zero_grad()
                criterion(model(x_train[index]), y_train[index]).backward()
                optimizer.step()
            if epoch in wanted:
                model.eval()
                with torch.no_grad():
                    proba = torch.softmax(model(x_valid), dim=1).double().numpy()
                by_epoch[epoch] = _log_loss_or_worst(proba, data)
    return [by_epoch[e] for e in epochs]


def _log_loss_or_worst(proba: np.ndarray, data: TabularTask) -> float:
    if not np.all(np.isfinite(proba)):
        return float(-np.log(PROBABILITY_FLOOR))
    return validation_log_loss(proba, np.arange(data.n_classes), data.y_valid, data.n_classes)


class KeelMLP(_MLPProblem):
    """``keel-mlp``: the MLP on the balanced KEEL datasets (fold 0 as shipped).

    Example:
        >>> from metahpo_bench.training import KeelMLP
        >>> problem = KeelMLP()
        >>> config = problem.space.sobol(1, seed=0)[0]
        >>> problem.evaluate("iris", config, budget=2) > 0.0
        True
    """

    name = "keel-mlp"
    source = "keel"


class SklearnMLP(_MLPProblem):
    """``sklearn-mlp``: the MLP on scikit-learn's bundled datasets (stratified 75/25 split)."""

    name = "sklearn-mlp"
    source = "sklearn"
