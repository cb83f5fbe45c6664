"""At which budget to evaluate: full budget, successive halving, Hyperband, ASHA."""

from metahpo.schedulers._base import BaseScheduler, FullBudget, Job, Scheduler
from metahpo.schedulers._registry import make_scheduler, scheduler_names, scheduler_spec

__all__ = [
    "BaseScheduler",
    "FullBudget",
    "Job",
    "Scheduler",
    "make_scheduler",
    "scheduler_names",
    "scheduler_spec",
]
