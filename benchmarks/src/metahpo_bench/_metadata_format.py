"""The meta-dataset's work-file names, records and errors, shared by the builder and the reader."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from metahpo.exceptions import MetahpoError
from metahpo.space import Space

# The build's work files; its output is a metahpo knowledge directory (manifest.json and
# evaluations-0.parquet, written by metahpo.knowledge.write_knowledge) in the same folder.
BUILD_VERSION = 1  # of build.json and the parts, which did not change with the output format
MANIFEST = "manifest.json"
BUILD = "build.json"
PARTS = "parts"
LOSS_COLUMNS = ("task", "config_id", "budget", "loss")


class MetadataFormatError(MetahpoError, ValueError):
    """A meta-dataset is malformed or is not a full grid; the message names the file and what is wrong."""


class MetadataBuildError(MetahpoError):
    """Some tasks failed during a build; the finished tasks are kept in ``parts/``."""


@runtime_checkable
class StagedProblem(Protocol):
    """A problem that gives the losses at several budgets from one run (nested budgets)."""

    def evaluate_budgets(
        self, task: str, config: Mapping[str, Any], budgets: Sequence[float]
    ) -> list[float]: ...


@dataclass(frozen=True)
class MetaDataset:
    """A loaded meta-dataset: every config of one design on every task at every budget.

    Attributes:
        problem: the problem's name.
        space: the search space of the configs.
        tasks: task names, in the order of the first axis of :meth:`loss_array`.
        budgets: budgets, ascending.
        configs: the design, ``configs[i]`` has ``config_id == i``.
        losses: the long table with columns ``task, config_id, budget, loss``.
        descriptors: each task's descriptor as stored (``None`` when it has none).
        provenance: what the build recorded (problem, loss, seed, command, timings...).
    """

    problem: str
    space: Space
    tasks: tuple[str, ...]
    budgets: tuple[float, ...]
    configs: tuple[dict[str, Any], ...]
    losses: Any  # pandas.DataFrame; pandas is imported lazily
    descriptors: dict[str, dict[str, float] | None] = field(repr=False)
    provenance: dict[str, Any] = field(repr=False)

    @property
    def configs_unit(self) -> np.ndarray:
        """The design encoded in the unit cube, shape ``(n_configs, n_params)``."""
        return self.space.to_unit(list(self.configs))

    def loss_array(self) -> np.ndarray:
        """Losses as an array of shape ``(n_tasks, n_configs, n_budgets)``."""
        task_index = {task: i for i, task in enumerate(self.tasks)}
        budget_index = {budget: k for k, budget in enumerate(self.budgets)}
        out = np.full((len(self.tasks), len(self.configs), len(self.budgets)), np.nan)
        frame = self.losses
        rows = frame["task"].map(task_index).to_numpy()
        cols = frame["budget"].map(budget_index).to_numpy()
        out[rows, frame["config_id"].to_numpy(), cols] = frame["loss"].to_numpy()
        return out

    def descriptor(self, task: str) -> dict[str, float]:
        """The task's meta-features as stored (empty when the problem has none)."""
        return dict(self.descriptors.get(task) or {})
