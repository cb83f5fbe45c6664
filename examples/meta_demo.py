"""The main job: meta-learning at work on real models and real data, stored in SQLite.

1. Knowledge: HistGradientBoosting is tuned with Hyperband (boosting rounds as the
   budget) on four KEEL datasets; each finished study joins the knowledge base. With the
   bundled `keel-hgb` meta-data installed, that is used as well.
2. A new dataset the knowledge has not seen (scikit-learn's breast cancer) is tuned twice
   with the same budget of trials: `optimizer="auto"` (MetaBO: a warm-start portfolio from
   similar tasks, then a meta-learned surrogate) and a cold start (GP-BO).
3. The table shows the best validation log-loss after each number of trials.

The KEEL and scikit-learn training problems come from the benchmark harness
(`metahpo-bench`, in `benchmarks/`; `make venv` installs it next to metahpo).

Run with `make demo`. Results persist in `metahpo.db`; re-running resumes the stored
studies. Inspect them with `metahpo studies` and `metahpo show NAME --explain`.
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
from rich.console import Console
from rich.table import Table

import metahpo as mh
from metahpo_bench import get_problem

PAST_DATASETS = ("australian", "bupa", "pima", "wisconsin")
TARGET = "breast_cancer"
FULL_ROUNDS = 81
CHECKPOINTS = (1, 3, 5, 10, 15, 20)

console = Console()


def build_knowledge(storage: str, seed: int) -> None:
    """Past studies: Hyperband on KEEL datasets (one Hyperband iteration each)."""
    keel = get_problem("keel-hgb")
    for name in PAST_DATASETS:
        study = mh.create_study(
            name=f"past-hgb-{name}", space=keel.space, storage=storage, optimizer="random",
            scheduler=mh.Hyperband(min_budget=3, max_budget=FULL_ROUNDS, eta=3), seed=seed,
            load_if_exists=True,
        )
        left = 69 - len(study.trials)  # 69 evaluations = one iteration for (3, 81, 3)
        if left > 0:
            study.optimize(lambda t, n=name: keel.evaluate(n, t.config, t.budget),
                           n_trials=left, show_progress=True)
        spent = sum(t.budget for t in study.trials) / FULL_ROUNDS
        console.print(f"  {name}: {len(study.trials)} evaluations, {spent:.1f} full-budget "
                      f"equivalents, best {study.best_value:.4f}")


def tune_target(storage: str, optimizer: str, trials: int, seed: int) -> mh.Study:
    target = get_problem("sklearn-hgb")
    study = mh.create_study(
        name=f"new-hgb-{TARGET}-{optimizer}", space=target.space, storage=storage,
        optimizer=optimizer, seed=seed, load_if_exists=True,
    )
    left = trials - len(study.trials)
    if left > 0:
        study.optimize(lambda t: target.evaluate(TARGET, t.config, FULL_ROUNDS),
                       n_trials=left, show_progress=True)
    return study


def best_so_far(study: mh.Study) -> np.ndarray:
    values = [t.value if t.value is not None else np.inf for t in study.trials]
    return np.minimum.accumulate(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--storage", default="sqlite:///metahpo.db")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    console.rule("1. knowledge: past studies with Hyperband")
    build_knowledge(args.storage, args.seed)

    console.rule(f"2. a new dataset: {TARGET}")
    warm = tune_target(args.storage, "auto", args.trials, args.seed)
    console.print(f"optimizer='auto' chose {warm.optimizer.name!r}")
    for trial in warm.trials[:5]:
        console.print(f"  trial {trial.number}: {trial.user_attrs.get('why')}")
    cold = tune_target(args.storage, "gpbo", args.trials, args.seed)

    console.rule("3. best validation log-loss after n trials")
    table = Table("trials", f"auto ({warm.optimizer.name})", "cold start (gpbo)")
    warm_curve, cold_curve = best_so_far(warm), best_so_far(cold)
    for n in CHECKPOINTS:
        if n <= min(len(warm_curve), len(cold_curve)):
            table.add_row(str(n), f"{warm_curve[n - 1]:.4f}", f"{cold_curve[n - 1]:.4f}")
    console.print(table)
    best = warm.best_trial if warm.best_value <= cold.best_value else cold.best_trial
    console.print(f"best config: {dict(best.config)}")
    update = warm.finish()  # the study is done: the knowledge learns from it (once)
    if update:
        console.print(f"knowledge update after the study: {update}")


if __name__ == "__main__":
    main()
