"""Asynchronous successive halving (ASHA; Li et al., MLSys 2020, Algorithm 2)."""

from __future__ import annotations

from typing import Any, ClassVar

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.history import History
from metahpo.schedulers._base import BaseScheduler, Job
from metahpo.schedulers._ladder import Ladder, make_ladder
from metahpo.schedulers._rungs import (
    first_attempt,
    in_rung,
    one_per_config,
    promoted_configs,
    ranked,
    value_at,
)
from metahpo.trial import FrozenTrial

_MODES = ("promotion", "stopping")


class ASHA(BaseScheduler):
    """ASHA: promote as soon as a config is in the top 1/eta of its rung; never wait.

    ``mode="promotion"``: a free worker promotes the best not-yet-promoted config that
    is in the top ``floor(|finished in rung| / eta)`` of a rung (highest rung first); if none is,
    it starts a new config at ``min_budget``. Rung k runs at
    ``max_budget * eta**(k - s_max)``.

    ``mode="stopping"``: every trial runs at ``max_budget`` and reports intermediate
    values; ``trial.should_stop()`` is true when, at the last rung budget it passed,
    its value is not in the top 1/eta of the values other trials reported there.

    Example:
        >>> import metahpo as mh
        >>> mh.ASHA(min_budget=1, max_budget=27, eta=3).ladder.s_max
        3
    """

    name: ClassVar[str] = "asha"

    def __init__(self, min_budget: float, max_budget: float, eta: int = 3, mode: str = "promotion") -> None:
        self.min_budget = min_budget
        self.max_budget = max_budget
        self.eta = eta
        self.mode = mode
        self.ladder: Ladder = make_ladder(min_budget, max_budget, eta, type(self).__name__)
        self.eta = self.ladder.eta  # a plain int, stored as JSON with the study
        self.min_budget, self.max_budget = self.ladder.plain_range()  # NumPy numbers too
        if mode not in _MODES:
            raise InvalidParameterError(
                f"The 'mode' parameter of ASHA must be 'promotion' or 'stopping'. Got {describe(mode)} instead."
            )

    def rung_budget(self, rung: int) -> float:
        return self.ladder.budget(self.ladder.s_max, rung)

    def next_job(self, history: History) -> Job:
        s_max = self.ladder.s_max
        if self.mode == "stopping":
            return Job(budget=self.max_budget, bracket=0, rung=s_max)
        promoted = promoted_configs(history)
        for rung in range(s_max - 1, -1, -1):
            # Only finished trials count (Li et al. 2020, Algorithm 2): a rung's pending
            # trials have no result yet, so they neither rank nor widen the top 1/eta.
            # A failed or pruned trial is finished and ranks last. A config counts once:
            # a trial whose process died and its retry are one config.
            finished = [t for t in one_per_config(in_rung(history, 0, rung)) if t.state.is_finished]
            top = ranked(history, finished)[: len(finished) // self.eta]
            waiting = [t for t in top if first_attempt(t) not in promoted]
            if waiting:
                return Job(budget=self.rung_budget(rung + 1), bracket=0, rung=rung + 1,
                           parent=waiting[0])
        return Job(budget=self.rung_budget(0), bracket=0, rung=0)

    def should_stop(self, trial: FrozenTrial, history: History) -> bool:
        if self.mode != "stopping" or not trial.intermediate:
            return False
        reached = max(trial.intermediate)
        passed = [k for k in range(self.ladder.s_max) if self.rung_budget(k) <= reached]
        if not passed:
            return False
        step = self.rung_budget(passed[-1])
        # A run that first reported past the rung's step is judged by that first value
        # (as if it were the rung's), not taken for an infinite loss.
        value = value_at(trial, step)
        mine = history.loss(trial.intermediate[min(trial.intermediate)] if value is None else value)
        others = [
            history.loss(v) for t in history.trials
            if t.number != trial.number and (v := value_at(t, step)) is not None
            and max(t.intermediate) >= step
        ]
        if len(others) + 1 < self.eta:
            return False  # Too few to rank: let it run.
        ranks = sorted([*others, mine])
        keep = max(1, len(ranks) // self.eta)
        return mine > ranks[keep - 1]

    def get_params(self) -> dict[str, Any]:
        return {"min_budget": self.min_budget, "max_budget": self.max_budget, "eta": self.eta,
                "mode": self.mode}
