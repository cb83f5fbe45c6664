"""Which tasks a portfolio is chosen on, measured on the knowledge itself by leaving one task out.

The default rule (the cluster of the nearest task) can hold every task when the
descriptors show no structure; then the portfolio ignores the dataset. The ``k`` nearest
tasks can do better or worse depending on the model family, so the rule is chosen per
knowledge base and space, when the knowledge is built, and stored with it (the
``portfolio_k_nearest`` field of a space in ``manifest.json``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import wilcoxon

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
#: The best rule replaces the default only when it is better on the held-out tasks at
#: this level (one-sided paired Wilcoxon signed-rank test against the cluster).
SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class NeighboursChoice:
    """The rule chosen for a space's portfolio and the evidence for it.

    Attributes:
        k_nearest: the number of nearest tasks, or ``None`` for the nearest task's cluster.
        mean_regret: per rule tried (``None`` or ``k``), the mean over held-out tasks of
            the normalised regret of the portfolio's first configs.
        p_value: the one-sided paired test of the best rule against the cluster (1.0
            when the cluster is best or too few tasks could be scored).
        n_tasks: the held-out tasks scored.
    """

    k_nearest: int | None
    mean_regret: dict[int | None, float]
    p_value: float
    n_tasks: int


def held_out_portfolio_regrets(
    tasks: Sequence[Task], space: Space, k_nearest: int | None, first: int = FIRST_CONFIGS
) -> np.ndarray:
    """Per task that can be scored, the regret of the portfolio chosen without it.

    Each task in turn is the target: the portfolio is chosen on the others for a study
    with its descriptor only (what a new study knows), by the same rule as
    :meth:`KnowledgeBase.relevant`. The score is the mean over ``n = 1..first`` of
    ``(best of the first n configs - best) / (median - best)`` on the task's losses at its
    largest budget. Tasks without a descriptor, or that did not evaluate every portfolio
    config (knowledge without a shared design), are skipped.
    """
    from metahpo.knowledge._base import KnowledgeBase

    first = check_int(first, "first", "held_out_portfolio_regrets", minimum=1)
    scores = []
    for task in tasks:
        top = task.at_budget(None)
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
        scores.append(float(np.mean((found - best) / (median - best))))
    return np.asarray(scores)


def choose_portfolio_neighbours(tasks: Sequence[Task], space: Space) -> NeighboursChoice:
    """The portfolio rule for ``space`` that did best on ``tasks`` held out one at a time.

    Every rule of :data:`CANDIDATE_RULES` with ``k`` below the number of tasks is scored
    by :func:`held_out_portfolio_regrets`; the best replaces the default (the nearest
    task's cluster) only when it is better on the held-out tasks by a one-sided paired
    Wilcoxon test at :data:`SIGNIFICANCE`, so that a difference of a few tasks is not
    mistaken for a finding.

    Args:
        tasks: the knowledge's tasks mapped onto ``space`` (``kb.tasks(space)``).
        space: the search space the portfolio is for.
    """
    if not isinstance(space, Space):
        raise InvalidParameterError(
            f"The 'space' parameter of choose_portfolio_neighbours must be a metahpo Space. "
            f"Got {describe(space)} instead."
        )
    tasks = list(tasks)
    rules = [k for k in CANDIDATE_RULES if k is None or k < len(tasks) - 1]
    regrets = {k: held_out_portfolio_regrets(tasks, space, k) for k in rules}
    n_tasks = min(len(r) for r in regrets.values())
    mean = {k: float(r.mean()) if len(r) else float("nan") for k, r in regrets.items()}
    if n_tasks < MIN_TASKS or any(len(r) != n_tasks for r in regrets.values()):
        return NeighboursChoice(None, mean, 1.0, n_tasks)
    best = min(rules, key=lambda k: mean[k])
    if best is None:
        return NeighboursChoice(None, mean, 1.0, n_tasks)
    difference = regrets[best] - regrets[None]
    p_value = 1.0 if not np.any(difference) else float(wilcoxon(difference, alternative="less").pvalue)
    chosen = best if p_value < SIGNIFICANCE else None
    return NeighboursChoice(chosen, mean, p_value, n_tasks)
