"""Synchronous successive halving and Hyperband (Li et al., JMLR 2018).

The scheduler keeps no state of its own: each trial records its ``bracket`` (a running
index over all brackets started) and ``rung``, so the next job is read off the history
and a reloaded study continues mid-bracket.
"""

from __future__ import annotations

from typing import Any, ClassVar

from metahpo.history import History
from metahpo.schedulers._base import BaseScheduler, Job
from metahpo.schedulers._ladder import Ladder, make_ladder
from metahpo.schedulers._rungs import (
    first_attempt,
    in_rung,
    one_per_config,
    promoted_configs,
    ranked,
)
from metahpo.storage import is_stale_failure
from metahpo.trial import TrialState


class Hyperband(BaseScheduler):
    """Hyperband: brackets s = s_max .. 0 of successive halving, repeated.

    With ``n_jobs=1``, one iteration of ``Hyperband(min_budget=1, max_budget=81, eta=3)`` is
    206 evaluations: budgets {1: 81, 3: 61, 9: 35, 27: 19, 81: 10}. A promotion waits
    until its whole rung has finished (synchronous); a worker that would wait starts the
    next bracket instead, so parallel workers never idle.

    Args:
        min_budget: the smallest budget (r); ints keep every budget an int (epochs).
        max_budget: the full budget (R).
        eta: the reduction factor, an int >= 2.

    Example:
        >>> import metahpo as mh
        >>> hb = mh.Hyperband(min_budget=1, max_budget=9, eta=3)
        >>> hb.ladder.table()
        [[(9, 1.0), (3, 3.0), (1, 9.0)], [(5, 3.0), (1, 9.0)], [(3, 9.0)]]
    """

    name: ClassVar[str] = "hyperband"

    def __init__(self, min_budget: float, max_budget: float, eta: int = 3) -> None:
        self.min_budget = min_budget
        self.max_budget = max_budget
        self.eta = eta
        self.ladder: Ladder = make_ladder(min_budget, max_budget, eta, type(self).__name__)
        self.eta = self.ladder.eta  # a plain int, stored as JSON with the study
        self.min_budget, self.max_budget = self.ladder.plain_range()  # NumPy numbers too

    def bracket_s(self, bracket: int) -> int:
        """The number of halvings of bracket ``bracket`` (brackets cycle s_max .. 0)."""
        return self.ladder.s_max - bracket % (self.ladder.s_max + 1)

    def next_job(self, history: History) -> Job:
        brackets = sorted({t.bracket for t in history.trials if t.bracket is not None})
        promoted = promoted_configs(history)
        for bracket in brackets:
            job = self._job_in(history, bracket, promoted)
            if job is not None:
                return job
        new = brackets[-1] + 1 if brackets else 0
        return Job(budget=self.ladder.budget(self.bracket_s(new), 0), bracket=new, rung=0)

    def _job_in(self, history: History, bracket: int, promoted: set[int]) -> Job | None:
        s = self.bracket_s(bracket)
        wanted = self.ladder.bracket_size(s)
        below = one_per_config(in_rung(history, bracket, 0))
        if len(below) < wanted:
            return Job(budget=self.ladder.budget(s, 0), bracket=bracket, rung=0)
        for rung in range(1, s + 1):
            # A config holds one place whatever number of its trials ran there, and a
            # promotion whose process died none: its retry or the next config takes it.
            here = [t for t in one_per_config(in_rung(history, bracket, rung)) if not is_stale_failure(t)]
            if any(t.state is TrialState.RUNNING for t in below):
                return None  # Synchronous: the rung below must finish first.
            best = ranked(history, below)[: self.ladder.rung_size(wanted, rung)]
            waiting = [t for t in best if first_attempt(t) not in promoted]
            if len(here) < len(best) and waiting:
                return Job(budget=self.ladder.budget(s, rung), bracket=bracket, rung=rung,
                           parent=waiting[0])
            below = here
        return None

    def get_params(self) -> dict[str, Any]:
        return {"min_budget": self.min_budget, "max_budget": self.max_budget, "eta": self.eta}


class SuccessiveHalving(Hyperband):
    """Successive halving: Hyperband's most aggressive bracket (s = s_max), repeated.

    Each bracket starts eta**s_max configs at ``min_budget`` and keeps the best
    1/eta of them at each rung up to ``max_budget``.

    Example:
        >>> import metahpo as mh
        >>> mh.SuccessiveHalving(min_budget=1, max_budget=27, eta=3).ladder.table()[0]
        [(27, 1.0), (9, 3.0), (3, 9.0), (1, 27.0)]
    """

    name: ClassVar[str] = "successive_halving"

    def __init__(self, min_budget: float, max_budget: float, eta: int = 3) -> None:
        # Its own signature, so that a missing argument is said of SuccessiveHalving.
        super().__init__(min_budget, max_budget, eta)

    def bracket_s(self, bracket: int) -> int:
        return self.ladder.s_max
