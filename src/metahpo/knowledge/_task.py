"""A task: one search space, its evaluations and a descriptor — the unit of meta-knowledge."""

from __future__ import annotations

import copy
import functools
import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from metahpo._validation import describe, numeric_matrix
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge._descriptors import TASK_TYPES, meta_features, task_type_of
from metahpo.space import Config, ConfigKey, Space, config_keys

if TYPE_CHECKING:
    from metahpo.history import History

__all__ = ["MIN_TASK_TRIALS", "Task", "check_descriptor", "descriptor_of"]

#: COMPLETE trials a study needs to count as a task of the knowledge, and to teach it.
MIN_TASK_TRIALS = 5


@dataclass(frozen=True, eq=False)
class Task:
    """One task: a search space, evaluations ``(config, budget, loss)`` and a descriptor.

    Every record is validated when it is built: configs must lie in ``space``, losses
    and budgets must be finite and of the same length, and an error names the row and
    the field that is wrong. Losses are minimised (a maximised study's values are negated
    when it is imported).

    Attributes:
        name: a name unique within a knowledge base.
        space: the search space of the evaluations (``None`` for a descriptor-only task,
            e.g. one made by :meth:`from_data`).
        configs: the evaluated configurations, one per row.
        losses: ``(n,)`` float array of losses, minimised.
        budgets: ``(n,)`` float array of budgets, or ``None`` when every row ran at the
            full budget.
        descriptor: named meta-features, or ``None``.
        source: where the task came from: ``"study:NAME@URL"``, ``"file:PATH"``,
            ``"bundled:NAME"``, ``"optuna:URL:STUDY"``, ``"data"`` or ``"memory"``.
        missing: parameters of ``space`` the source task did not have; their values were
            filled with the parameter's midpoint when the task was mapped onto ``space``
            (see :meth:`KnowledgeBase.tasks <metahpo.knowledge.KnowledgeBase.tasks>`), so a
            surrogate should marginalise over them (ignore those inputs).
        kind: the kind of problem, ``"classification"`` or ``"regression"``, for a task whose
            descriptor does not record it (a study created with a preset and no task
            descriptor); ``None`` otherwise. :attr:`task_type` reads either.

    Example:
        >>> import metahpo as mh
        >>> space = mh.Space({"x": mh.Float(0.0, 1.0)})
        >>> task = mh.Task("t", space, [{"x": 0.1}, {"x": 0.9}], [0.5, 0.2])
        >>> task.best_config(), task.n_evaluations
        ({'x': 0.9}, 2)
        >>> mh.Task.from_dict(task.to_dict()).losses.tolist()
        [0.5, 0.2]
    """

    name: str
    space: Space | None = None
    configs: Sequence[Config] = ()
    losses: Any = field(default_factory=lambda: np.empty(0))
    budgets: Any = None
    descriptor: Mapping[str, float] | None = None
    source: str = "memory"
    missing: tuple[str, ...] = ()
    kind: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidParameterError(
                f"The 'name' parameter of Task must be a non-empty string. Got {describe(self.name)} instead."
            )
        if self.space is not None and not isinstance(self.space, Space):
            raise InvalidParameterError(
                f"The 'space' parameter of Task {self.name!r} must be a metahpo Space or None. "
                f"Got {describe(self.space)} instead."
            )
        if not isinstance(self.source, str):
            raise InvalidParameterError(
                f"The 'source' parameter of Task {self.name!r} must be a string. Got {describe(self.source)} instead."
            )
        configs, losses, budgets = check_evaluations(
            self.space, self.configs, self.losses, self.budgets, owner=f"Task {self.name!r}"
        )
        object.__setattr__(self, "configs", configs)
        object.__setattr__(self, "losses", losses)
        object.__setattr__(self, "budgets", budgets)
        object.__setattr__(
            self, "descriptor", check_descriptor(self.descriptor, f"Task {self.name!r}")
        )
        missing = tuple(self.missing)
        if self.space is not None and any(name not in self.space for name in missing):
            raise InvalidParameterError(
                f"The 'missing' parameter of Task {self.name!r} must name parameters of its space "
                f"{self.space.names}. Got {list(missing)!r} instead."
            )
        object.__setattr__(self, "missing", missing)
        recorded = task_type_of(self.descriptor)
        if self.kind is not None and (self.kind not in TASK_TYPES or recorded not in (None, self.kind)):
            expected = f"{recorded!r}, as its descriptor records" if recorded else f"one of {list(TASK_TYPES)} or None"
            raise InvalidParameterError(
                f"The 'kind' parameter of Task {self.name!r} must be {expected}. Got {describe(self.kind)} instead."
            )

    # Facts --------------------------------------------------------------------------------
    @property
    def n_evaluations(self) -> int:
        return len(self.configs)

    @property
    def has_evaluations(self) -> bool:
        return len(self.configs) > 0

    @property
    def task_type(self) -> str | None:
        """``"classification"`` or ``"regression"`` as the descriptor records it (its
        ``n_classes``, 0 for regression; see :func:`~metahpo.knowledge.task_type_of`), or
        ``None`` when it records none; else :attr:`kind`. Tasks of different kinds are never
        related."""
        return task_type_of(self.descriptor) or self.kind

    @functools.cached_property
    def unit(self) -> np.ndarray:
        """The configs encoded in the unit cube, ``(n, d)`` (``(0, 0)`` without a space)."""
        if self.space is None or not self.configs:
            return np.empty((0, 0 if self.space is None else len(self.space)))
        array = self.space.to_unit(list(self.configs))
        array.setflags(write=False)
        return array

    def budget_levels(self) -> list[float | None]:
        """The distinct budgets, ascending (``[None]`` for a full-budget task)."""
        if self.budgets is None:
            return [None] if self.configs else []
        return [*sorted({float(b) for b in self.budgets})]

    def at_budget(self, budget: float | None = None) -> Task:
        """The evaluations at one budget level; ``None`` means the largest."""
        if self.budgets is None:
            return self
        levels = self.budget_levels()
        if not levels:
            return self
        level = float(levels[-1] if budget is None else budget)  # type: ignore[arg-type]
        rows = np.flatnonzero(np.isclose(self.budgets, level, rtol=1e-9, atol=0.0))
        return self.take(rows)

    def take(self, rows: Any) -> Task:
        """The task restricted to ``rows`` (indices), without validating again."""
        index = np.asarray(rows, dtype=int)
        subset = object.__new__(Task)
        for name in ("name", "space", "descriptor", "source", "missing", "kind"):
            object.__setattr__(subset, name, getattr(self, name))
        object.__setattr__(subset, "configs", tuple(self.configs[int(i)] for i in index))
        for name in ("losses", "budgets"):
            values = getattr(self, name)
            if values is not None:
                values = values[index]
                values.setflags(write=False)
            object.__setattr__(subset, name, values)
        if self.space is not None and self.configs:
            unit = self.unit[index]
            unit.setflags(write=False)
            subset.__dict__["unit"] = unit
        return subset

    def best_config(self) -> Config:
        """The config of the lowest loss at the largest budget."""
        final = self.at_budget(None)
        if not final.configs:
            raise InvalidParameterError(f"Task {self.name!r} has no evaluations.")
        return dict(final.configs[int(np.argmin(final.losses))])

    def config_keys(self) -> list[ConfigKey]:
        """A hashable key per row, :meth:`Space.config_keys <metahpo.space.Space.config_keys>`:
        equal keys are the same config."""
        return list(self._config_keys)

    @functools.cached_property
    def _config_keys(self) -> tuple[ConfigKey, ...]:
        if self.space is None or not self.configs:
            return ()
        return tuple(config_keys(self.space, self.configs, self.unit))  # the encoding kept

    def with_descriptor(self, descriptor: Mapping[str, float] | None) -> Task:
        other = copy.copy(self)  # the evaluations were checked once; only the descriptor is new
        object.__setattr__(other, "descriptor", check_descriptor(descriptor, f"Task {self.name!r}"))
        return other

    def renamed(self, name: str) -> Task:
        # Not `replace`: that checks every evaluation again (seconds for a bundle's tasks).
        if not isinstance(name, str) or not name:
            raise InvalidParameterError(
                f"The 'name' parameter of Task.renamed must be a non-empty string. Got {describe(name)} instead."
            )
        other = copy.copy(self)
        object.__setattr__(other, "name", name)
        object.__setattr__(other, "descriptor", None if self.descriptor is None else dict(self.descriptor))
        return other

    # Constructors -------------------------------------------------------------------------
    @classmethod
    def from_data(
        cls,
        X: Any,
        y: Any,
        name: str | None = None,
        task_type: str | None = None,
    ) -> Task:
        """A descriptor-only task: meta-features of the dataset ``(X, y)``, no evaluations.

        This is what ``create_study(task=...)`` takes. See
        :func:`~metahpo.knowledge.meta_features` for the features and ``task_type``.

        Example:
            >>> import numpy as np, metahpo as mh
            >>> rng = np.random.default_rng(0)
            >>> X = rng.normal(size=(200, 5)); y = (X[:, 0] > 0).astype(int)
            >>> task = mh.Task.from_data(X, y, name="toy")
            >>> task.descriptor["n_samples"], task.descriptor["n_classes"]
            (200.0, 2.0)
        """
        descriptor = meta_features(X, y, task_type=task_type)
        if name is None:
            # meta_features accepted X as numbers, so hashing its float bytes is exact and fast.
            digest = hashlib.sha256()
            digest.update(np.ascontiguousarray(numeric_matrix(X, "Task.from_data")).tobytes())
            digest.update(np.ascontiguousarray(np.asarray(y).astype(str)).tobytes())
            name = f"data-{digest.hexdigest()[:10]}"
        return cls(name=name, descriptor=descriptor, source="data")

    @classmethod
    def from_history(
        cls,
        history: History,
        name: str = "target",
        descriptor: Mapping[str, float] | None = None,
    ) -> Task:
        """The task of a running study: its COMPLETE trials (as losses) and a descriptor.

        Without ``descriptor``, the one of ``history.descriptor`` is used when present.
        When the descriptor records no kind of problem, the task's ``kind`` is the study's
        (``history.task_type``), as the study's task read from storage records it.
        Trials run without a budget count as run at ``history.max_budget`` when other
        trials have budgets.
        """
        done = history.complete
        if descriptor is None:
            descriptor = descriptor_of(history.descriptor)
        raw = [t.budget for t in done]
        budgets: np.ndarray | None = None
        if any(b is not None for b in raw):
            known = [float(b) for b in raw if b is not None]
            full = history.max_budget if history.max_budget is not None else max(known)
            budgets = np.array([full if b is None else float(b) for b in raw], dtype=float)
        return cls(
            name=name,
            space=history.space,
            configs=[dict(t.config) for t in done],
            losses=np.array([history.loss(float(t.value)) for t in done], dtype=float),  # type: ignore[arg-type]
            budgets=budgets,
            descriptor=descriptor,
            source="study",
            kind=history.task_type if task_type_of(descriptor) is None else None,
        )

    # JSON ---------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict; the evaluation fields appear only when there are evaluations."""
        out: dict[str, Any] = {
            "name": self.name,
            "source": self.source,
            "descriptor": None if self.descriptor is None else dict(self.descriptor),
        }
        if self.space is not None:
            out["space"] = self.space.to_dict()
        if self.configs:
            out["configs"] = [dict(c) for c in self.configs]
            out["losses"] = [float(v) for v in self.losses]
            out["budgets"] = None if self.budgets is None else [float(b) for b in self.budgets]
        if self.missing:
            out["missing"] = list(self.missing)
        if self.kind is not None:
            out["kind"] = self.kind
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Task:
        if not isinstance(data, Mapping) or "name" not in data:
            raise InvalidParameterError(
                f"A task description must be a dict with at least a 'name'. Got {describe(data)} instead."
            )
        unknown = sorted(
            set(data)
            - {"name", "source", "descriptor", "space", "configs", "losses", "budgets", "missing", "kind"}
        )
        if unknown:
            raise InvalidParameterError(
                f"A task description has unknown keys {unknown}. Got {describe(dict(data))}."
            )
        space = None if data.get("space") is None else Space.from_dict(data["space"])
        return cls(
            name=data["name"],
            space=space,
            configs=data.get("configs") or (),
            losses=data.get("losses") or [],  # checked as given, as the constructor checks them
            budgets=data.get("budgets"),
            descriptor=data.get("descriptor"),
            source=data.get("source", "memory"),
            missing=tuple(data.get("missing") or ()),
            kind=data.get("kind"),
        )

    def __repr__(self) -> str:
        budgets = "full" if self.budgets is None else f"{len(self.budget_levels())} levels"
        features = 0 if self.descriptor is None else len(self.descriptor)
        return (
            f"Task(name={self.name!r}, n_evaluations={self.n_evaluations}, budgets={budgets}, "
            f"descriptor={features} features, source={self.source!r})"
        )


