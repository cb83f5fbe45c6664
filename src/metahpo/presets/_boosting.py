"""XGBoost and LightGBM families (optional extras, imported only when used).

The budget is the number of boosting rounds; one fit at the largest budget gives the
validation loss after every smaller one (``iteration_range`` / ``num_iteration``), and
the numbers equal fresh fits. One thread per fit.
"""

from __future__ import annotations

import importlib
from typing import Any

from metahpo.presets._trees import MODEL_SEED
from metahpo.space import Float, Int, Space

XGBOOST_SPACE = Space(
    {
        "learning_rate": Float(1e-3, 1.0, log=True),
        "max_depth": Int(1, 12),
        "min_child_weight": Float(1e-2, 100.0, log=True),
        "subsample": Float(0.5, 1.0),
        "colsample_bytree": Float(0.3, 1.0),
        "reg_lambda": Float(1e-8, 10.0, log=True),
        "reg_alpha": Float(1e-8, 10.0, log=True),
    }
)
LIGHTGBM_SPACE = Space(
    {
        "learning_rate": Float(1e-3, 1.0, log=True),
        "num_leaves": Int(4, 256, log=True),
        "min_child_samples": Int(2, 128, log=True),
        "subsample": Float(0.5, 1.0),
        "colsample_bytree": Float(0.3, 1.0),
        "reg_lambda": Float(1e-8, 10.0, log=True),
        "reg_alpha": Float(1e-8, 10.0, log=True),
    }
)


def import_extra(module: str, extra: str) -> Any:
    """``module``, or an ImportError naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"This preset needs the {module!r} package: install it with "
            f"`pip install 'metahpo[{extra}]'`."
        ) from exc


def build_xgboost(config: dict[str, Any], budget: int, task_type: str) -> Any:
    xgboost = import_extra("xgboost", "xgboost")
    return xgboost.XGBClassifier(
        n_estimators=budget,
        learning_rate=config["learning_rate"],
        max_depth=config["max_depth"],
        min_child_weight=config["min_child_weight"],
        subsample=config["subsample"],
        colsample_bytree=config["colsample_bytree"],
        reg_lambda=config["reg_lambda"],
        reg_alpha=config["reg_alpha"],
        tree_method="hist",
        n_jobs=1,
        random_state=MODEL_SEED,
    )


def staged_xgboost(model: Any, data: Any, budgets: list[int], scoring: str) -> list[float]:
    import numpy as np

    # XGBoost wants the labels 0..K-1 of the training part; a validation label it never
    # saw gets probability zero in the loss.
    classes, y_train = np.unique(data.y_train, return_inverse=True)
    if len(classes) < 2:
        return _constant_losses(classes, data, budgets, scoring)
    model.fit(data.x_train, y_train)
    losses = []
    for budget in budgets:
        proba = model.predict_proba(data.x_valid, iteration_range=(0, budget))
        losses.append(data.classification_loss(proba, classes, scoring))
    return losses


def build_lightgbm(config: dict[str, Any], budget: int, task_type: str) -> Any:
    lightgbm = import_extra("lightgbm", "lightgbm")
    return lightgbm.LGBMClassifier(
        n_estimators=budget,
        learning_rate=config["learning_rate"],
        num_leaves=config["num_leaves"],
        min_child_samples=config["min_child_samples"],
        subsample=config["subsample"],
        subsample_freq=1,
        colsample_bytree=config["colsample_bytree"],
        reg_lambda=config["reg_lambda"],
        reg_alpha=config["reg_alpha"],
        n_jobs=1,
        random_state=MODEL_SEED,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
    )


def staged_lightgbm(model: Any, data: Any, budgets: list[int], scoring: str) -> list[float]:
    import numpy as np

    classes = np.unique(data.y_train)
    if len(classes) < 2:
        return _constant_losses(classes, data, budgets, scoring)
    model.fit(data.x_train, data.y_train)
    losses = []
    for budget in budgets:
        proba = model.predict_proba(data.x_valid, num_iteration=budget)
        losses.append(data.classification_loss(proba, model.classes_, scoring))
    return losses


def _constant_losses(classes: Any, data: Any, budgets: list[int], scoring: str) -> list[float]:
    import numpy as np

    proba = np.ones((len(data.y_valid), 1))
    return [data.classification_loss(proba, classes, scoring)] * len(budgets)
