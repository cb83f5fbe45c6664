"""The scheduler protocol: at which budget the next evaluation runs, and what to stop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, runtime_checkable

from metahpo._validation import init_params
from metahpo.history import History
from metahpo.trial import FrozenTrial


@dataclass(frozen=True)
class Job:
    """The scheduler's answer to "what next?".

    ``parent`` set means: evaluate that trial's config again at ``budget`` (a
    promotion); otherwise the optimizer proposes a new config.
    """

    budget: float | None
    bracket: int | None = None
    rung: int | None = None
    parent: FrozenTrial | None = None


@runtime_checkable
class Scheduler(Protocol):
    """Decides budgets and promotions; composes with any optimizer.

    Like optimizers, a scheduler holds no storage reference: its decisions depend
    only on the history (each trial carries its ``bracket`` and ``rung``), so a
    reloaded study continues its brackets where they stopped.
    """

    name: ClassVar[str]
    min_budget: float | None
    max_budget: float | None

    def next_job(self, history: History) -> Job: ...

    def should_stop(self, trial: FrozenTrial, history: History) -> bool: ...

    def get_params(self) -> dict[str, Any]: ...


class BaseScheduler:
    """Shared plumbing for schedulers: scikit-learn style ``get_params``."""

    name: ClassVar[str] = ""

    def get_params(self) -> dict[str, Any]:
        return init_params(self)

    def should_stop(self, trial: FrozenTrial, history: History) -> bool:
        del trial, history
        return False

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


class FullBudget(BaseScheduler):
    """Every trial runs at full budget (``trial.budget`` is ``None``)."""

    name: ClassVar[str] = "full"
    min_budget = None
    max_budget = None

    def __init__(self) -> None:
        pass

    def next_job(self, history: History) -> Job:
        del history
        return Job(budget=None)
