"""How well a rung's configs are ranked for promotion: by their loss there, or by MetaBO's forecast.

For each test task and seed, ``--configs`` random configs are evaluated at the lowest rung
(``--rung``) and at the full budget. MetaBO, given the meta-train tasks' design at every
budget (as ``metahpo-bench run --meta-train-budgets`` gives it), forecasts each config's
full-budget loss from the rung's losses alone (``MetaBO.forecast``, what
``ASHA(promote_by="forecast")`` ranks by). Reported per ranking: Spearman correlation with
the full-budget loss, the share of the three best configs that are in the top 1/3 (what
ASHA keeps with eta = 3), and the regret of the best config kept against the best of all.

Usage (from the repository root):
    .venv/bin/python benchmarks/forecast_ranking.py --problem lcbench --rung 2 --out benchmarks/results/forecast_ranking_lcbench.md
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

import metahpo as mh
from metahpo.history import history_from
from metahpo.surrogates.meta import MetaModelProvider, MetaTrainingConfig
from metahpo.trial import FrozenTrial, TrialState
from metahpo_bench import get_problem
from metahpo_bench.runner._meta_train import build_meta_train
from metahpo_bench.runner._metahpo import _knowledge
from metahpo_bench.runner._regret import default_cache_dir
from metahpo_bench.runner._run import parse_meta_train_budgets
from metahpo_bench.runner._split import split_tasks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", default="lcbench")
    parser.add_argument("--rung", type=float, required=True, help="the lowest rung's budget")
    parser.add_argument("--configs", type=int, default=27)
    parser.add_argument("--test-tasks", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--meta-train-size", type=int, default=256)
    parser.add_argument("--meta-train-budgets", default="hyperband",
                        help="'hyperband' (the lower Hyperband rungs) or comma-separated budgets")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    problem = get_problem(args.problem)
    split = split_tasks(problem.tasks, "random", args.test_tasks, 0)
    budgets = parse_meta_train_budgets(args.meta_train_budgets, args.problem)
    data = build_meta_train(problem, split.train, size=args.meta_train_size, seed=0,
                            cache_dir=default_cache_dir(), budgets=budgets)
    from metahpo_bench.runner._adapter import RunContext

    kb = _knowledge(RunContext(problem, split.test[0], 0, 1, meta_train=data))
    start = time.perf_counter()
    rows = []
    for seed in range(args.seeds):
        provider = MetaModelProvider(MetaTrainingConfig(seed=seed))
        optimizer = mh.MetaBO(kb, meta_models=provider, continual_update=False)
        for task in split.test:
            configs = problem.space.sample(np.random.default_rng([seed, len(rows)]), args.configs)
            low = np.array([problem.evaluate(task, c, args.rung) for c in configs])
            full = np.array([problem.evaluate(task, c, problem.max_budget) for c in configs])
            trials = [FrozenTrial(number=i, state=TrialState.COMPLETE, config=c, budget=args.rung,
                                  value=float(v), bracket=0, rung=0)
                      for i, (c, v) in enumerate(zip(configs, low, strict=True))]
            history = history_from(problem.space, trials, seed=seed, min_budget=problem.min_budget,
                                   max_budget=problem.max_budget)
            forecast = np.asarray(optimizer.forecast(history, trials))
            rows.append((task, seed, _scores(low, full), _scores(forecast, full)))
            print(task, seed, np.round(rows[-1][2], 3), np.round(rows[-1][3], 3), flush=True)
    seconds = time.perf_counter() - start
    args.out.write_text(_report(args, rows, seconds))
    print(args.out.read_text())


def _scores(score: np.ndarray, full: np.ndarray) -> tuple[float, float, float]:
    keep = np.argsort(score, kind="stable")[: len(score) // 3]
    best3 = set(np.argsort(full, kind="stable")[:3].tolist())
    regret = float(full[keep].min() - full.min())
    return float(spearmanr(score, full)[0]), len(best3 & set(keep.tolist())) / 3, regret


def _report(args: argparse.Namespace, rows: list, seconds: float) -> str:
    low = np.array([r[2] for r in rows])
    fc = np.array([r[3] for r in rows])
    diff = fc - low
    se = diff.std(ddof=1, axis=0) / np.sqrt(len(rows))
    lines = [
        f"# Ranking a rung for promotion on {args.problem}: loss at {args.rung:g} vs MetaBO's forecast",
        "",
        "Command: `.venv/bin/python " + " ".join(sys.argv) + "`",
        "",
        f"{args.test_tasks} test tasks (random split, seed 0) x {args.seeds} seeds; {args.configs} random "
        f"configs per run at budget {args.rung:g} and at the full budget; MetaBO meta-trained per seed "
        f"on the other tasks' {args.meta_train_size}-config design at the full budget and at "
        f"{args.meta_train_budgets}. "
        f"{seconds:.0f} s.",
        "",
        "| ranking by | Spearman with the full-budget loss | best 3 in the kept third | "
        "regret of the best kept config |",
        "|---|---:|---:|---:|",
        f"| loss at {args.rung:g} | {low[:, 0].mean():.3f} | {low[:, 1].mean():.3f} | {low[:, 2].mean():.4f} |",
        f"| MetaBO's forecast | {fc[:, 0].mean():.3f} | {fc[:, 1].mean():.3f} | {fc[:, 2].mean():.4f} |",
        f"| forecast minus loss (± s.e.) | {diff[:, 0].mean():+.3f} ± {se[0]:.3f} | "
        f"{diff[:, 1].mean():+.3f} ± {se[1]:.3f} | {diff[:, 2].mean():+.4f} ± {se[2]:.4f} |",
        "",
        "Per run (task, seed): Spearman / best-3 share / regret, by loss then by forecast:",
        "",
    ]
    lines += [f"- {t} {s}: {a[0]:.3f} / {a[1]:.2f} / {a[2]:.4f}; {b[0]:.3f} / {b[1]:.2f} / {b[2]:.4f}"
              for t, s, a, b in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
