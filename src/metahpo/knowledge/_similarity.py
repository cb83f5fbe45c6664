"""How alike two tasks are: descriptor distance (global) and response similarity (local).

* **Descriptor similarity** ``exp(-d)``, where ``d`` is the root-mean-square difference of
  the meta-features both descriptors have, each feature first put on a signed log scale
  (``sign(v) log(1 + |v|)``, so counts and fractions are comparable) and then divided
  by its standard deviation over the tasks compared (:class:`DescriptorScale`).
* **Response similarity** ``(1 + rho) / 2``, where ``rho`` is the Spearman (or Kendall)
  rank correlation between the target's observed losses and the other task's losses at
  the same configs — exact when the configs coincide (the bundled meta-data evaluates one
  fixed Sobol design on every task), else at the nearest evaluated config in the unit
  cube, at the nearest budget level (:class:`~metahpo.knowledge.LossLookup`). It needs at
  least three observations with distinct losses.

:func:`similarity` averages the parts that are available; with neither it is ``0.5``
("no information"), so such tasks tie.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge._lookup import LossLookup
from metahpo.knowledge._mapping import map_task
from metahpo.knowledge._task import Task

__all__ = [
    "DescriptorScale",
    "descriptor_similarity",
    "nearest",
    "rank_correlation",
    "response_similarity",
    "similarity",
]

_METHODS = ("spearman", "kendall")
_MIN_POINTS = 3
# nearest(): a prior worth this many uncorrelated observations shrinks a target's response
# correlation (see _few_point_response).
_PRIOR_OBSERVATIONS = 5


def _signed_log(value: float) -> float:
    return math.copysign(math.log1p(abs(value)), value)


@dataclass(frozen=True)
class DescriptorScale:
    """Per-feature standard deviations (on the signed log scale) over a set of tasks."""

    std: Mapping[str, float]

    @classmethod
    def fit(cls, descriptors: Sequence[Mapping[str, float] | None]) -> DescriptorScale:
        values: dict[str, list[float]] = {}
        for descriptor in descriptors:
            for key, value in (descriptor or {}).items():
                values.setdefault(key, []).append(_signed_log(value))
        std = {}
        for key, column in values.items():
            spread = float(np.std(column)) if len(column) > 1 else 0.0
            std[key] = spread if spread > 1e-12 else 1.0
        return cls(std)

    def scale(self, key: str) -> float:
        return self.std.get(key, 1.0)


def descriptor_similarity(
    a: Mapping[str, float] | None,
    b: Mapping[str, float] | None,
    scale: DescriptorScale | None = None,
) -> float | None:
    """``exp(-rms standardised difference)`` over the shared features, or ``None``."""
    if not a or not b:
        return None
    shared = sorted(set(a) & set(b))
    if not shared:
        return None
    scale = scale or DescriptorScale({})
    diffs = [(_signed_log(a[k]) - _signed_log(b[k])) / scale.scale(k) for k in shared]
    return math.exp(-math.sqrt(float(np.mean(np.square(diffs)))))


def response_similarity(
    target: Task,
    other: Task | LossLookup,
    method: str = "spearman",
) -> float | None:
    """``(1 + rank correlation) / 2`` of ``target``'s losses and ``other``'s at the same configs.

    ``other`` is first mapped onto ``target.space`` (see
    :meth:`KnowledgeBase.tasks <metahpo.knowledge.KnowledgeBase.tasks>`); ``None`` when
    it cannot be, or when ``target`` has fewer than three distinct losses.
    """
    _check_method(method, "response_similarity")
    return similarity_of_predictions(target.losses, _predicted(target, other), method)


def comparable(target: Task) -> bool:
    """Whether ``target``'s losses can be ranked against another task's predictions."""
    return target.space is not None and target.n_evaluations >= _MIN_POINTS and np.ptp(target.losses) > 0


def similarity_of_predictions(
    losses: np.ndarray, predicted: np.ndarray | None, method: str, ranks: np.ndarray | None = None
) -> float | None:
    """``(1 + rank correlation) / 2`` of a comparable target's ``losses`` and another task's
    ``predicted`` losses at the same configs (0.5 when those are constant; ``None`` without
    them). ``ranks``: the target's loss ranks, when the caller ranked them once already."""
    if predicted is None:
        return None
    if np.ptp(predicted) == 0:
        return 0.5
    if method != "spearman" or ranks is None:
        return (1.0 + rank_correlation(losses, predicted, method)) / 2.0
    return (1.0 + _spearman(ranks, predicted)) / 2.0


def _check_method(method: str, owner: str) -> None:
    if method not in _METHODS:
        raise InvalidParameterError(
            f"The 'method' parameter of {owner} must be one of {list(_METHODS)}. "
            f"Got {describe(method)} instead."
        )


