"""scikit-learn families: HistGradientBoosting, RandomForest and LogisticRegression.

Each family is a space, a ``build(config, budget)`` that returns an unfitted estimator,
and a ``staged`` function that trains once and returns the validation loss after each
of several budgets (boosting rounds and trees are nested, so one fit gives them all).
Every fit uses one thread: the datasets the bundles were built on are too small to gain
from more, and parallelism belongs to the caller (``optimize(n_jobs=...)``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from metahpo.presets._losses import regression_loss
from metahpo.space import Categorical, Float, Int, Space

MODEL_SEED = 0

HGB_SPACE = Space(
    {
        "learning_rate": Float(1e-3, 1.0, log=True),
        "max_leaf_nodes": Int(4, 256, log=True),
        "min_samples_leaf": Int(1, 128, log=True),
        "l2_regularization": Float(1e-8, 10.0, log=True),
        "max_features": Float(0.1, 1.0),
        "max_bins": Int(4, 255, log=True),
    }
)
# The classifier also tunes class weights (many datasets are imbalanced); the keel-hgb
# bundle keeps the six-parameter space above.
HGB_CLASSIFIER_SPACE = Space(
    {**dict(HGB_SPACE.items()), "class_weight": Categorical(["none", "balanced"])}
)
# The regressor also tunes its training loss. (Its own space keeps the classification
# bundles out of a regression study's default knowledge, which is "the bundles of exactly
# this space".)
HGB_REGRESSOR_SPACE = Space(
    {**dict(HGB_SPACE.items()), "loss_function": Categorical(["squared_error", "absolute_error"])}
)
FOREST_SPACE = Space(
    {
        "max_features": Float(0.05, 1.0),
        "min_samples_leaf": Int(1, 64, log=True),
        "max_depth": Int(2, 32, log=True),
        "bootstrap": Categorical([True, False]),
        "criterion": Categorical(["gini", "entropy"]),
    }
)
LOGISTIC_SPACE = Space(
    {
        "C": Float(1e-4, 1e4, log=True),
        "class_weight": Categorical(["none", "balanced"]),
        "fit_intercept": Categorical([True, False]),
    }
)


def _one_openmp_thread() -> Any:
    from threadpoolctl import threadpool_limits

    # Idle OpenMP threads spinning at every tree node made small fits ~20x slower on a
    # shared machine (measured when the keel-hgb bundle was built).
    return threadpool_limits(limits=1, user_api="openmp")


def build_hgb(config: dict[str, Any], budget: int, task_type: str) -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    estimator = (
        HistGradientBoostingClassifier
        if task_type == "classification"
        else HistGradientBoostingRegressor
    )
    if task_type == "regression":
        extra = {"loss": config["loss_function"]}
    else:
        extra = {"class_weight": None if config["class_weight"] == "none" else "balanced"}
    return estimator(
        **extra,
        learning_rate=config["learning_rate"],
        max_iter=budget,
        max_leaf_nodes=config["max_leaf_nodes"],
        min_samples_leaf=config["min_samples_leaf"],
        l2_regularization=config["l2_regularization"],
        max_features=config["max_features"],
        max_bins=config["max_bins"],
        early_stopping=False,
        random_state=MODEL_SEED,
    )


def staged_hgb(model: Any, data: Any, budgets: list[int], scoring: str) -> list[float]:
    with _one_openmp_thread():
        model.fit(data.x_train, data.y_train)
        wanted = set(budgets)
        by_round: dict[int, float] = {}
        if data.task_type == "classification":
            for stage, proba in enumerate(model.staged_predict_proba(data.x_valid), start=1):
                if stage in wanted:
                    by_round[stage] = data.classification_loss(proba, model.classes_, scoring)
        else:
            for stage, prediction in enumerate(model.staged_predict(data.x_valid), start=1):
                if stage in wanted:
                    by_round[stage] = regression_loss(prediction, data.y_valid, scoring)
    return [by_round[b] for b in budgets]


def build_forest(config: dict[str, Any], budget: int, task_type: str) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(
        n_estimators=budget,
        max_features=config["max_features"],
        min_samples_leaf=config["min_samples_leaf"],
        max_depth=config["max_depth"],
        bootstrap=config["bootstrap"],
        criterion=config["criterion"],
        n_jobs=1,
        random_state=MODEL_SEED,
    )


def staged_forest(model: Any, data: Any, budgets: list[int], scoring: str) -> list[float]:
    """The forest of the largest budget, scored on its first ``b`` trees for each budget ``b``.

    A forest's probabilities are the mean of its trees', so the first ``b`` trees are
    the forest ``n_estimators=b`` would have grown (the trees' seeds come in order).
    """
    model.fit(data.x_train, data.y_train)
    x_valid = np.asarray(data.x_valid, dtype=np.float32)
    total = np.zeros((len(x_valid), len(model.classes_)))
    wanted = set(budgets)
    by_trees: dict[int, float] = {}
    for count, tree in enumerate(model.estimators_, start=1):
        total += tree.predict_proba(x_valid)
        if count in wanted:
            by_trees[count] = data.classification_loss(total / count, model.classes_, scoring)
    return [by_trees[b] for b in budgets]


def build_logistic(config: dict[str, Any], budget: int, task_type: str) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(
        StandardScaler(),
        LogisticRegression(
            C=config["C"],
            class_weight=None if config["class_weight"] == "none" else "balanced",
            fit_intercept=config["fit_intercept"],
            max_iter=budget,
        ),
    )


def staged_logistic(build: Any, data: Any, budgets: list[int], scoring: str) -> list[float]:
    """One fit per budget (L-BFGS iterations are not nested); each is cheap."""
    from sklearn.exceptions import ConvergenceWarning

    losses = []
    for budget in budgets:
        model = build(budget)
        with warnings.catch_warnings():
            # A small iteration budget stops before convergence on purpose.
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(data.x_train, data.y_train)
        proba = model.predict_proba(data.x_valid)
        losses.append(data.classification_loss(proba, model.classes_, scoring))
    return losses
