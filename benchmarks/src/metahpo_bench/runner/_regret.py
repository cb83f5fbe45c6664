"""Normalised regret: per-task loss bounds from random draws plus everything observed.

The regret of a loss on a task is ``(loss - low) / (high - low)`` where ``low`` and
``high`` are the smallest and largest loss among ``n_draws`` (10,000 by default)
uniform random configurations evaluated at the maximum budget — or over the task's
rows of a meta-dataset table (:func:`table_bounds`) — and every loss any optimizer
observed on the task. 0 is the best loss known, 1 the worst. On a pool problem the
bounds are the task's pool's best and worst loss (:func:`pool_bounds`): every loss
observed there is a pool loss, and 0 is the pool's best config.
The draws are cached as JSON, keyed by the problem, its arguments, its space and the task.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from metahpo.exceptions import InvalidParameterError
from metahpo.testing.synthetic import Problem
from metahpo_bench.pool import PoolProblem

__all__ = [
    "TaskBounds",
    "default_cache_dir",
    "normalized_regret",
    "pool_bounds",
    "random_draw_bounds",
    "task_bounds",
]

logger = logging.getLogger("metahpo_bench")

_CHUNK = 2000
_DRAWN: dict[tuple[str, int, int], list[dict[str, Any]]] = {}


@dataclass(frozen=True)
class TaskBounds:
    """The loss range that maps a task's losses to ``[0, 1]``."""

    low: float
    high: float

    def regret(self, loss: float | np.ndarray) -> float | np.ndarray:
        return normalized_regret(loss, self.low, self.high)

    def widen(self, losses: Iterable[float]) -> TaskBounds:
        """These bounds stretched to hold ``losses`` too."""
        values = np.asarray(list(losses), dtype=float)
        if values.size == 0:
            return self
        return TaskBounds(min(self.low, float(values.min())), max(self.high, float(values.max())))


def counts_as_incumbent(budget: float | None, full_budget: float) -> bool:
    """Whether an evaluation at ``budget`` can be a run's incumbent: every evaluation of a
    problem without fidelity, and on a multi-fidelity problem those at the full budget.

    A study's best is its best at the largest budget (what the user trains and deploys); a
    loss seen at a lower budget, even a lower one, is not a result of the run.
    """
    return budget is None or budget >= full_budget * (1 - 1e-9)


def normalized_regret(loss: float | np.ndarray, low: float, high: float) -> Any:
    """``(loss - low) / (high - low)``; 0 when the range is empty (every loss equal).

    Example:
        >>> normalized_regret(0.25, 0.0, 1.0)
        0.25
    """
    if not high >= low:
        raise InvalidParameterError(
            f"The 'high' bound of normalized_regret must be >= 'low'. Got low={low!r}, high={high!r} instead."
        )
    span = high - low
    values = np.asarray(loss, dtype=float)
    out = np.zeros_like(values) if span == 0 else (values - low) / span
    return float(out) if out.ndim == 0 else out


def default_cache_dir() -> Path:
    """``$METAHPO_CACHE_DIR`` or ``~/.cache/metahpo``."""
    return Path(os.environ.get("METAHPO_CACHE_DIR", Path.home() / ".cache" / "metahpo"))