def _predicted(target: Task, other: Task | LossLookup) -> np.ndarray | None:
    """``other``'s losses at ``target``'s configs, or ``None`` when they cannot be compared."""
    if not comparable(target) or target.space is None:
        return None
    if isinstance(other, Task):
        mapped = map_task(other, target.space)
        if mapped is None or not mapped.has_evaluations:
            return None
        lookup = LossLookup(mapped)
    else:
        lookup = other
    return lookup.predict(target.unit, target.budgets)


def rank_correlation(a: np.ndarray, b: np.ndarray, method: str = "spearman") -> float:
    """Spearman's rho (Pearson correlation of average ranks) or Kendall's tau-b; 0 if undefined."""
    from scipy import stats

    if method == "spearman":
        return _spearman(stats.rankdata(a), b)
    rho = float(stats.kendalltau(a, b).statistic)
    return rho if math.isfinite(rho) else 0.0


def _spearman(ranks: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rho of values whose average ranks are ``ranks`` and ``b``; 0 if undefined."""
    from scipy import stats

    with np.errstate(invalid="ignore", divide="ignore"):
        rho = float(np.corrcoef(ranks, stats.rankdata(b))[0, 1])
    return rho if math.isfinite(rho) else 0.0


def similarity(
    a: Task,
    b: Task,
    scale: DescriptorScale | None = None,
    method: str = "spearman",
) -> float:
    """Similarity in ``[0, 1]`` of ``b`` to ``a``: the mean of the available parts.

    Response similarity is computed in both directions and averaged when both tasks have
    evaluations, so the result is symmetric.

    Example:
        >>> import metahpo as mh
        >>> from metahpo.knowledge import similarity
        >>> space = mh.Space({"x": mh.Float(0.0, 1.0)})
        >>> xs = [{"x": v / 10} for v in range(10)]
        >>> a = mh.Task("a", space, xs, [(c["x"] - 0.33) ** 2 for c in xs])
        >>> b = mh.Task("b", space, xs, [2 * (c["x"] - 0.33) ** 2 + 1 for c in xs])
        >>> similarity(a, b)
        1.0
    """
    parts = []
    desc = descriptor_similarity(a.descriptor, b.descriptor, scale)
    if desc is not None:
        parts.append(desc)
    forward = response_similarity(a, b, method)
    backward = response_similarity(b, a, method)
    responses = [r for r in (forward, backward) if r is not None]
    if responses:
        parts.append(float(np.mean(responses)))
    return float(np.mean(parts)) if parts else 0.5


def _few_point_response(target: Task, predicted: np.ndarray, method: str) -> float:
    """A target's response similarity made to tell tasks apart after a few observations.

    The ranks of three or four observations agree perfectly by chance with many tasks, so
    the rank correlation is averaged with the Pearson correlation of the losses (the values
    still differ), and shrunk toward "no information" (0.5) by ``n / (n + 5)``, as a prior
    worth five uncorrelated observations would: three observations cannot make a task as
    similar as a hundred can.
    """
    if np.ptp(predicted) == 0:
        return 0.5
    with np.errstate(invalid="ignore", divide="ignore"):
        pearson = float(np.corrcoef(target.losses, predicted)[0, 1])
    rank = rank_correlation(target.losses, predicted, method)
    rho = 0.5 * (rank + (pearson if math.isfinite(pearson) else 0.0))
    n = target.n_evaluations
    return (1.0 + n / (n + _PRIOR_OBSERVATIONS) * rho) / 2.0


def nearest(
    target: Task,
    tasks: Sequence[Task],
    k: int | None = None,
    method: str = "spearman",
    lookups: Mapping[str, LossLookup] | None = None,
) -> list[tuple[Task, float]]:
    """The ``k`` tasks most similar to ``target`` (all when ``k`` is ``None``), best first.

    Descriptors are standardised over ``tasks`` and the target. The response part compares
    the target's own observations with each task's losses at the nearest configs (one
    direction only: the target may have only a few), so this is cheap enough to call every
    round of a study. ``lookups`` may hold a :class:`LossLookup` per task name, built on
    the task as given in ``tasks`` (:meth:`KnowledgeBase.nearest` keeps them between
    calls). Ties are broken by name, so the order is deterministic.
    """
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        raise InvalidParameterError(
            f"The 'k' parameter of nearest must be an int >= 1 or None. Got {describe(k)} instead."
        )
    _check_method(method, "nearest")
    scale = DescriptorScale.fit([t.descriptor for t in tasks] + [target.descriptor])
    scored = []
    for task in tasks:
        if task.name == target.name and task is target:
            continue
        parts = []
        desc = descriptor_similarity(target.descriptor, task.descriptor, scale)
        if desc is not None:
            parts.append(desc)
        response = None
        if task.has_evaluations:
            other = lookups.get(task.name, task) if lookups else task
            predicted = _predicted(target, other)
            if predicted is not None:
                response = _few_point_response(target, predicted, method)
        if response is not None:
            parts.append(response)
        scored.append((task, float(np.mean(parts)) if parts else 0.5))
    scored.sort(key=lambda pair: (-pair[1], pair[0].name))
    return scored if k is None else scored[:k]
