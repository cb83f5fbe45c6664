"""Meta-train data for transfer methods: a fixed Sobol design evaluated on the training tasks."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from metahpo.space import Config
from metahpo.testing.synthetic import Problem
from metahpo_bench.runner._regret import problem_key

__all__ = ["MetaTrainData", "build_meta_train"]


@dataclass(frozen=True)
class MetaTrainData:
    """The same ``configs`` evaluated at the maximum budget on each training task.

    ``losses[task][i]`` is the loss of ``configs[i]`` on ``task``. The bundled
    knowledge base and the transfer peers are all given exactly this data.
    """

    configs: tuple[Config, ...]
    losses: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    # Optional multi-fidelity rows: per task, per lower budget, the same configs' losses.
    fidelities: Mapping[str, Mapping[float, tuple[float, ...]]] = field(default_factory=dict)

    def restricted(self, tasks: Sequence[str]) -> MetaTrainData:
        """The data of ``tasks`` only (a test task's own row must never leak in)."""
        return MetaTrainData(
            self.configs,
            {t: self.losses[t] for t in tasks if t in self.losses},
            {t: self.fidelities[t] for t in tasks if t in self.fidelities},
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "configs": [dict(c) for c in self.configs],
            "losses": {t: list(v) for t, v in self.losses.items()},
        }
        if self.fidelities:
            data["fidelities"] = {
                t: [[b, list(v)] for b, v in by_budget.items()] for t, by_budget in self.fidelities.items()
            }
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MetaTrainData:
        return cls(
            tuple(dict(c) for c in data["configs"]),
            {str(t): tuple(float(x) for x in v) for t, v in data["losses"].items()},
            {
                str(t): {float(b): tuple(float(x) for x in v) for b, v in rows}
                for t, rows in data.get("fidelities", {}).items()
            },
        )


def build_meta_train(
    problem: Problem,
    tasks: Sequence[str],
    size: int = 64,
    seed: int = 0,
    cache_dir: Path | None = None,
    problem_kwargs: Mapping[str, Any] | None = None,
    budgets: Sequence[float] = (),
) -> MetaTrainData:
    """Evaluate ``size`` points of a scrambled Sobol sequence (seeded by ``seed``) on ``tasks``.

    At the maximum budget, and also at each of ``budgets`` (multi-fidelity meta-data, in
    ``fidelities``). Per-task rows are cached under ``cache_dir/meta-train/`` so later runs
    with other splits reuse them.
    """
    configs = problem.space.sobol(size, seed=seed)
    losses: dict[str, tuple[float, ...]] = {}
    folder = None
    if cache_dir is not None:
        folder = (
            Path(cache_dir)
            / "meta-train"
            / f"{problem.name}-{problem_key(problem, problem_kwargs)}"
        )
        folder.mkdir(parents=True, exist_ok=True)
    fidelities: dict[str, dict[float, tuple[float, ...]]] = {}
    lower = [float(b) for b in budgets if problem.max_budget is None or float(b) < problem.max_budget]
    for task in tasks:
        losses[task] = _evaluated(problem, task, configs, problem.max_budget, folder,
                                  f"{_safe(task)}-n{size}-s{seed}")
        if lower:
            fidelities[task] = {
                b: _evaluated(problem, task, configs, b, folder, f"{_safe(task)}-n{size}-s{seed}-b{b:g}")
                for b in lower
            }
    return MetaTrainData(tuple(configs), losses, fidelities)


def _evaluated(
    problem: Problem, task: str, configs: list[Config], budget: float | None, folder: Path | None, name: str
) -> tuple[float, ...]:
    """The losses of ``configs`` on ``task`` at ``budget``, from the cache when there."""
    path = None if folder is None else folder / f"{name}.json"
    if path is not None and path.exists():
        return tuple(json.loads(path.read_text())["losses"])
    batch = getattr(problem, "evaluate_batch", None)
    if batch is None:
        values = [problem.evaluate(task, c, budget) for c in configs]
    else:
        values = list(np.asarray(batch(task, configs, budget), dtype=float))
    losses = tuple(float(v) for v in values)
    if path is not None:
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps({"task": task, "losses": list(losses)}))
        tmp.replace(path)
    return losses


def _safe(task: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in task)
