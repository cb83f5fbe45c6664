"""How well the meta-learned surrogate predicts held-out tasks after k adaptation steps.

The training tasks of a runner problem (its random split: the same meta-train design
and tasks MetaBO learns from in ``metahpo-bench run``) are cut into ``--folds`` folds by
task. For each fold, a model is meta-trained on the others with one shared inner-loop
step size (the default) and with Meta-SGD's learned per-weight step sizes, and scored on
the fold's tasks: the predictive NLL of 50 query configs after adapting on ``n`` support
configs for 0, 1 and 3 steps (``meta_test_loss``, 10 random splits per task). Lower is
better. The table is the mean over folds.

    .venv/bin/python benchmarks/adaptation_steps_nll.py --problem lcbench --out benchmarks/results/meta_sgd_steps
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

import numpy as np
import pandas as pd

from metahpo.knowledge import KnowledgeBase
from metahpo.surrogates import SpaceEncoding
from metahpo.surrogates.meta import MetaTrainingConfig, meta_test_loss
from metahpo.surrogates.meta._provider import _with_trend_prior
from metahpo.surrogates.meta._train import meta_train, tasks_to_data
from metahpo_bench._registry import get_problem
from metahpo_bench.options import out_directory
from metahpo_bench.runner._meta_train import build_meta_train
from metahpo_bench.runner._regret import default_cache_dir
from metahpo_bench.runner._split import split_tasks

SUPPORT_SIZES = (5, 10, 20)
STEPS = (0, 1, 3)
VARIANTS = {"shared step": {}, "Meta-SGD": {"learned_step_sizes": True}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problem", required=True)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-tasks", type=int, default=10)
    parser.add_argument("--meta-train-size", type=int, default=256)
    parser.add_argument("--out", type=out_directory, required=True)
    args = parser.parse_args()

    problem = get_problem(args.problem)
    split = split_tasks(problem.tasks, "random", args.test_tasks, 0)
    data = build_meta_train(problem, split.train, args.meta_train_size, 0, default_cache_dir())
    kb = KnowledgeBase.from_design(problem.space, list(data.configs), dict(data.losses), source="meta_train")
    tasks = tasks_to_data(kb.tasks(problem.space), SpaceEncoding(problem.space))
    order = np.random.default_rng(args.seed).permutation(len(tasks))
    rows = []
    for fold in range(args.folds):
        held = set(order[fold :: args.folds].tolist())
        train = [t for i, t in enumerate(tasks) if i not in held]
        test = [t for i, t in enumerate(tasks) if i in held]
        for variant, options in VARIANTS.items():
            started = time.perf_counter()
            model = meta_train(train, MetaTrainingConfig(seed=args.seed, **options))
            model = _with_trend_prior(model, train)
            seconds = time.perf_counter() - started
            for n in SUPPORT_SIZES:
                for steps in STEPS:
                    nll = meta_test_loss(model, test, n_support=n, adapt_steps=steps, repeats=10)
                    rows.append({"fold": fold, "variant": variant, "support": n, "steps": steps, "nll": nll})
            print(f"fold {fold} {variant}: trained in {seconds:.0f} s", flush=True)

    frame = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out / f"nll_{args.problem}.csv", index=False)
    grouped = frame.groupby(["support", "steps", "variant"])["nll"]
    mean, error = grouped.mean(), grouped.std() / np.sqrt(args.folds)
    names = list(VARIANTS)
    lines = ["| support | steps | " + " | ".join(names) + " |", "|---:|---:|" + "---:|" * len(names)]
    for n in SUPPORT_SIZES:
        for steps in STEPS:
            cells = [f"{mean[n, steps, v]:.4f} ± {error[n, steps, v]:.4f}" for v in names]
            lines.append(f"| {n} | {steps} | " + " | ".join(cells) + " |")
    command = " ".join(["benchmarks/adaptation_steps_nll.py", *map(shlex.quote, sys.argv[1:])])
    text = (
        f"# Held-out predictive NLL after k adaptation steps ({args.problem})\n\n"
        f"Command: `.venv/bin/python {command}`\n\n"
        f"{len(tasks)} training tasks in {args.folds} folds by task; mean over folds ± s.e. "
        "(lower is better).\n\n" + "\n".join(lines) + "\n"
    )
    (args.out / f"nll_{args.problem}.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