class CheckedConfigs(tuple):
    """Configs already checked against ``space``, column by column (a knowledge file's
    reader does so): :func:`check_evaluations` takes them as they are, which spares a
    bundle's tens of thousands of per-config checks when it is opened."""

    space: Space

    def __new__(cls, space: Space, configs: Sequence[Config]) -> CheckedConfigs:
        out = super().__new__(cls, configs)
        out.space = space
        return out


def check_evaluations(
    space: Space | None,
    configs: Any,
    losses: Any,
    budgets: Any,
    owner: str = "add_task",
) -> tuple[tuple[Config, ...], np.ndarray, np.ndarray | None]:
    """Validate evaluations; return them as (tuple of dicts, read-only losses, budgets).

    Errors name the row and the field: ``"row 7, field 'lr'"``.
    """
    if isinstance(configs, (str, bytes, Mapping)) or not isinstance(configs, Sequence):
        raise InvalidParameterError(
            f"The 'configs' parameter of {owner} must be a list of dicts. Got {describe(configs)} instead."
        )
    if space is None and len(configs):
        raise InvalidParameterError(
            f"The 'space' parameter of {owner} is required when there are evaluations. Got None instead."
        )
    clean: list[Config] = []
    if isinstance(configs, CheckedConfigs) and configs.space is space:
        clean, configs = list(configs), ()
    for row, config in enumerate(configs):
        try:
            clean.append(space.validate(config, name=f"configs[{row}]"))  # type: ignore[union-attr]
        except InvalidParameterError as exc:
            raise InvalidParameterError(f"{owner}: row {row}: {exc}") from exc
    loss_array = _float_column(losses, "losses", len(clean), owner)
    budget_array = None if budgets is None else _float_column(budgets, "budgets", len(clean), owner)
    if budget_array is not None:
        bad = np.flatnonzero(budget_array <= 0)
        if bad.size:
            raise InvalidParameterError(
                f"{owner}: row {bad[0]}, field 'budget' must be a finite number > 0 "
                f"(or budgets=None for full-budget evaluations). Got {budget_array[bad[0]]!r} instead."
            )
    return tuple(clean), loss_array, budget_array


