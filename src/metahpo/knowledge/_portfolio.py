"""Warm-start portfolios: configs chosen greedily to minimise mean normalised regret over tasks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from metahpo._validation import check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge._lookup import LossLookup
from metahpo.knowledge._mapping import map_task
from metahpo.knowledge._task import Task
from metahpo.space import Config, ConfigKey, Space

__all__ = ["greedy_portfolio", "greedy_portfolio_sources", "regret_matrix"]



def regret_matrix(tasks: Sequence[Task], candidates: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """``(n_candidates, n_tasks)`` normalised regrets at each task's largest budget.

    The regret of a candidate on a task is ``(loss - min) / (max - min)`` with the task's
    own minimum and maximum loss, so every task weighs the same whatever its loss scale.
    The loss is exact when the candidate was evaluated on the task (the tasks share a
    design), else that of the nearest evaluated config in the unit cube.
    """
    space = _common_space(tasks, "regret_matrix")
    unit = space.to_unit(
        [space.validate(c, name=f"candidates[{i}]") for i, c in enumerate(candidates)]
    )
    out = np.zeros((len(candidates), len(tasks)))
    for j, task in enumerate(tasks):
        # Same fingerprint, maybe another parameter order: align the unit-cube columns.
        final = map_task(task, space).at_budget(None)  # type: ignore[union-attr]
        lo, hi = float(final.losses.min()), float(final.losses.max())
        if hi > lo:
            predicted = LossLookup(final).predict(unit)
            out[:, j] = np.clip((predicted - lo) / (hi - lo), 0.0, 1.0)
    return out


def greedy_portfolio(
    tasks: Sequence[Task],
    size: int,
    candidates: Sequence[Mapping[str, Any]] | None = None,
) -> list[Config]:
    """``size`` configs that together do well on ``tasks`` (Wistuba et al., 2015; Feurer et al., 2018).

    Starting from an empty portfolio, each step adds the candidate that most lowers the
    mean over tasks of the best normalised regret in the portfolio (see
    :func:`regret_matrix`); ties go to the candidate with the lower mean regret on its
    own, then to the earlier candidate, so the result is deterministic. ``candidates``
    defaults to every config evaluated at the largest budget of some task, in task order.
    All tasks must share one space: map them first with
    :meth:`KnowledgeBase.tasks(space) <metahpo.knowledge.KnowledgeBase.tasks>`.

    Example:
        >>> import metahpo as mh
        >>> from metahpo.knowledge import greedy_portfolio
        >>> space = mh.Space({"x": mh.Float(0.0, 1.0)})
        >>> xs = [{"x": v / 10} for v in range(11)]
        >>> tasks = [mh.Task(f"t{i}", space, xs, [abs(c["x"] - opt) for c in xs])
        ...          for i, opt in enumerate([0.2, 0.2, 0.8])]
        >>> greedy_portfolio(tasks, 2)
        [{'x': 0.2}, {'x': 0.8}]
    """
    return [config for config, _ in greedy_portfolio_sources(tasks, size, candidates)]


def greedy_portfolio_sources(
    tasks: Sequence[Task],
    size: int,
    candidates: Sequence[Mapping[str, Any]] | None = None,
) -> list[tuple[Config, list[str]]]:
    """:func:`greedy_portfolio`, each config with the names of the tasks it was chosen for:
    those whose best regret in the portfolio it lowered when it was added, the most lowered
    first. They are what a portfolio trial's explanation names."""
    size = check_int(size, "size", "greedy_portfolio", minimum=1)
    tasks = [t for t in tasks if t.has_evaluations]
    if not tasks:
        return []
    space = _common_space(tasks, "greedy_portfolio")
    if candidates is None:
        pool = _distinct_configs(space, [dict(c) for t in tasks for c in t.at_budget(None).configs])
    else:
        if isinstance(candidates, (str, bytes, Mapping)):
            raise InvalidParameterError(
                f"The 'candidates' parameter of greedy_portfolio must be a list of configs. Got {describe(candidates)} instead."
            )
        pool = _distinct_configs(
            space, [space.validate(c, name=f"candidates[{i}]") for i, c in enumerate(candidates)]
        )
    regrets = regret_matrix(tasks, pool)
    alone = regrets.mean(axis=1)
    best_so_far = np.ones(len(tasks))
    chosen: list[tuple[Config, list[str]]] = []
    available = np.ones(len(pool), dtype=bool)
    for _ in range(min(size, len(pool))):
        gain = np.minimum(regrets, best_so_far).mean(axis=1)
        gain = np.where(available, np.round(gain, 12), np.inf)
        order = np.lexsort((np.arange(len(pool)), alone, gain))
        pick = int(order[0])
        lowered = best_so_far - regrets[pick]
        helped = [j for j in np.argsort(-lowered, kind="stable") if lowered[j] > 1e-12]
        chosen.append((dict(pool[pick]), [tasks[j].name for j in helped]))
        available[pick] = False
        best_so_far = np.minimum(best_so_far, regrets[pick])
    return chosen


def _common_space(tasks: Sequence[Task], owner: str) -> Space:
    spaces = {t.space.fingerprint(): t.space for t in tasks if t.space is not None}
    if len(spaces) != 1:
        raise InvalidParameterError(
            f"The 'tasks' parameter of {owner} must hold tasks of one search space (map them with "
            f"KnowledgeBase.tasks(space)). Got {len(spaces)} spaces."
        )
    if any(t.space is None or not t.has_evaluations for t in tasks):
        raise InvalidParameterError(
            f"The 'tasks' parameter of {owner} must hold tasks with evaluations."
        )
    return tasks[0].space  # type: ignore[return-value]


def _distinct_configs(space: Space, configs: Sequence[Config]) -> list[Config]:
    if not configs:
        return []
    seen: set[ConfigKey] = set()
    out = []
    for key, config in zip(space.config_keys(list(configs)), configs, strict=True):
        if key not in seen:
            seen.add(key)
            out.append(dict(config))
    return out
