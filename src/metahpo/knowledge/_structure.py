"""Global and local structure of a set of tasks as arrays, for clustering them many ways.

* **Global structure**: each task's meta-features on the signed log scale, standardised
  over the tasks (as :class:`~metahpo.knowledge.DescriptorScale` does), ``NaN`` where a
  task lacks a feature. The similarity of two tasks on a subset of features is
  ``exp(-rms difference)`` over the features both have: :func:`descriptor_similarity`.
* **Local structure**: each task's loss at one set of *reference rows* (config, budget)
  shared by the tasks of its space: every distinct row some task evaluated, at most
  ``max_reference`` of them (a seeded subsample). A loss is exact where the task evaluated
  the row (the bundled meta-data evaluates one design on every task, so every loss is
  exact there), else that of its nearest evaluated config at the nearest budget level
  (:class:`~metahpo.knowledge.LossLookup`). The similarity of two tasks on a subset of the
  rows is ``(1 + Spearman's rho) / 2``: how alike they rank the same configs.

Both come as matrices with ``NaN`` where a pair cannot be compared, so a clustering can
weigh them (:func:`combine`) or use only one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from metahpo._validation import check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge._lookup import LossLookup
from metahpo.knowledge._similarity import DescriptorScale, _signed_log
from metahpo.knowledge._task import Task
from metahpo.space import round_unit

__all__ = ["TaskStructure", "combine", "task_structure"]

# Fewer evaluations than this give no response profile (as response_similarity needs).
_MIN_EVALUATIONS = 3


@dataclass(frozen=True, eq=False)
class ResponseGroup:
    """The tasks of one space: their indices and losses at the space's reference rows."""

    members: np.ndarray
    losses: np.ndarray


