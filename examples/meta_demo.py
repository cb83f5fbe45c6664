"""The main job: a preset, tuned study after study on new datasets, in one SQLite storage.

1. The preset ``hgb-classifier`` (scikit-learn's HistGradientBoostingClassifier) ships a
   search space, an objective (cross-validated log-loss) and bundled knowledge: the
   meta-data of 44 datasets and a ready-trained meta-model.
2. Lifelong tuning: KEEL datasets the bundle never saw are tuned one after another, as a
   user would: ``create_study(preset=..., task=Task.from_data(X, y))``, ``optimize``,
   ``finish``. ``optimizer="auto"`` picks MetaBO when the knowledge is related (warm start
   from similar tasks, then the meta-learned surrogate) and each finished study joins the
   knowledge of the next. A cold start (GP-BO) runs on the same datasets after it.
3. The lifelong table: the best validation log-loss of study k after 5, 10 and 15 trials,
   both ways, and why the last study's first trials were chosen (the tasks they came
   from, with their similarity weights).

The KEEL datasets come from the benchmark harness (``metahpo-bench``, in ``benchmarks/``;
``make venv`` installs it next to metahpo). Run with ``make demo``. Results persist in
``metahpo.db``; re-running resumes the stored studies. Inspect them with ``metahpo studies``,
``metahpo show NAME --explain``, ``metahpo kb list --storage sqlite:///metahpo.db`` and
``metahpo kb map --storage sqlite:///metahpo.db --out map.html``. The full benchmark
(3 presets, 20 studies each, beside Optuna) is ``benchmarks/lifelong.py``.
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
from rich.console import Console
from rich.table import Table

import metahpo as mh
from metahpo_bench.keel import keel_held_out, load_keel_xy

PRESET = "hgb-classifier"
CHECKPOINTS = (5, 10, 15)

console = Console(width=130)


def tune(storage: str, dataset: str, way: str, trials: int, seed: int) -> mh.Study:
    """One study on ``dataset``: the preset with ``"auto"``, or a GP-BO cold start."""
    X, y = load_keel_xy(dataset)
    study = mh.create_study(
        name=f"{dataset}-{way}", preset=PRESET, task=mh.Task.from_data(X, y), storage=storage,
        optimizer="auto" if way == "auto" else "gpbo", seed=seed, load_if_exists=True,
    )
    left = trials - len(study.trials)
    if left > 0:
        study.optimize(mh.presets.objective(PRESET, X, y, cv=3), n_trials=left, show_progress=False)
        if way == "auto":
            update = study.finish()  # the study is done: the knowledge learns from it (once)
            if update:
                console.print(f"    knowledge update: {update}")
    return study


def best_after(study: mh.Study, n: int) -> float:
    values = [t.value for t in study.trials[:n] if t.value is not None]
    return min(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--storage", default="sqlite:///metahpo.db")
    parser.add_argument("--studies", type=int, default=6)
    parser.add_argument("--trials", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    console.rule(f"1. the preset {PRESET}")
    info = next(i for i in mh.presets.list_presets() if i.name == PRESET)
    console.print(f"{info.family}: bundled knowledge of {info.tasks} tasks, {info.configs} configs, "
                  f"{info.evaluations} evaluations at budgets {list(info.budgets)} ({info.budget_unit})")

    console.rule(f"2. lifelong: {args.studies} new datasets, one after another")
    bundled = {task.name for task in mh.presets.get(PRESET).knowledge()}
    rows = []
    for k, dataset in enumerate(keel_held_out(bundled, args.studies), start=1):
        warm = tune(args.storage, dataset, "auto", args.trials, args.seed + k)
        cold = tune(args.storage, dataset, "gpbo", args.trials, args.seed + k)
        choice = warm.user_attrs.get("optimizer_choice", {})
        console.print(f"  study {k} ({dataset}): auto chose {choice.get('optimizer', warm.optimizer.name)!r}, "
                      f"best {warm.best_value:.4f} against GP-BO's {cold.best_value:.4f}")
        rows.append((k, dataset, warm, cold))

    console.rule("3. the lifelong table: best validation log-loss of study k after n trials")
    table = Table("k", "dataset", *(f"auto n={n}" for n in CHECKPOINTS), *(f"gpbo n={n}" for n in CHECKPOINTS))
    ratios = []
    for k, dataset, warm, cold in rows:
        table.add_row(str(k), dataset, *(f"{best_after(warm, n):.4f}" for n in CHECKPOINTS),
                      *(f"{best_after(cold, n):.4f}" for n in CHECKPOINTS))
        ratios.append(best_after(warm, 10) / best_after(cold, 10))
    console.print(table)
    console.print(f"median ratio of best losses after 10 trials, auto / gpbo: {np.median(ratios):.3f}")

    last = rows[-1][2]
    console.print(f"why the first trials of study {len(rows)} were chosen:")
    for trial in last.trials[:4]:
        why = trial.user_attrs.get("why", {})
        if why.get("source") == "portfolio":
            console.print(f"  trial {trial.number}: portfolio config, best among its picks on {why.get('tasks')}")
        else:
            console.print(f"  trial {trial.number}: {why.get('source')}, adapted beside the most similar tasks "
                          f"(similarity weights) {why.get('similar_tasks')}")


if __name__ == "__main__":
    main()
