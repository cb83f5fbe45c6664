"""Which tasks a portfolio is chosen on, measured on the knowledge itself by leaving one task out.

The default rule (the cluster of the nearest task) can hold every task when the
descriptors show no structure; then the portfolio ignores the dataset. The ``k`` nearest
tasks can do better or worse depending on the model family, so the rule is chosen per
knowledge base and space, when the knowledge is built, and stored with it
(``portfolio.json``, :mod:`metahpo.knowledge._portfolio_file`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from metahpo._validation import check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge._portfolio import greedy_portfolio
from metahpo.knowledge._task import Task
from metahpo.space import Space

__all__ = ["NeighboursChoice", "choose_portfolio_neighbours", "held_out_portfolio_regrets"]

#: The rules tried: the nearest task's cluster (``None``) and the ``k`` nearest tasks.
CANDIDATE_RULES: tuple[int | None, ...] = (None, 3, 5, 10, 20)
#: The portfolio configs a held-out task scores: the first few, where the rule matters.
FIRST_CONFIGS = 5
#: Fewer held-out tasks than this tell nothing: keep the default rule.
MIN_TASKS = 10
#: A rule can replace the default only when it is better on the held-out tasks at this
#: level (one-sided paired Wilcoxon signed-rank test against the cluster).
SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class NeighboursChoice:
    """The rule chosen for a space's portfolio and the evidence for it.

    Attributes:
        k_nearest: the number of nearest tasks, or ``None`` for the nearest task's cluster.
        mean_regret: per rule tried (``None`` or ``k``), the mean over the held-out tasks
            every rule scored of the normalised regret of the portfolio's first configs.
        p_values: per ``k`` tried, the one-sided paired test of that rule against the
            cluster (1.0 when no task tells them apart).
        n_tasks: the held-out tasks every rule scored.
    """

    k_nearest: int | None
    mean_regret: dict[int | None, float]
    p_values: dict[int, float]
    n_tasks: int


def held_out_portfolio_regrets(
    tasks: Sequence[Task], space: Space, k_nearest: int | None, first: int = FIRST_CONFIGS
) -> dict[str, float]:
    """Per task that can be scored (by name), the regret of the portfolio chosen without it.

    Each task in turn is the target: the portfolio is chosen on the others for a study
    with its descriptor only (what a new study knows), by the same rule as
    :meth:`KnowledgeBase.relevant`. The score is the mean over ``n = 1..first`` of
    ``(best of the first n configs - best) / (median - best)`` on the task's losses at its
    largest budget. Tasks without evaluations or a descriptor, or that did not evaluate
    every portfolio config (knowledge without a shared design), are skipped.
    """
    from metahpo.knowledge._base import KnowledgeBase

    first = check_int(first, "first", "held_out_portfolio_regrets", minimum=1)
    if k_nearest is not None:
        k_nearest = check_int(k_nearest, "k_nearest", "held_out_portfolio_regrets", minimum=1)
    scores = {}
    for task in tasks:
        top = task.at_budget(None)
        if not top.n_evaluations:
            continue
        losses = np.asarray(top.losses, dtype=float)
        best, median = float(losses.min()), float(np.median(losses))
        if not task.descriptor or median <= best:
            continue
        others = KnowledgeBase([t for t in tasks if t.name != task.name])
        target = Task(name="__held_out__", descriptor=task.descriptor)
        chosen = others.relevant(space, target, k_nearest)
        by_key = dict(zip(space.config_keys(top.configs), losses, strict=True))
        keys = space.config_keys(greedy_portfolio(chosen, first))
        if not all(key in by_key for key in keys):
            continue
        found = np.minimum.accumulate([by_key[key] for key in keys])
        scores[task.name] = float(np.mean((found - best) / (median - best)))
    return scores


def choose_portfolio_neighbours(tasks: Sequence[Task], space: Space) -> NeighboursChoice:
    """The portfolio rule for ``space`` that did best on ``tasks`` held out one at a time.

    Every rule of :data:`CANDIDATE_RULES` with ``k`` below the number of other tasks is
    scored by :func:`held_out_portfolio_regrets` on the tasks every rule could score. Each
    ``k`` is tested against the default (the nearest task's cluster) by a one-sided paired
    Wilcoxon signed-rank test (zero differences ranked, then dropped: Pratt's method);
    of those better at :data:`SIGNIFICANCE`, the one with the lowest mean regret is
    chosen, else the cluster is kept, and it is kept too with fewer than
    :data:`MIN_TASKS` tasks that tell a rule from the cluster. The level is not corrected
    for trying four rules: this screens, and the choices shipped with the presets were
    checked on datasets outside the knowledge (``benchmarks/results/portfolio_rules/``).

    Args:
        tasks: the knowledge's tasks mapped onto ``space`` (``kb.tasks(space)``).
        space: the search space the portfolio is for.
    """
    # Here, not at import: a study that needs no model must not load scipy.
    from scipy.stats import wilcoxon

    if not isinstance(space, Space):
        raise InvalidParameterError(
            f"The 'space' parameter of choose_portfolio_neighbours must be a metahpo Space. "
            f"Got {describe(space)} instead."
        )
    tasks = list(tasks)
    rules = [k for k in CANDIDATE_RULES if k is None or k < len(tasks) - 1]
    scored = {k: held_out_portfolio_regrets(tasks, space, k) for k in rules}
    common = sorted(set.intersection(*(set(s) for s in scored.values())))
    regrets = {k: np.array([scored[k][name] for name in common]) for k in rules}
    mean = {k: float(r.mean()) if len(r) else float("nan") for k, r in regrets.items()}
    p_values: dict[int, float] = {}
    for k in (k for k in rules if k is not None):
        difference = regrets[k] - regrets[None]
        if np.count_nonzero(difference) < MIN_TASKS:
            p_values[k] = 1.0
        else:
            test = wilcoxon(difference, zero_method="pratt", alternative="less")
            p_values[k] = float(test.pvalue)
    better = [k for k, p in p_values.items() if p < SIGNIFICANCE]
    chosen = min(better, key=lambda k: mean[k]) if better else None
    return NeighboursChoice(chosen, mean, p_values, len(common))
