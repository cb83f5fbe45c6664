"""The meta-dataset's file names, records and errors, shared by the builder and the reader."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from metahpo.exceptions import MetahpoError
from metahpo.space import Space

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CONFIGS = "configs.csv"
LOSSES = "losses.csv.gz"
BUILD = "build.json"
PARTS = "parts"
LOSS_COLUMNS = ("task", "config_id", "budget", "loss")


class MetadataFormatError(MetahpoError, ValueError):
    """A meta-dataset file is malformed; the message names the file, row and field."""


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
        manifest: the parsed ``manifest.json``.
    """

    problem: str
    space: Space
    tasks: tuple[str, ...]
    budgets: tuple[float, ...]
    configs: tuple[dict[str, Any], ...]
    losses: Any  # pandas.DataFrame; pandas is imported lazily
    manifest: dict[str, Any] = field(repr=False)

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
        """The task's meta-features as recorded by the build (empty when the problem has none)."""
        return dict(self.manifest["descriptors"].get(task) or {})
