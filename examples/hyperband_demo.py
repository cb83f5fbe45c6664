"""Hyperband on one model: tune a HistGradientBoostingClassifier with boosting rounds as budget.

Run with `.venv/bin/python examples/hyperband_demo.py`. Results persist in
`metahpo.db`; inspect them with `metahpo studies` and `metahpo show hgb-breast-cancer`.
"""

from __future__ import annotations

import argparse
import warnings
from collections import Counter

from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split

import metahpo as mh

SPACE = mh.Space({
    "learning_rate": mh.Float(1e-3, 1.0, log=True),
    "max_leaf_nodes": mh.Int(4, 256, log=True),
    "min_samples_leaf": mh.Int(1, 64, log=True),
    "l2_regularization": mh.Float(1e-8, 10.0, log=True),
})
# Boosting rounds are the budget: Hyperband gives many configs a few rounds and only
# the best the full 81.
SCHEDULER = mh.Hyperband(min_budget=3, max_budget=81, eta=3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=69, help="69 = one Hyperband iteration")
    parser.add_argument("--storage", default="sqlite:///metahpo.db")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    X, y = load_breast_cancer(return_X_y=True)
    X_rest, X_test, y_rest, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=0.33, random_state=0, stratify=y_rest
    )

    def fit(config: dict, rounds: int) -> HistGradientBoostingClassifier:
        model = HistGradientBoostingClassifier(
            **config, max_iter=rounds, early_stopping=False, random_state=0
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model.fit(X_train, y_train)

    def objective(trial: mh.TrialHandle) -> float:
        model = fit(trial.config, int(trial.budget))
        return float(log_loss(y_val, model.predict_proba(X_val)))

    study = mh.create_study(
        name=f"hgb-breast-cancer-seed{args.seed}", space=SPACE, storage=args.storage,
        seed=args.seed, scheduler=SCHEDULER, load_if_exists=True,
    )
    left = args.trials - len(study.trials)
    if left > 0:
        study.optimize(objective, n_trials=left, show_progress=True)
    best = study.best_trial
    model = fit(dict(best.config), int(best.budget))
    test_accuracy = accuracy_score(y_test, model.predict(X_test))
    print(f"study {study.name!r} ({study.optimizer.name}): {len(study.trials)} trials in {args.storage}")
    spent = sum(t.budget for t in study.trials) / SCHEDULER.max_budget
    print(f"{spent:.1f} full-budget-equivalent trainings spent; evaluations per budget:",
          dict(sorted(Counter(int(t.budget) for t in study.trials).items())))
    print(f"best validation log-loss {best.value:.4f} at trial {best.number} ({int(best.budget)} rounds)")
    print(f"best config {dict(best.config)}")
    print(f"held-out test accuracy of the best config: {test_accuracy:.4f}")


if __name__ == "__main__":
    main()
