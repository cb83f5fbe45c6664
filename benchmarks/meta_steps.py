"""Meta-training steps against a held-out task's predictive NLL, for small knowledge.

A user's own knowledge starts small: three studies of some 20 trials when ``auto`` first
picks MetaBO. This trains the meta-model on ``n`` tasks of a preset's bundle, each cut to
``--configs`` random evaluations, for several step counts, and scores each model on 15
other bundle tasks (:func:`~metahpo.surrogates.meta.meta_test_loss`: predictive NLL of 50
query configs after adapting on 10, and on 5). Three draws of the tasks.

    PYTHONPATH=src python benchmarks/meta_steps.py hgb-classifier 250,500,1000,2000 3,6 20
"""

from __future__ import annotations

import collections
import sys
import time
from dataclasses import replace

import numpy as np

import metahpo as mh
from metahpo.knowledge import KnowledgeBase
from metahpo.surrogates._encoding import SpaceEncoding
from metahpo.surrogates.meta import (
    MetaTrainingConfig,
    TaskData,
    meta_test_loss,
    meta_train,
    tasks_to_data,
    trend_prior,
)


def main(preset: str, steps_list: list[int], n_tasks_list: list[int], per_task: int) -> None:
    space = mh.presets.get(preset).space
    kb = KnowledgeBase.open(f"bundled:{preset}")
    data = tasks_to_data(kb.tasks(space), SpaceEncoding(space))
    print(preset, len(data), "tasks", [len(d.y) for d in data[:3]], flush=True)
    rows = []
    for rep in range(3):
        order = np.random.default_rng(rep).permutation(len(data))
        test = [data[i] for i in order[-15:]]
        for n_tasks in n_tasks_list:
            train = []
            for i in order[:n_tasks]:
                task = data[i]
                keep = np.random.default_rng(100 + i).choice(len(task.y), min(per_task, len(task.y)), replace=False)
                train.append(TaskData(task.X[keep], task.y[keep], task.name))
            for steps in steps_list:
                started = time.perf_counter()
                model = meta_train(train, replace(MetaTrainingConfig(), meta_steps=steps))
                seconds = time.perf_counter() - started
                model.info["trend_prior"] = list(trend_prior(model, train))
                loss = meta_test_loss(model, test, n_support=10, n_query=50, repeats=3)
                loss_small = meta_test_loss(model, test, n_support=5, n_query=50, repeats=3)
                print(f"rep {rep} tasks {n_tasks} steps {steps}: {seconds:.1f}s  nll@10 {loss:.4f} "
                      f"nll@5 {loss_small:.4f}", flush=True)
                rows.append((n_tasks, steps, seconds, loss, loss_small))
    means = collections.defaultdict(list)
    for n_tasks, steps, *values in rows:
        means[(n_tasks, steps)].append(values)
    for (n_tasks, steps), values in sorted(means.items()):
        seconds, loss, loss_small = np.mean(values, axis=0)
        print(f"tasks {n_tasks} steps {steps}: {seconds:.1f}s nll@10 {loss:.4f} nll@5 {loss_small:.4f}")


if __name__ == "__main__":
    main(sys.argv[1], [int(s) for s in sys.argv[2].split(",")], [int(s) for s in sys.argv[3].split(",")],
         int(sys.argv[4]) if len(sys.argv) > 4 else 20)
