"""Gradient boosting on real datasets: scikit-learn's ``HistGradientBoostingClassifier``.

The budget is the number of boosting rounds (``max_iter``, 1 to 81), early stopping
is off, and the loss is the validation log-loss on the task's fixed split. Boosting
rounds are nested, so :meth:`evaluate_budgets` fits once at the largest budget and reads
every smaller budget from ``staged_predict_proba``: the numbers equal fresh fits.
"""

from __future__ import annotations

from typing import Any

# The space of the bundled keel-hgb knowledge, which the HGB presets extend.
from metahpo.presets import HGB_SPACE
from metahpo_bench._training_data import TabularTask
from metahpo_bench._training_losses import validation_log_loss
from metahpo_bench._training_problem import TrainingProblem

HGB_MODEL_SEED = 0


class _HGBProblem(TrainingProblem):
    """``HistGradientBoostingClassifier`` on the tasks of one data source."""

    space = HGB_SPACE
    min_budget = 1.0
    max_budget = 81.0

    def _losses(self, data: TabularTask, config: dict[str, Any], steps: list[int]) -> list[float]:
        return _staged_losses(data, config, steps)


def _staged_losses(data: TabularTask, config: dict[str, Any], rounds: list[int]) -> list[float]:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    # One OpenMP thread: these datasets are too small to gain from more, and on a
    # shared machine idle OpenMP threads spinning at every tree node made fits ~20x
    # slower (measured). Parallelism belongs to the caller (e.g. the builder's pool).
    with threadpool_limits(limits=1, user_api="openmp"):
        return _fit_staged(HistGradientBoostingClassifier, data, config, rounds)


def _fit_staged(
    estimator: Any, data: TabularTask, config: dict[str, Any], rounds: list[int]
) -> list[float]:
    model = estimator(
        learning_rate=config["learning_rate"],
        max_iter=max(rounds),
        max_leaf_nodes=config["max_leaf_nodes"],
        min_samples_leaf=config["min_samples_leaf"],
        l2_regularization=config["l2_regularization"],
        max_features=config["max_features"],
        max_bins=config["max_bins"],
        early_stopping=False,
        random_state=HGB_MODEL_SEED,
    )
    model.fit(data.x_train, data.y_train)
    wanted = set(rounds)
    by_round: dict[int, float] = {}
    for stage, proba in enumerate(model.staged_predict_proba(data.x_valid), start=1):
        if stage in wanted:
            by_round[stage] = validation_log_loss(
                proba, model.classes_, data.y_valid, data.n_classes
            )
    return [by_round[r] for r in rounds]


class KeelHGB(_HGBProblem):
    """``keel-hgb``: gradient boosting on the balanced KEEL datasets (fold 0 as shipped).

    Example:
        >>> from metahpo_bench.training import KeelHGB
        >>> problem = KeelHGB()
        >>> config = problem.space.sobol(1, seed=0)[0]
        >>> loss = problem.evaluate("iris", config, budget=3)
        >>> 0.0 <= loss
        True
    """

    name = "keel-hgb"
    source = "keel"


class SklearnHGB(_HGBProblem):
    """``sklearn-hgb``: gradient boosting on scikit-learn's bundled datasets (stratified 75/25 split)."""

    name = "sklearn-hgb"
    source = "sklearn"
