"""The benchmark runner: optimizer adapters, the run loop, regret normalisation and reports."""

from metahpo_bench.runner._adapter import Adapter, RunContext
from metahpo_bench.runner._budget import BudgetExhausted, Evaluator
from metahpo_bench.runner._meta_train import MetaTrainData, build_meta_train
from metahpo_bench.runner._records import Record, read_records, write_records
from metahpo_bench.runner._registry import adapter_names, make_adapter, unavailable_reason
from metahpo_bench.runner._regret import (
    TaskBounds,
    normalized_regret,
    pool_bounds,
    random_draw_bounds,
    table_bounds,
    task_bounds,
)
from metahpo_bench.runner._run import BenchmarkSpec, RunOutcome, run_benchmark
from metahpo_bench.runner._split import TaskSplit, split_tasks
from metahpo_bench.runner._summarize import summarize

__all__ = [
    "Adapter",
    "BenchmarkSpec",
    "BudgetExhausted",
    "Evaluator",
    "MetaTrainData",
    "Record",
    "RunContext",
    "RunOutcome",
    "TaskBounds",
    "TaskSplit",
    "adapter_names",
    "build_meta_train",
    "make_adapter",
    "normalized_regret",
    "pool_bounds",
    "random_draw_bounds",
    "read_records",
    "run_benchmark",
    "split_tasks",
    "summarize",
    "table_bounds",
    "task_bounds",
    "unavailable_reason",
    "write_records",
]
