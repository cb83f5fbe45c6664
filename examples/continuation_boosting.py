"""Promoted trials add boosting rounds to their parent's booster: XGBoost under Hyperband.

The budget is the number of boosting rounds. Each trial saves its booster in
``trial.checkpoint_dir`` (XGBoost's own UBJSON format, no pickle); a promotion loads its
parent's from ``trial.parent_checkpoint_dir`` and trains only the rounds it lacks, with
``xgb.train(..., xgb_model=parent_booster)``.

    python examples/continuation_boosting.py            # one Hyperband iteration, 3 to 81 rounds
    python examples/continuation_boosting.py --out runs  # keep the database and boosters
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from pathlib import Path

import xgboost as xgb
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import log_loss
from sklearn.model_selection import train_test_split

import metahpo as mh

SPACE = mh.Space(
    {
        "eta": mh.Float(0.01, 0.5, log=True),
        "max_depth": mh.Int(2, 8),
        "lambda": mh.Float(1e-3, 10.0, log=True),
        "min_child_weight": mh.Float(0.1, 10.0, log=True),
    }
)


def make_objective(rounds_trained: list[int]) -> Callable[[mh.TrialHandle], float]:
    """The objective; it appends the rounds each trial trained to ``rounds_trained``."""
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_valid, y_train, y_valid = train_test_split(
        X, y, test_size=0.3, random_state=0, stratify=y
    )
    dtrain, dvalid = xgb.DMatrix(X_train, y_train), xgb.DMatrix(X_valid)

    def objective(trial: mh.TrialHandle) -> float:
        params = {"objective": "binary:logistic", "nthread": 1, "seed": 0, **trial.config}
        parent = None
        if trial.parent_checkpoint_dir is not None:
            parent = xgb.Booster(model_file=str(trial.parent_checkpoint_dir / "model.ubj"))
        done = 0 if parent is None else parent.num_boosted_rounds()
        booster = xgb.train(
            params, dtrain, num_boost_round=int(trial.budget) - done, xgb_model=parent
        )
        booster.save_model(str(trial.checkpoint_dir / "model.ubj"))
        rounds_trained.append(int(trial.budget) - done)
        return float(log_loss(y_valid, booster.predict(dvalid)))

    return objective


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-rounds", type=int, default=81)
    parser.add_argument("--trials", type=int, default=None, help="default: one Hyperband iteration")
    parser.add_argument("--out", type=Path, default=None, help="keep the database here")
    args = parser.parse_args()

    scheduler = mh.Hyperband(min_budget=3, max_budget=args.max_rounds, eta=3)
    n_trials = args.trials or sum(n for bracket in scheduler.ladder.table() for n, _ in bracket)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.out or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        study = mh.create_study(
            name="cancer-xgb",
            space=SPACE,
            storage=f"sqlite:///{folder / 'boosting.db'}",
            optimizer="random",
            scheduler=scheduler,
            seed=0,
            load_if_exists=True,
        )
        rounds: list[int] = []
        study.optimize(make_objective(rounds), n_trials=n_trials, show_progress=False)
        restart = sum(int(t.budget) for t in study.trials[-len(rounds) :])
        best = study.best_trial
        print(
            f"{len(rounds)} trials, {sum(rounds)} rounds trained; restarting every promotion "
            f"would have trained {restart}"
        )
        print(
            f"best validation log-loss {best.value:.4f} after {best.budget:g} rounds: {dict(best.config)}"
        )
        if args.out is not None:
            print(f"its booster: {study.checkpoint_dir / str(best.number) / 'model.ubj'}")


if __name__ == "__main__":
    main()
