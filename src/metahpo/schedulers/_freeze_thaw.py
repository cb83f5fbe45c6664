"""Freeze-thaw by forecast: continue the config the optimizer expects to beat the best."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from metahpo.history import History
from metahpo.schedulers._asha import ASHA
from metahpo.schedulers._base import BaseScheduler, Job
from metahpo.schedulers._ladder import Ladder, make_ladder
from metahpo.schedulers._rungs import promoted_parents

# A learning curve whose chance to beat the best is below 5% is not worth its remaining
# budget: the predictive termination criterion of Domhan et al. (IJCAI 2015).
MIN_CHANCE = 0.05


class FreezeThaw(BaseScheduler):
    """Every config starts at ``min_budget``; a config is continued rung by rung while the
    study's optimizer gives it at least a 5% chance to beat the best full-budget loss.

    A free worker continues ("thaws") the stopped config below the full budget with the
    highest chance, if it reaches 5%; otherwise it starts a new config at the lowest rung.
    Stopped ("frozen") configs are weighed again at every job, so one the model comes to
    like after more observations is continued later. Rung k runs at
    ``max_budget * eta**(k - s_max)``, as in :class:`ASHA`.

    The chance comes from the optimizer (:attr:`History.chance_to_improve
    <metahpo.history.History>`): MetaBO's meta-learned surrogate has seen on past tasks how
    low-budget losses turned out at the full budget. With an optimizer that has no model of
    the budget, promotions follow ASHA's rule (the top 1/eta of a rung). When the objective
    resumes a promotion from its parent's checkpoint, a config continued to the full budget
    costs what it would have cost alone; the saving is the budget not spent on configs
    stopped early.

    Example:
        >>> import metahpo as mh
        >>> mh.FreezeThaw(min_budget=2, max_budget=52).ladder.s_max
        3
    """

    name: ClassVar[str] = "freeze_thaw"

    def __init__(self, min_budget: float, max_budget: float, eta: int = 3) -> None:
        self.min_budget = min_budget
        self.max_budget = max_budget
        self.eta = eta
        self.ladder: Ladder = make_ladder(min_budget, max_budget, eta, type(self).__name__)
        self._asha = ASHA(min_budget, max_budget, eta)

    def next_job(self, history: History) -> Job:
        promoted = promoted_parents(history)
        stopped = [
            t for t in history.complete
            if t.bracket == 0 and t.rung is not None and t.rung < self.ladder.s_max
            and t.number not in promoted
        ]
        start = Job(budget=self._asha.rung_budget(0), bracket=0, rung=0)
        if not stopped:
            return start
        chances = None if history.chance_to_improve is None else history.chance_to_improve(stopped)
        if chances is None:
            return self._asha.next_job(history)
        best = int(np.argmax(chances))
        if chances[best] < MIN_CHANCE:
            return start
        parent = stopped[best]
        rung = int(parent.rung) + 1  # type: ignore[arg-type]
        return Job(budget=self._asha.rung_budget(rung), bracket=0, rung=rung, parent=parent)

    def get_params(self) -> dict[str, Any]:
        return {"min_budget": self.min_budget, "max_budget": self.max_budget, "eta": self.eta}