def _float_column(values: Any, name: str, length: int, owner: str) -> np.ndarray:
    field_name = {"losses": "loss", "budgets": "budget"}.get(name, name)
    if isinstance(values, (str, bytes, Mapping)):
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must be a list of numbers. Got {describe(values)} instead."
        )
    items = (
        list(np.asarray(values, dtype=object).ravel())
        if isinstance(values, np.ndarray)
        else list(values)
    )
    if len(items) != length:
        raise InvalidParameterError(
            f"The {name!r} parameter of {owner} must have one value per config ({length}). "
            f"Got {len(items)} instead."
        )
    out = np.empty(length, dtype=float)
    for row, value in enumerate(items):
        if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (int, float, np.integer, np.floating)
        ):
            raise InvalidParameterError(
                f"{owner}: row {row}, field {field_name!r} must be a finite number. Got {describe(value)} instead."
            )
        if not math.isfinite(float(value)):
            raise InvalidParameterError(
                f"{owner}: row {row}, field {field_name!r} must be a finite number. Got {float(value)!r} instead."
            )
        out[row] = float(value)
    out.setflags(write=False)
    return out


def check_descriptor(descriptor: Any, owner: str) -> dict[str, float] | None:
    """A descriptor as a plain ``{name: float}`` dict (or ``None``), refusing non-finite values."""
    if descriptor is None:
        return None
    if not isinstance(descriptor, Mapping):
        raise InvalidParameterError(
            f"The 'descriptor' of {owner} must be a dict of name -> number or None. "
            f"Got {describe(descriptor)} instead."
        )
    out: dict[str, float] = {}
    for key, value in descriptor.items():
        if not isinstance(key, str):
            raise InvalidParameterError(
                f"The 'descriptor' of {owner} must have string keys. Got {describe(key)} instead."
            )
        if (
            isinstance(value, (bool, np.bool_))
            or not isinstance(value, (int, float, np.integer, np.floating))
            or not math.isfinite(float(value))
        ):
            raise InvalidParameterError(
                f"The descriptor field {key!r} of {owner} must be a finite number. Got {describe(value)} instead."
            )
        out[key] = float(value)
    return out


def descriptor_of(task: Any) -> dict[str, float] | None:
    """The descriptor of a :class:`Task`, of its ``to_dict()`` form, or of a plain descriptor dict."""
    if task is None:
        return None
    if isinstance(task, Task):
        return None if task.descriptor is None else dict(task.descriptor)
    if isinstance(task, Mapping):
        if "name" in task or "descriptor" in task:
            return check_descriptor(task.get("descriptor"), "the study's task")
        return check_descriptor(task, "the study's task")
    raise InvalidParameterError(
        f"A study's task must be a metahpo Task, its to_dict() form or a descriptor dict. "
        f"Got {describe(task)} instead."
    )
