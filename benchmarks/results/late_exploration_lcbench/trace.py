"""One benchmark run on lcbench with every evaluated config written out (the runner keeps
only losses): ``PYTHONPATH=src:benchmarks/src python trace.py TASK OPTIMIZER SEED OUT_DIR``.

The run is the runner's own (the split of 10 test tasks with split seed 0, the 256-config
meta-train design, 50 full-budget evaluations), so its losses are those of
``metahpo-bench run`` with the same task and seed.
"""

import json
import sys

from metahpo_bench import get_problem
from metahpo_bench.runner import _budget
from metahpo_bench.runner._meta_train import build_meta_train
from metahpo_bench.runner._registry import make_adapter
from metahpo_bench.runner._regret import default_cache_dir
from metahpo_bench.runner._split import split_tasks, train_tasks_for


def main() -> None:
    task, optimizer, seed, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    problem = get_problem("lcbench")
    split = split_tasks(problem.tasks, "random", 10, 0, None)
    train = train_tasks_for(split, task, problem.tasks)
    meta = build_meta_train(problem, train, 256, 0, default_cache_dir()) if optimizer.startswith("metabo") else None
    log: list[tuple[list[float], float]] = []
    evaluate = _budget.Evaluator.__call__

    def traced(self, config, budget=None, parent_budget=None):  # type: ignore[no-untyped-def]
        loss = evaluate(self, config, budget, parent_budget)
        log.append((problem.space.to_unit([config])[0].tolist(), float(loss)))
        return loss

    _budget.Evaluator.__call__ = traced  # type: ignore[method-assign]
    make_adapter(optimizer, eta=3).run(problem, task, seed, 50, meta, False)
    with open(f"{out}/{task}_{optimizer}_{seed}.json", "w") as file:
        json.dump({"names": problem.space.names, "log": log}, file)
    print(task, optimizer, seed, "best", min(loss for _, loss in log))


if __name__ == "__main__":
    main()
