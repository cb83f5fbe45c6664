"""How well a meta-trained surrogate ranks a held-out task's configs from a few observations.

The YAHPO meta-benchmarks' split (10 test tasks, random, seed 0; the 256-config Sobol
meta-train design of `metahpo-bench run --meta-train-size 256`): meta-train on the other
tasks, then per test task and repeat observe k random design configs, fit the surrogate
as MetaBO does (3 validated adaptation steps, standardised losses) and predict the
remaining configs. Reported per k, averaged over tasks, repeats and meta-training seeds:

- regret: the normalised regret (bounds of the meta benchmark's `bounds.json`) of the
  config the predicted mean ranks first, against the best remaining config;
- spearman: rank correlation of predicted mean and true loss.

No Bayesian optimisation loop, so it isolates the surrogate: how much each
meta-training option helps the next suggestion when only a few trials have run.

    .venv/bin/python benchmarks/meta_surrogate_ranking.py --problem rbv2_xgboost \\
        --variants standardize,rank,rank+trend --seeds 0,1 \\
        --out benchmarks/results/meta_surrogate_ranking_rbv2_xgboost.md
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import spearmanr

from metahpo.knowledge import KnowledgeBase
from metahpo.surrogates import SpaceEncoding, torch_threads
from metahpo.surrogates.meta import MetaTrainingConfig, meta_train, tasks_to_data
from metahpo_bench import get_problem
from metahpo_bench.options import out_file
from metahpo_bench.runner._meta_train import build_meta_train

VARIANTS = {
    "standardize": {"task_transform": "standardize", "trend": False},
    "rank": {"task_transform": "rank", "trend": False},
    "rank+trend": {"task_transform": "rank", "trend": True},
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--problem", default="rbv2_xgboost")
    parser.add_argument("--variants", default="standardize,rank,rank+trend")
    parser.add_argument("--seeds", default="0,1")
    parser.add_argument("--ks", default="5,10,25")
    parser.add_argument("--repeats", type=int, default=4)
    parser.add_argument("--out", type=out_file, required=True)
    args = parser.parse_args()
    problem = get_problem(args.problem)
    bounds = json.loads(Path(f"benchmarks/results/meta_{args.problem}/bounds.json").read_text())
    test = sorted(bounds)
    train = [t for t in problem.tasks if t not in test]
    design = build_meta_train(problem, train + test, 256, 0, Path.home() / ".cache" / "metahpo")
    encoding = SpaceEncoding(problem.space, problem.min_budget, problem.max_budget)

    def as_data(tasks: list[str]) -> list:
        kb = KnowledgeBase.from_design(problem.space, list(design.configs),
                                       {t: design.losses[t] for t in tasks}, source="design")
        return tasks_to_data(kb.tasks(problem.space), encoding)

    train_data, test_data = as_data(train), as_data(test)
    ks = [int(k) for k in args.ks.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = []
    with torch_threads(1):
        for variant in args.variants.split(","):
            scores, seconds = [], []
            for seed in seeds:
                started = time.perf_counter()
                model = meta_train(train_data, MetaTrainingConfig(seed=seed, **VARIANTS[variant]))
                seconds.append(time.perf_counter() - started)
                scores.append(_ranking(model, test_data, bounds, ks, args.repeats))
                print(variant, seed, np.round(scores[-1], 3).tolist(), f"{seconds[-1]:.0f} s", flush=True)
            rows.append((variant, np.mean(scores, axis=0), float(np.mean(seconds))))

    head = " | ".join(f"regret k={k} | spearman k={k}" for k in ks)
    lines = [
        f"# Surrogate ranking on held-out {args.problem} tasks", "",
        f"Command: `.venv/bin/python benchmarks/meta_surrogate_ranking.py --problem {args.problem} "
        f"--variants {args.variants} --seeds {args.seeds} --ks {args.ks} --repeats {args.repeats}`", "",
        f"{len(train)} meta-train tasks, {len(test)} test tasks x {args.repeats} repeats x "
        f"{len(seeds)} meta-training seeds; MetaTrainingConfig defaults otherwise. Machine: "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f} at the end.", "",
        f"| variant | {head} | meta-training s |",
        "|---|" + "---:|" * (2 * len(ks) + 1),
    ]
    for variant, values, secs in rows:
        cells = " | ".join(f"{v:.3f}" for v in values)
        lines.append(f"| {variant} | {cells} | {secs:.0f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


def _ranking(model, tasks, bounds, ks, repeats) -> list[float]:
    rng = np.random.default_rng(1)
    out = []
    for k in ks:
        regrets, correlations = [], []
        for task in tasks:
            low, high = bounds[task.name]
            normalised = (task.y - low) / (high - low)
            for _ in range(repeats):
                order = rng.permutation(len(task.y))
                seen, unseen = order[:k], order[k:]
                surrogate = model.surrogate(3, "standardize", validate=True).fit(task.X[seen], task.y[seen])
                with torch.no_grad():
                    mean, _ = surrogate.predict(torch.as_tensor(task.X[unseen], dtype=torch.float64))
                mean = np.asarray(mean).ravel()
                regrets.append(normalised[unseen][np.argmin(mean)] - normalised[unseen].min())
                correlations.append(spearmanr(mean, task.y[unseen])[0])
        out += [float(np.mean(regrets)), float(np.nanmean(correlations))]
    return out


if __name__ == "__main__":
    main()