def problem_key(problem: Problem, problem_kwargs: Mapping[str, Any] | None = None) -> str:
    """A short digest naming the problem, its arguments and its space (for cache files)."""
    text = json.dumps(
        {
            "name": problem.name,
            "kwargs": dict(problem_kwargs or {}),
            "space": problem.space.fingerprint(),
            "budget": [problem.min_budget, problem.max_budget],
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def random_draw_bounds(
    problem: Problem,
    task: str,
    n_draws: int = 10_000,
    seed: int = 0,
    cache_dir: Path | None = None,
    problem_kwargs: Mapping[str, Any] | None = None,
) -> TaskBounds:
    """Min and max loss of ``n_draws`` uniform random configs of ``task`` at the maximum budget.

    The draws are the same for every task (seeded by ``seed``) and cached under
    ``cache_dir/random-draws/`` when ``cache_dir`` is given.
    """
    path = None
    if cache_dir is not None:
        path = (
            Path(cache_dir)
            / "random-draws"
            / f"{problem.name}-{problem_key(problem, problem_kwargs)}"
            / (f"{_safe(task)}-n{n_draws}-s{seed}.json")
        )
        if path.exists():
            data = json.loads(path.read_text())
            return TaskBounds(float(data["low"]), float(data["high"]))
    losses = draw_losses(problem, task, n_draws, seed)
    bounds = TaskBounds(float(losses.min()), float(losses.max()))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        summary = {
            "problem": problem.name,
            "task": task,
            "n_draws": n_draws,
            "seed": seed,
            "low": bounds.low,
            "high": bounds.high,
            "mean": float(losses.mean()),
            "median": float(np.median(losses)),
        }
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(summary, indent=1))
        tmp.replace(path)
    return bounds


def draw_losses(problem: Problem, task: str, n_draws: int, seed: int) -> np.ndarray:
    """The losses of ``n_draws`` seeded uniform random configs of ``task`` at the maximum budget."""
    key = (problem.space.fingerprint(), n_draws, seed)
    if key not in _DRAWN:
        _DRAWN.clear()  # the same draws serve every task of one problem; keep one set
        _DRAWN[key] = problem.space.sample(np.random.default_rng(seed), n_draws)
    configs = _DRAWN[key]
    batch = getattr(problem, "evaluate_batch", None)
    if batch is None:
        logger.info(
            "%s has no evaluate_batch; evaluating %d draws one by one", problem.name, n_draws
        )
        losses = np.array(
            [problem.evaluate(task, c, problem.max_budget) for c in configs], dtype=float
        )
    else:
        parts = [
            np.asarray(batch(task, configs[i : i + _CHUNK], problem.max_budget), dtype=float)
            for i in range(0, n_draws, _CHUNK)
        ]
        losses = np.concatenate(parts)
    finite = losses[np.isfinite(losses)]
    if finite.size == 0:
        raise InvalidParameterError(
            f"{problem.name} returned no finite loss on task {task!r} for {n_draws} draws."
        )
    return finite


def task_bounds(
    problem: Problem,
    task: str,
    observed: Iterable[float],
    n_draws: int = 10_000,
    seed: int = 0,
    cache_dir: Path | None = None,
    problem_kwargs: Mapping[str, Any] | None = None,
) -> TaskBounds:
    """The random-draw bounds of ``task`` widened by every ``observed`` loss."""
    return random_draw_bounds(problem, task, n_draws, seed, cache_dir, problem_kwargs).widen(
        observed
    )


def table_bounds(
    directory: str | os.PathLike[str], problem_name: str | None = None
) -> dict[str, TaskBounds]:
    """Per-task min / max over a meta-dataset's table (every config at every budget).

    For problems too costly for random draws (real training runs), the table written by
    :func:`metahpo_bench.metadata.build_metadata` sets the bounds instead.
    """
    from metahpo_bench.metadata import load_metadata

    data = load_metadata(directory)
    if problem_name is not None and data.problem != problem_name:
        raise InvalidParameterError(
            f"The regret table {str(directory)!r} must be a meta-dataset of {problem_name!r}. "
            f"Got one of {data.problem!r} instead."
        )
    grouped = data.losses.groupby("task")["loss"]
    low, high = grouped.min(), grouped.max()
    return {str(task): TaskBounds(float(low[task]), float(high[task])) for task in low.index}


def pool_bounds(problem: PoolProblem, task: str) -> TaskBounds:
    """The best and worst loss of ``task``'s pool: a pool problem's regret bounds.

    Example:
        >>> from metahpo.testing.synthetic import ShiftedBranin
        >>> from metahpo_bench.pool import SurrogatePool
        >>> problem = SurrogatePool(ShiftedBranin(n_tasks=2), pool_size=20)
        >>> bounds = pool_bounds(problem, "1")
        >>> pool = problem.pool("1")
        >>> bounds.regret(pool.best), bounds.regret(pool.worst)
        (0.0, 1.0)
    """
    if not isinstance(problem, PoolProblem):
        raise InvalidParameterError(
            f"The 'problem' parameter of pool_bounds must be a pool problem. Got {problem!r} instead."
        )
    low, high = problem.bounds(task)
    return TaskBounds(low, high)


EMPTY_BOUNDS = TaskBounds(math.inf, -math.inf)


def _safe(task: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in task)
