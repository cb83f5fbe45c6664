"""XGBoost with early stopping under Hyperband: the budget is the number of boosting rounds.

Hyperband gives each config a round budget (9, 27 or 81 rounds); XGBoost stops earlier
when the validation log-loss has not improved for 10 rounds, and the metahpo callback
reports every round to the trial. The booster is conditional: tree parameters exist
only for ``gbtree``.

    python examples/xgboost_hyperband.py
"""

from __future__ import annotations

import xgboost as xgb
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

import metahpo as mh
from metahpo.integrations.callbacks import xgboost_callback

X, y = load_breast_cancer(return_X_y=True)
X_train, X_valid, y_train, y_valid = train_test_split(X, y, test_size=0.3, random_state=0)
dtrain, dvalid = xgb.DMatrix(X_train, y_train), xgb.DMatrix(X_valid, y_valid)

space = mh.Space(
    {
        "booster": mh.Categorical(["gbtree", "gblinear"]),
        "eta": mh.Float(0.01, 0.5, log=True),
        "lambda": mh.Float(1e-3, 10.0, log=True),
        "max_depth": mh.Int(2, 10),
        "subsample": mh.Float(0.5, 1.0),
    },
    conditions={
        "max_depth": mh.Equals("booster", "gbtree"),
        "subsample": mh.Equals("booster", "gbtree"),
    },
)


def objective(trial: mh.TrialHandle) -> float:
    params = {"objective": "binary:logistic", "eval_metric": "logloss", "nthread": 1, **trial.config}
    booster = xgb.train(
        params, dtrain, num_boost_round=int(trial.budget), evals=[(dvalid, "valid")],
        early_stopping_rounds=10, verbose_eval=False,
        callbacks=[xgboost_callback(trial, "valid", "logloss")],
    )
    return booster.best_score  # the validation log-loss at the best round


study = mh.create_study(
    space=space, optimizer="random", seed=0,
    scheduler=mh.Hyperband(min_budget=9, max_budget=81, eta=3),
)
study.enqueue({"booster": "gbtree", "eta": 0.1, "lambda": 1.0, "max_depth": 6, "subsample": 1.0})
study.optimize(objective, n_trials=30, show_progress=False)
best = study.best_trial
print(f"best log-loss {best.value:.4f} at {best.budget:g} rounds: {dict(best.config)}")
