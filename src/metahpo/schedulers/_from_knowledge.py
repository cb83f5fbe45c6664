"""The lowest rung, learned from past tasks: which Hyperband bracket found the best configs.

A low ``min_budget`` screens many configs cheaply, but only if low budgets rank configs
as the full budget does; that differs between model families (two epochs rank lcbench's
networks poorly, a few boosting rounds already expose a diverging learning rate). Past
tasks evaluated at several budgets answer it: successive halving is simulated on them
bracket by bracket (Hyperband's brackets, which cost about the same), and the bracket
whose final configs were best gives the lowest rung.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from metahpo._validation import check_finite_number, check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge import KnowledgeBase, Task
from metahpo.schedulers._ladder import make_ladder
from metahpo.space import Space

# Draws of each bracket per task: enough that the choice does not move with the seed.
_DRAWS = 256
# Configs a task must have evaluated at every budget level to rank them there.
_MIN_CONFIGS = 16


@dataclass(frozen=True)
class MinBudgetChoice:
    """The chosen lowest rung and the evidence for it.

    ``quantile_regret[b]``: mean over the tasks and draws of the share of a task's
    configs whose full-budget loss beat the best config of a bracket starting at ``b``
    (0 is the task's best; brackets cost about the same, see :class:`Hyperband`).
    """

    min_budget: float
    quantile_regret: dict[float, float]
    n_tasks: int


def min_budget_from_knowledge(
    knowledge: KnowledgeBase, space: Space, max_budget: float, eta: int = 3
) -> MinBudgetChoice:
    """The ``min_budget`` for ASHA, Hyperband or successive halving, chosen on past tasks.

    Uses the knowledge's tasks in ``space`` that evaluated the same configs at several
    budgets (multi-fidelity meta-data, as ``metahpo bench build-metadata --budgets``
    writes). Each budget of a candidate ladder is matched to the nearest evaluated budget
    within a factor of sqrt(eta).

    Example:
        >>> import metahpo as mh
        >>> from metahpo.schedulers import min_budget_from_knowledge
        >>> space = mh.Space({"x": mh.Float(0.0, 1.0)})
        >>> design = space.sobol(32, seed=0)
        >>> rows = {b: [abs(c["x"] - 0.3) + 1.0 / b for c in design] for b in (1, 3, 9)}
        >>> kb = mh.KnowledgeBase()
        >>> for k in range(3):
        ...     _ = kb.add_task(space, design * 3, rows[1] + rows[3] + rows[9],
        ...                     budgets=[1] * 32 + [3] * 32 + [9] * 32, name=f"t{k}")
        >>> min_budget_from_knowledge(kb, space, max_budget=9).min_budget
        1
    """
    if not isinstance(knowledge, KnowledgeBase):
        raise InvalidParameterError(
            "The 'knowledge' parameter of min_budget_from_knowledge must be a KnowledgeBase. "
            f"Got {describe(knowledge)} instead."
        )
    top = check_finite_number(max_budget, "max_budget", "min_budget_from_knowledge")
    check_int(eta, "eta", "min_budget_from_knowledge", minimum=2)
    tables = [t for t in (_levels_table(task, top, eta) for task in knowledge.tasks(space)) if t]
    if not tables:
        raise InvalidParameterError(
            "The 'knowledge' parameter of min_budget_from_knowledge must hold tasks of this space "
            f"that evaluated at least {_MIN_CONFIGS} configs at several budgets up to "
            f"max_budget={max_budget!r}. Got {len(knowledge)} tasks, none with such evaluations."
        )
    # The deepest bracket every task can rank: its ladder is what all brackets share.
    s_max = min(max(levels) for levels, _ in tables)
    if s_max == 0:
        raise InvalidParameterError(
            "The 'knowledge' parameter of min_budget_from_knowledge must hold evaluations at a "
            f"budget at most max_budget / sqrt(eta) = {top / math.sqrt(eta):g}. Got only "
            "full-budget evaluations."
        )
    rng = np.random.default_rng(0)
    regrets = {s: float(np.mean([_bracket_regret(t, s, s_max, eta, rng) for t in tables]))
               for s in range(s_max + 1)}
    # Lowest regret; an exact tie goes to the larger budget (the cheaper assumption).
    best = min(regrets, key=lambda s: (regrets[s], s))
    ladder = make_ladder(_typed(top * float(eta) ** -s_max, max_budget), max_budget, eta,
                         "min_budget_from_knowledge")
    by_budget = {ladder.budget(s, 0): round(value, 4) for s, value in sorted(regrets.items())}
    return MinBudgetChoice(
        min_budget=_typed(ladder.budget(best, 0), max_budget),
        quantile_regret=by_budget,
        n_tasks=len(tables),
    )


def _levels_table(task: Task, top: float, eta: int) -> tuple[dict[int, int], np.ndarray] | None:
    """Rung depth -> column, and the losses of the configs evaluated at every matched level.

    Column 0 is the full budget; rung depth k (budget top * eta**-k) maps to the task's
    level nearest to it in log scale, within a factor of sqrt(eta).
    """
    levels = [b for b in task.budget_levels() if b is not None]
    if len(levels) < 2:
        return None
    depth_of: dict[int, float] = {}
    for level in levels:
        depth = math.log(top / level) / math.log(eta)
        k = round(depth)
        if abs(depth - k) <= 0.5 and k >= 0 and k not in depth_of:
            depth_of[k] = level
    if 0 not in depth_of:
        return None
    # Only a contiguous ladder from the full budget down can be simulated.
    depths = [0]
    while depths[-1] + 1 in depth_of:
        depths.append(depths[-1] + 1)
    keys = task.config_keys()
    per_level = []
    for k in depths:
        rows = np.flatnonzero(np.isclose(task.budgets, depth_of[k], rtol=1e-9, atol=0.0))
        per_level.append({keys[int(i)]: float(task.losses[int(i)]) for i in rows})
    shared = set(per_level[0]).intersection(*per_level[1:])
    if len(shared) < _MIN_CONFIGS or len(depths) < 2:
        return None
    order = sorted(shared)
    losses = np.array([[level[key] for level in per_level] for key in order])
    return {k: i for i, k in enumerate(depths)}, losses


def _bracket_regret(
    table: tuple[dict[int, int], np.ndarray], s: int, s_max: int, eta: int,
    rng: np.random.Generator,
) -> float:
    """Mean quantile regret of successive halving's bracket ``s`` on one task."""
    columns, losses = table
    full = losses[:, columns[0]]
    n_configs = len(full)
    n_start = math.ceil((s_max + 1) / (s + 1) * eta**s - 1e-9)
    out = []
    for _ in range(_DRAWS):
        alive = rng.choice(n_configs, size=min(n_start, n_configs), replace=False)
        for rung in range(s):
            keep = max(1, math.floor(n_start / eta ** (rung + 1) + 1e-9))
            at_rung = losses[alive, columns[s - rung]]
            alive = alive[np.argsort(at_rung, kind="stable")[:keep]]
        found = full[alive].min()
        out.append(np.mean(full < found))
    return float(np.mean(out))


def _typed(value: float, like: float) -> float:
    """Integer budgets stay ints (epochs, rounds), as the schedulers keep them."""
    return max(round(value), 1) if isinstance(like, int) else float(value)
