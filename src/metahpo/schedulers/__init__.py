"""At which budget to evaluate: full budget, successive halving, Hyperband, ASHA."""

from metahpo.schedulers._asha import ASHA
from metahpo.schedulers._base import BaseScheduler, FullBudget, Job, Scheduler
from metahpo.schedulers._hyperband import Hyperband, SuccessiveHalving
from metahpo.schedulers._ladder import Ladder
from metahpo.schedulers._registry import (
    make_scheduler,
    rebuilt_by_name,
    scheduler_names,
    scheduler_spec,
)

__all__ = [
    "ASHA",
    "BaseScheduler",
    "FullBudget",
    "Hyperband",
    "Job",
    "Ladder",
    "Scheduler",
    "SuccessiveHalving",
    "make_scheduler",
    "rebuilt_by_name",
    "scheduler_names",
    "scheduler_spec",
]