@dataclass(frozen=True, eq=False)
class TaskStructure:
    """The arrays the similarities of a set of tasks are computed from.

    Attributes:
        names: the task names, in the order given.
        features: the meta-feature names, sorted.
        descriptors: ``(n, len(features))`` standardised signed-log meta-features, ``NaN``
            where a task lacks one.
        groups: one :class:`ResponseGroup` per space with at least two comparable tasks.
    """

    names: tuple[str, ...]
    features: tuple[str, ...]
    descriptors: np.ndarray
    groups: tuple[ResponseGroup, ...]

    @property
    def has_global(self) -> bool:
        """Whether some pair of tasks shares a meta-feature."""
        present = ~np.isnan(self.descriptors)
        return bool(np.any(np.triu(present.astype(int) @ present.T.astype(int), k=1)))

    @property
    def has_local(self) -> bool:
        return bool(self.groups)

    def global_similarity(self, features: np.ndarray | None = None) -> np.ndarray:
        """``(n, n)`` descriptor similarities on the feature columns ``features`` (all by default)."""
        values = self.descriptors if features is None else self.descriptors[:, features]
        n = len(self.names)
        if values.shape[1] == 0:
            return np.full((n, n), np.nan)
        squared = (values[:, None, :] - values[None, :, :]) ** 2
        present = ~np.isnan(squared)
        counts = present.sum(axis=2)
        mean = np.where(present, squared, 0.0).sum(axis=2) / np.maximum(counts, 1)
        return np.where(counts > 0, np.exp(-np.sqrt(mean)), np.nan)

    def local_similarity(self, rows: Sequence[np.ndarray] | None = None) -> np.ndarray:
        """``(n, n)`` response similarities on the reference rows ``rows`` (one index array
        per group; all rows by default); ``NaN`` across spaces and for tasks without a
        profile. Two constant profiles give ``NaN``, one ``0.5`` (no information)."""
        from scipy import stats

        n = len(self.names)
        out = np.full((n, n), np.nan)
        for index, group in enumerate(self.groups):
            losses = group.losses if rows is None else group.losses[:, rows[index]]
            ranks = stats.rankdata(losses, axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                rho = np.nan_to_num(np.corrcoef(ranks), nan=0.0)
            block = (1.0 + rho) / 2.0
            constant = np.ptp(losses, axis=1) == 0
            block[constant, :] = 0.5
            block[:, constant] = 0.5
            block[np.ix_(constant, constant)] = np.nan
            out[np.ix_(group.members, group.members)] = block
        return out

    def local_features(self, rows: Sequence[np.ndarray] | None = None) -> np.ndarray:
        """``(n, m)`` standardised ranks of each task's losses, each row scaled so that the
        squared distance of two rows is ``1 - rho`` (0 for tasks without a profile)."""
        from scipy import stats

        blocks = []
        for index, group in enumerate(self.groups):
            losses = group.losses if rows is None else group.losses[:, rows[index]]
            ranks = stats.rankdata(losses, axis=1)
            centred = ranks - ranks.mean(axis=1, keepdims=True)
            norms = np.linalg.norm(centred, axis=1, keepdims=True)
            scaled = np.divide(
                centred, norms * np.sqrt(2.0), out=np.zeros_like(centred), where=norms > 0
            )
            block = np.zeros((len(self.names), losses.shape[1]))
            block[group.members] = scaled
            blocks.append(block)
        return np.hstack(blocks) if blocks else np.zeros((len(self.names), 0))

    def global_features(self, features: np.ndarray | None = None) -> np.ndarray:
        """``(n, f)`` standardised meta-features over ``sqrt(2 f)`` (missing ones at the mean,
        0), so the squared distance of two rows is about half their mean squared difference."""
        values = self.descriptors if features is None else self.descriptors[:, features]
        if values.shape[1] == 0:
            return values
        return np.nan_to_num(values, nan=0.0) / np.sqrt(2.0 * values.shape[1])


def combine(global_: np.ndarray, local: np.ndarray, weight: float) -> np.ndarray:
    """``weight * global + (1 - weight) * local`` where both are known, the known one where
    only one is, and ``0.5`` ("no information") where neither is; 1 on the diagonal."""
    both = weight * global_ + (1.0 - weight) * local
    out = np.where(np.isnan(global_), local, np.where(np.isnan(local), global_, both))
    out = np.where(np.isnan(out), 0.5, out)
    np.fill_diagonal(out, 1.0)
    return (out + out.T) / 2.0


def task_structure(
    tasks: Sequence[Task], max_reference: int = 1024, seed: int = 0
) -> TaskStructure:
    """The global and local structure of ``tasks`` (best mapped onto one space first).

    Args:
        tasks: the tasks; those with fewer than three evaluations have no local structure.
        max_reference: the most reference rows per space (a seeded subsample beyond it).
        seed: seeds that subsample.

    Example:
        >>> import metahpo as mh
        >>> from metahpo.knowledge import task_structure
        >>> space = mh.Space({"x": mh.Float(0.0, 1.0)})
        >>> xs = [{"x": v / 10} for v in range(11)]
        >>> tasks = [mh.Task(f"t{i}", space, xs, [(c["x"] - o) ** 2 for c in xs],
        ...                  descriptor={"n_samples": 100.0 * (i + 1)})
        ...          for i, o in enumerate([0.1, 0.2, 0.9])]
        >>> structure = task_structure(tasks)
        >>> structure.features, structure.local_similarity().round(2)[0].tolist()
        (('n_samples',), [1.0, 0.97, 0.02])
    """
    if isinstance(tasks, Task) or not all(isinstance(t, Task) for t in tasks):
        raise InvalidParameterError(
            "The 'tasks' parameter of task_structure must be a list of Task records. "
            f"Got {describe(tasks)} instead."
        )
    max_reference = check_int(max_reference, "max_reference", "task_structure", minimum=3)
    seed = check_int(seed, "seed", "task_structure", minimum=0)
    names = tuple(t.name for t in tasks)
    scale = DescriptorScale.fit([t.descriptor for t in tasks])
    features = tuple(sorted({key for t in tasks for key in (t.descriptor or {})}))
    descriptors = np.full((len(tasks), len(features)), np.nan)
    for i, task in enumerate(tasks):
        for j, key in enumerate(features):
            if task.descriptor and key in task.descriptor:
                descriptors[i, j] = _signed_log(task.descriptor[key]) / scale.scale(key)
    by_space: dict[str, list[int]] = {}
    for index, task in enumerate(tasks):
        if task.space is not None and task.n_evaluations >= _MIN_EVALUATIONS:
            by_space.setdefault(task.space.fingerprint(), []).append(index)
    rng = np.random.default_rng(seed)
    groups = []
    for members in by_space.values():
        if len(members) >= 2:
            group_tasks = [tasks[m] for m in members]
            groups.append(
                ResponseGroup(np.array(members), _profiles(group_tasks, max_reference, rng))
            )
    return TaskStructure(names, features, descriptors, tuple(groups))


def _budgets(task: Task) -> np.ndarray:
    # Budgets are positive: -1 marks a full-budget row (NaN would not compare equal).
    return np.full(task.n_evaluations, -1.0) if task.budgets is None else task.budgets


def _rows(task: Task) -> np.ndarray:
    """The task's points for a lookup: unit-cube rows (rounded) with their budgets."""
    return np.column_stack([round_unit(task.unit), _budgets(task)])


def _profiles(tasks: Sequence[Task], max_reference: int, rng: np.random.Generator) -> np.ndarray:
    """Each task's losses at the reference rows of its space, ``(len(tasks), m)``."""
    designs = [list(zip(task.config_keys(), _budgets(task).tolist(), strict=True)) for task in tasks]
    first = designs[0]
    if all(design == first for design in designs) and len(set(first)) == len(first):
        # One design without repeats (a meta-dataset's): the losses are the profile.
        losses = np.vstack([task.losses for task in tasks])
        if losses.shape[1] > max_reference:
            losses = losses[:, np.sort(rng.choice(losses.shape[1], max_reference, replace=False))]
        return losses
    # Each task's own missing parameters are ignored by its lookup; full-budget rows read
    # every task's largest level.
    reference = np.unique(np.vstack([_rows(task) for task in tasks]), axis=0)
    if len(reference) > max_reference:
        reference = reference[np.sort(rng.choice(len(reference), max_reference, replace=False))]
    budgets = [None if b < 0 else float(b) for b in reference[:, -1]]
    return np.vstack([LossLookup(task).predict(reference[:, :-1], budgets) for task in tasks])
