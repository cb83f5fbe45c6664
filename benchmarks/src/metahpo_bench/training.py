"""Real training problems: gradient boosting and a small MLP on KEEL and scikit-learn datasets.

=============== ==================================== ============================ ===========
name            model                                tasks                        budget
=============== ==================================== ============================ ===========
``keel-hgb``    ``HistGradientBoostingClassifier``   43 balanced KEEL datasets    rounds 1-81
``keel-mlp``    two-hidden-layer torch MLP           43 balanced KEEL datasets    epochs 1-27
``sklearn-hgb`` ``HistGradientBoostingClassifier``   breast_cancer, digits, iris, rounds 1-81
                                                     wine
``sklearn-mlp`` two-hidden-layer torch MLP           the same four                epochs 1-27
=============== ==================================== ============================ ===========

The loss is the validation log-loss (natural log, probabilities floored at 1e-15) on a
fixed split: fold 0 of KEEL's shipped ten-fold split, a stratified 75/25 split with
seed 0 for scikit-learn's datasets. Every problem also has
``evaluate_budgets(task, config, budgets)``, which gives the losses at several budgets
from one run, and ``descriptor(task)`` = ``[n_train, n_features, n_classes, class_entropy]``.

Example:
    >>> from metahpo_bench.training import SklearnHGB
    >>> problem = SklearnHGB()
    >>> config = problem.space.sobol(1, seed=0)[0]
    >>> a, b = problem.evaluate_budgets("wine", config, [3, 9])
    >>> a == problem.evaluate("wine", config, budget=3)
    True
"""

from __future__ import annotations

from metahpo_bench._training_data import (
    DESCRIPTOR_NAMES,
    MAX_TRAIN_ROWS,
    MAX_VALID_ROWS,
    SKLEARN_DATASETS,
    TabularTask,
    load_task,
)
from metahpo_bench._training_hgb import HGB_SPACE, KeelHGB, SklearnHGB
from metahpo_bench._training_mlp import MLP_SPACE, KeelMLP, SklearnMLP

__all__ = [
    "DESCRIPTOR_NAMES",
    "HGB_SPACE",
    "MAX_TRAIN_ROWS",
    "MAX_VALID_ROWS",
    "MLP_SPACE",
    "SKLEARN_DATASETS",
    "KeelHGB",
    "KeelMLP",
    "SklearnHGB",
    "SklearnMLP",
    "TabularTask",
    "load_task",
]
