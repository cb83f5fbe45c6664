"""An Optuna user's code gains warm starts from past Optuna studies by changing the sampler.

Three past studies tuned the same model on related data; ``knowledge_from_optuna`` turns
them into a knowledge base and ``MetaHPOSampler`` starts the new study from what worked
there (MetaBO: a meta-learned surrogate, warm-started; it needs three related studies).
Nothing else in the Optuna code changes.

    python examples/optuna_warm_start.py
"""

from __future__ import annotations

import optuna
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import cross_val_score

from metahpo.integrations.optuna import MetaHPOSampler, knowledge_from_optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)


def make_objective(seed: int):  # the user's existing Optuna objective, one dataset per seed
    X, y = make_classification(n_samples=300, n_features=12, random_state=seed)

    def objective(trial: optuna.Trial) -> float:
        model = HistGradientBoostingClassifier(
            learning_rate=trial.suggest_float("learning_rate", 1e-3, 1.0, log=True),
            max_leaf_nodes=trial.suggest_int("max_leaf_nodes", 4, 64, log=True),
            l2_regularization=trial.suggest_float("l2_regularization", 1e-6, 10.0, log=True),
            max_iter=30,
        )
        return 1.0 - cross_val_score(model, X, y, cv=3).mean()

    return objective


# Past studies, run before with Optuna's default sampler (in practice: loaded from storage).
past = []
for seed in range(3):
    study = optuna.create_study(study_name=f"past-{seed}")
    study.optimize(make_objective(seed), n_trials=15)
    past.append(study)

# The only change to the user's code: the sampler.
sampler = MetaHPOSampler(knowledge=knowledge_from_optuna(past), seed=0)
study = optuna.create_study(sampler=sampler)
study.optimize(make_objective(10), n_trials=8)
cold = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
cold.optimize(make_objective(10), n_trials=8)
print(f"after 8 trials: warm-started {study.best_value:.4f}, cold TPE {cold.best_value:.4f}")
