"""The benchmark runner: optimizer adapters, the run loop, regret normalisation and reports."""

from metahpo.benchmarks.runner._adapter import Adapter, RunContext
from metahpo.benchmarks.runner._budget import BudgetExhausted, Evaluator
from metahpo.benchmarks.runner._meta_train import MetaTrainData, build_meta_train
from metahpo.benchmarks.runner._records import Record, read_records, write_records
from metahpo.benchmarks.runner._regret import (
    TaskBounds,
    normalized_regret,
    random_draw_bounds,
    task_bounds,
)
from metahpo.benchmarks.runner._split import TaskSplit, split_tasks

__all__ = [
    "Adapter",
    "BudgetExhausted",
    "Evaluator",
    "MetaTrainData",
    "Record",
    "RunContext",
    "TaskBounds",
    "TaskSplit",
    "build_meta_train",
    "normalized_regret",
    "random_draw_bounds",
    "read_records",
    "split_tasks",
    "task_bounds",
    "write_records",
]
