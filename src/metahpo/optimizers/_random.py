"""Random search and scrambled Sobol search: the baselines and the initial designs."""

from __future__ import annotations

from typing import ClassVar

from metahpo._validation import check_int
from metahpo.history import History
from metahpo.optimizers._base import BaseOptimizer
from metahpo.space import Config


class RandomSearch(BaseOptimizer):
    """Uniform draws in the unit cube (log-uniform for log parameters).

    Each draw is keyed by the study seed and the trial count, so a study replayed
    with the same seed proposes the same configs, in any process.

    Example:
        >>> import metahpo as mh
        >>> study = mh.create_study(space=mh.Space({"x": mh.Float(0, 1)}), optimizer="random", seed=0)
        >>> study.optimize(lambda t: t.config["x"] ** 2, n_trials=5, show_progress=False)
        >>> len(study.trials)
        5
    """

    name: ClassVar[str] = "random"

    def suggest(self, history: History, n: int = 1) -> list[Config]:
        n = check_int(n, "n", "RandomSearch.suggest", minimum=1)
        return history.space.sample(history.rng(), n)


class Sobol(BaseOptimizer):
    """Points of one scrambled Sobol sequence, taken in order.

    The sequence is seeded by the study seed; trial ``k`` that starts a new config
    takes point ``k``, so parallel workers that reserved different trials take
    different points.
    """

    name: ClassVar[str] = "sobol"

    def suggest(self, history: History, n: int = 1) -> list[Config]:
        n = check_int(n, "n", "Sobol.suggest", minimum=1)
        return history.space.sobol(n, seed=history.seed, skip=history.new_config_count())
