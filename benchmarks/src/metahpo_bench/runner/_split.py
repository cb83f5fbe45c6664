"""Meta-train / meta-test splits of a problem's tasks: a fixed random split or k folds."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError

__all__ = ["TaskSplit", "split_tasks"]

_FOLD = re.compile(r"^(\d+)-fold:(\d+)$")


@dataclass(frozen=True)
class TaskSplit:
    """Test tasks (the optimizers are run on them) and train tasks (meta-train data)."""

    test: tuple[str, ...]
    train: tuple[str, ...]


def split_tasks(
    tasks: Sequence[str],
    split: str = "random",
    test_tasks: int | None = None,
    split_seed: int = 0,
    explicit: Sequence[str] | None = None,
) -> TaskSplit:
    """Split ``tasks`` into meta-test and meta-train tasks, reproducibly.

    Args:
        tasks: all tasks of the problem.
        split: ``"random"``: ``test_tasks`` tasks drawn with ``split_seed`` (all tasks
            when ``test_tasks`` is ``None``; the train tasks are then, for each test
            task, the others — see :func:`train_tasks_for`); ``"K-fold:i"``: the tasks
            are permuted with ``split_seed`` and cut into K folds, fold ``i`` is the test set.
        test_tasks: how many test tasks for the random split.
        split_seed: seeds the permutation.
        explicit: test tasks named by the user; overrides ``split``.

    Example:
        >>> split = split_tasks([str(i) for i in range(10)], "5-fold:0", split_seed=1)
        >>> len(split.test), len(split.train)
        (2, 8)
    """
    all_tasks = tuple(str(t) for t in tasks)
    if explicit:
        unknown = [t for t in explicit if t not in all_tasks]
        if unknown:
            raise InvalidParameterError(
                f"The 'tasks' option must name tasks of the problem (e.g. {list(all_tasks[:3])}). "
                f"Got unknown tasks {unknown} instead."
            )
        test = tuple(dict.fromkeys(explicit))
        return TaskSplit(test, tuple(t for t in all_tasks if t not in test))
    order = [all_tasks[i] for i in np.random.default_rng(split_seed).permutation(len(all_tasks))]
    if split == "random":
        if test_tasks is None:
            return TaskSplit(all_tasks, ())
        if (
            isinstance(test_tasks, bool)
            or not isinstance(test_tasks, int)
            or not 1 <= test_tasks <= len(all_tasks)
        ):
            raise InvalidParameterError(
                f"The 'test_tasks' option must be an int in [1, {len(all_tasks)}]. Got {describe(test_tasks)} instead."
            )
        test = tuple(sorted(order[:test_tasks], key=all_tasks.index))
        return TaskSplit(test, tuple(t for t in all_tasks if t not in test))
    match = _FOLD.match(split) if isinstance(split, str) else None
    if match is None:
        raise InvalidParameterError(
            f"The 'split' option must be 'random' or 'K-fold:i' (e.g. '5-fold:0'). Got {describe(split)} instead."
        )
    n_folds, fold = int(match.group(1)), int(match.group(2))
    if not 2 <= n_folds <= len(all_tasks) or not 0 <= fold < n_folds:
        raise InvalidParameterError(
            f"The 'split' option 'K-fold:i' needs 2 <= K <= {len(all_tasks)} and 0 <= i < K. Got {split!r} instead."
        )
    chunks = np.array_split(np.arange(len(order)), n_folds)
    chosen = {order[i] for i in chunks[fold]}
    test = tuple(t for t in all_tasks if t in chosen)
    return TaskSplit(test, tuple(t for t in all_tasks if t not in chosen))


def train_tasks_for(split: TaskSplit, task: str, all_tasks: Sequence[str]) -> tuple[str, ...]:
    """The meta-train tasks for ``task``: the split's train tasks, or all other tasks
    when the split has none (leave-one-task-out)."""
    if split.train:
        return split.train
    return tuple(str(t) for t in all_tasks if str(t) != task)
