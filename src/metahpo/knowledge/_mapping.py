"""Map a task onto another search space: same space as is, overlapping spaces projected.

Transfer across partly different spaces. A parameter is *shared* when both spaces have
it under the same name with a compatible type:

* ``Float`` <- ``Float`` or ``Int`` (ranges and log scales may differ),
* ``Int`` <- ``Int``,
* ``Categorical`` <- ``Categorical`` (the choices may differ).

A source evaluation whose shared value lies outside the target parameter's range (or is
not one of its choices) is dropped: it tells nothing about the target space. Source
parameters the target lacks are dropped, so rows that differ only in them become
repeated target configs: together they sample the loss marginalised over the dropped
parameters. Target parameters the source lacks are filled with their midpoint in the
unit cube and listed in :attr:`Task.missing`, so a surrogate can marginalise over them
(ignore those inputs); nearest-neighbour lookups ignore them too, and a portfolio config
taken from such a task carries the midpoint there.

Only a *related* task is mapped: it has the target's parameters (ranges may differ), or
shares most of them (more than half), at least half of its own, and at least two. Two spaces that merely share a name or two (an ``x``,
a ``learning_rate``) describe different problems, and transferring between them would
mislead more often than help. A task that is not related, or keeps no evaluation, is not
mapped.

A space does not say what is being solved: a classifier and a regressor of one model
family share their space, but their losses measure different things on different kinds
of data. So a task is related only when its kind of problem agrees with the target's
(:attr:`Task.task_type`, read from the descriptor's ``n_classes``) whenever both record
one; a task or a study that records none is compared by its space alone.
:meth:`KnowledgeBase.of_task_type <metahpo.knowledge.KnowledgeBase.of_task_type>` applies
this rule for a study of a known kind.

Conditional spaces: a mapped config holds exactly the parameters the target space makes
active under its values (the target's conditions decide, parents first). A shared
parameter the source config left out (inactive there) but the target needs is filled
with its midpoint like a missing one; a value the target makes inactive is dropped.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from metahpo.knowledge._task import Task
from metahpo.space import Categorical, Float, Int, Param, Space

__all__ = ["is_related", "map_task", "same_task_type", "shared_parameters"]

# "Most" of the target's parameters: strictly more than this share of them.
_MIN_SHARED = 0.5


def shared_parameters(source: Space, target: Space) -> list[str]:
    """Names of the target parameters the source has with a compatible type, in target order."""
    return [
        name
        for name, param in target.items()
        if name in source and _compatible(source[name], param)
    ]


def same_task_type(source: str | None, target: str | None) -> bool:
    """Whether two kinds of problem (``"classification"``, ``"regression"`` or ``None``
    for unrecorded) agree: they are equal, or one of them is not recorded."""
    return source is None or target is None or source == target


def is_related(
    source: Space,
    target: Space,
    *,
    source_type: str | None = None,
    target_type: str | None = None,
) -> bool:
    """Whether a task of ``source`` transfers to ``target``: the same parameters (ranges
    may differ), or more than half of the target's, at least half of its own, and at least
    two; and the same kind of problem when both record one (``source_type`` and
    ``target_type``: ``"classification"``, ``"regression"`` or ``None``, see
    :attr:`Task.task_type`). See the module docstring.

    Example:
        >>> import metahpo as mh
        >>> from metahpo.knowledge import is_related
        >>> space = mh.Space({"lr": mh.Float(1e-3, 1.0, log=True), "depth": mh.Int(1, 8)})
        >>> is_related(space, space), is_related(space, space, source_type="classification")
        (True, True)
        >>> is_related(space, space, source_type="classification", target_type="regression")
        False
    """
    if not same_task_type(source_type, target_type):
        return False
    if source.fingerprint() == target.fingerprint():
        return True
    shared = len(shared_parameters(source, target))
    # One name in common says little: a one-parameter study is related only to studies of
    # that one parameter (its own space, or its bounds changed).
    if shared == len(source) == len(target):
        return True
    return shared >= 2 and shared > _MIN_SHARED * len(target) and shared >= _MIN_SHARED * len(source)


def map_task(task: Task, space: Space) -> Task | None:
    """``task`` expressed in ``space``, or ``None`` when nothing of it carries over."""
    if task.space is None:
        return None
    if task.space.fingerprint() == space.fingerprint():
        return task if task.space.names == space.names else replace(task, space=space)
    shared = shared_parameters(task.space, space)
    if not shared or not is_related(task.space, space):
        return None
    midpoint = {name: space[name].from_unit(0.5) for name in space}
    filled = {name: midpoint[name] for name in space if name not in shared}
    rows: list[int] = []
    configs = []
    for row, config in enumerate(task.configs):
        values = {name: _cast(space[name], config[name]) for name in shared if name in config}
        if not all(space[name].contains(value) for name, value in values.items()):
            continue
        full = {name: values.get(name, midpoint[name]) for name in space}
        active = space.active_names(full) if space.is_conditional else list(space)
        rows.append(row)
        configs.append({name: full[name] for name in active})
    if not rows:
        return None
    index = np.asarray(rows, dtype=int)
    missing = tuple(sorted(set(task.missing) & set(shared)) + list(filled))
    return replace(
        task,
        space=space,
        configs=configs,
        losses=task.losses[index],
        budgets=None if task.budgets is None else task.budgets[index],
        missing=tuple(name for name in space if name in missing),
    )


def _compatible(source: Param, target: Param) -> bool:
    if isinstance(target, Float):
        return isinstance(source, (Float, Int))
    if isinstance(target, Int):
        return isinstance(source, Int)
    return isinstance(source, Categorical)


def _cast(param: Param, value: object) -> object:
    if isinstance(param, Float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value
