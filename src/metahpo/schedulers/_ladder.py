"""Budget ladders of successive halving and Hyperband (Li et al., JMLR 2018, Algorithm 1).

With maximum budget R, minimum budget r and reduction factor eta:
    s_max = floor(log_eta(R / r))
    bracket s (s = s_max .. 0) starts n = ceil((s_max + 1) / (s + 1) * eta**s) configs
    at budget R * eta**-s; rung i keeps floor(n * eta**-i) of them at budget R * eta**(i - s).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from metahpo._validation import check_finite_number, check_int
from metahpo.exceptions import InvalidParameterError

logger = logging.getLogger("metahpo.schedulers")

# log_eta(R/r) computed in floating point can land a hair below an integer (log(81)/log(3)).
_LOG_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Ladder:
    """The budget grid shared by successive halving, Hyperband and ASHA."""

    min_budget: float
    max_budget: float
    eta: int
    integer: bool

    @property
    def s_max(self) -> int:
        return math.floor(math.log(self.max_budget / self.min_budget) / math.log(self.eta) + _LOG_TOLERANCE)

    def plain_range(self) -> tuple[float, float]:
        """``(min_budget, max_budget)`` as JSON stores them: ints for an integer ladder."""
        if self.integer:
            return int(self.min_budget), int(self.max_budget)
        return float(self.min_budget), float(self.max_budget)

    def budget(self, bracket_s: int, rung: int) -> float:
        """Budget of rung ``rung`` in the bracket with ``bracket_s`` halvings: R * eta**(rung - s)."""
        value = self.max_budget * float(self.eta) ** (rung - bracket_s)
        if self.integer:
            value = float(max(round(value), math.ceil(self.min_budget)))
        return min(value, self.max_budget)

    def budgets(self) -> list[float]:
        """Every rung's budget, ascending: the budgets any bracket runs at."""
        return [self.budget(self.s_max, rung) for rung in range(self.s_max + 1)]

    def bracket_size(self, bracket_s: int) -> int:
        """n = ceil((s_max + 1) / (s + 1) * eta**s): configs the bracket starts."""
        return math.ceil((self.s_max + 1) / (bracket_s + 1) * self.eta**bracket_s - 1e-9)

    def rung_size(self, n_start: int, rung: int) -> int:
        """floor(n * eta**-i): configs that reach rung ``rung`` of a bracket that starts ``n``."""
        return math.floor(n_start / self.eta**rung + 1e-9)

    def table(self) -> list[list[tuple[int, float]]]:
        """One row per bracket (s = s_max .. 0): its rungs as (configs, budget)."""
        rows = []
        for s in range(self.s_max, -1, -1):
            n = self.bracket_size(s)
            rows.append([(self.rung_size(n, i), self.budget(s, i)) for i in range(s + 1)])
        return rows


def make_ladder(min_budget: object, max_budget: object, eta: object, owner: str) -> Ladder:
    """Validate scheduler arguments; budgets given as ints stay integers (epochs, rounds)."""
    low = check_finite_number(min_budget, "min_budget", owner)
    high = check_finite_number(max_budget, "max_budget", owner)
    eta = check_int(eta, "eta", owner, minimum=2)
    if low <= 0:
        raise InvalidParameterError(
            f"The 'min_budget' parameter of {owner} must be > 0. Got {min_budget!r} instead."
        )
    if high <= low:
        raise InvalidParameterError(
            f"The 'max_budget' parameter of {owner} must be larger than 'min_budget'. "
            f"Got min_budget={min_budget!r}, max_budget={max_budget!r} instead."
        )
    # NumPy's integers count: arithmetic on arrays hands them to users.
    integer = all(isinstance(b, (int, np.integer)) and not isinstance(b, bool) for b in (min_budget, max_budget))
    ladder = Ladder(low, high, eta, integer)
    if ladder.s_max == 0:
        # Not refused: a study stored with such a scheduler must still open.
        logger.warning(
            "%s(min_budget=%r, max_budget=%r, eta=%d) has a single rung: max_budget / min_budget "
            "must be at least eta for any trial to run below max_budget, so every trial runs "
            "at max_budget. Lower eta or widen the budget range.",
            owner, min_budget, max_budget, eta,
        )
    return ladder
