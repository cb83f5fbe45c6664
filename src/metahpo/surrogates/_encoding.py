"""Features of a search space for a surrogate: one-hot categoricals and a log budget.

The space's unit-cube encoding has one column per parameter; categoricals sit at
cell centres ``(i + 0.5) / k``, which would impose an order on the choices. The
surrogate's features replace each categorical column by ``k`` one-hot columns and
keep floats and integers as their unit columns. Rows of this feature space (without
the budget) are also the variables of the acquisition optimiser: its continuous
relaxation lets one-hot blocks take any value in ``[0, 1]``, and :meth:`snap` maps a
relaxed row back to a valid point (integers to their cell centre, a block to the
one-hot vector of its largest entry).

Conditional parameters: each gets an *activity indicator* column (1 when active, 0
when not), after the parameter columns. An inactive parameter's columns hold a fixed
imputed value: its unit column sits at the cube's centre (as in the space's encoding)
and a categorical block is all zeros. Two configs that differ only in parameters
neither uses have the same features, and the kernel sees active and inactive rows as
apart through the indicator, so a stationary kernel stays valid (Lévesque et al., 2017,
"Bayesian optimization for conditional hyperparameter spaces"). Indicators are derived
from the parents' columns, so :meth:`snap` recomputes them from a relaxed row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from metahpo.space import INACTIVE_UNIT, Categorical, Int, Space

__all__ = ["SpaceEncoding"]


@dataclass(frozen=True)
class _Column:
    kind: str  # "float", "int" or "categorical"
    start: int  # first feature column
    width: int  # 1, or the number of choices


class SpaceEncoding:
    """Maps unit-cube rows of ``space`` to surrogate features and back.

    Args:
        space: the search space.
        min_budget, max_budget: the budget range; with both given and different, a
            last feature column holds ``(log b - log min) / (log max - log min)``.

    Example:
        >>> import metahpo as mh
        >>> space = mh.Space({"x": mh.Float(0, 1), "act": mh.Categorical(["a", "b", "c"])})
        >>> encoding = SpaceEncoding(space)
        >>> encoding.features(space.to_unit([{"x": 0.25, "act": "b"}])).tolist()
        [[0.25, 0.0, 1.0, 0.0]]
    """

    def __init__(
        self, space: Space, min_budget: float | None = None, max_budget: float | None = None
    ) -> None:
        self.space = space
        self.params = list(space.values())
        columns = []
        start = 0
        for param in self.params:
            if isinstance(param, Categorical):
                columns.append(_Column("categorical", start, len(param.choices)))
                start += len(param.choices)
            else:
                columns.append(_Column("int" if isinstance(param, Int) else "float", start, 1))
                start += 1
        self.columns = columns
        # One activity indicator per conditional parameter, after the parameter columns.
        names = list(space)
        self.conditional = [names.index(name) for name in space.conditions]
        self.indicator_start = start
        start += len(self.conditional)
        self.n_config_features = start
        self.has_budget = (
            min_budget is not None
            and max_budget is not None
            and min_budget > 0
            and max_budget > min_budget
        )
        self.min_budget = min_budget
        self.max_budget = max_budget
        self.n_features = start + (1 if self.has_budget else 0)

    @property
    def is_continuous(self) -> bool:
        """Whether every parameter is a float (no rounding or discrete search needed)."""
        return not self.conditional and all(column.kind == "float" for column in self.columns)

    def feature_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The box of the acquisition's relaxation: lower and upper config features.

        An integer's column spans the cell centres of its lowest and highest values, where
        its observations lie; every other column spans ``[0, 1]``. Beyond the last cell
        centre the surrogate would extrapolate to a region that :meth:`snap` maps back
        inside, so a relaxed optimum there (where the model is least sure) would be judged
        by a value its snapped config does not have.
        """
        lower = np.zeros(self.n_config_features)
        upper = np.ones(self.n_config_features)
        for param, column in zip(self.params, self.columns, strict=True):
            if column.kind == "int":
                assert isinstance(param, Int)
                lower[column.start] = param.to_unit(param.low)
                upper[column.start] = param.to_unit(param.high)
        return lower, upper

    # Unit cube <-> relaxed config features -------------------------------------------------
    def features(self, unit: np.ndarray) -> np.ndarray:
        """Config features ``(n, n_config_features)`` of unit-cube rows ``(n, d)``."""
        unit = np.atleast_2d(np.asarray(unit, dtype=float))
        out = np.zeros((len(unit), self.n_config_features))
        active = self.space.active_mask(unit) if self.conditional else None
        if active is not None:
            unit = np.where(active, unit, INACTIVE_UNIT)
        for j, column in enumerate(self.columns):
            if column.kind == "categorical":
                k = column.width
                index = np.minimum((unit[:, j] * k).astype(int), k - 1)
                out[np.arange(len(unit)), column.start + index] = 1.0
            else:
                out[:, column.start] = unit[:, j]
        if active is not None:
            for k, j in enumerate(self.conditional):
                out[:, self.indicator_start + k] = active[:, j]
                column = self.columns[j]
                if column.kind == "categorical":
                    out[~active[:, j], column.start : column.start + column.width] = 0.0
        return out

    def unit(self, features: np.ndarray) -> np.ndarray:
        """Unit-cube rows of (possibly relaxed) config features; blocks decode by argmax."""
        features = np.atleast_2d(np.asarray(features, dtype=float))
        out = np.empty((len(features), len(self.params)))
        for j, column in enumerate(self.columns):
            block = features[:, column.start : column.start + column.width]
            if column.kind == "categorical":
                out[:, j] = (np.argmax(block, axis=1) + 0.5) / column.width
                # An all-zero block is an inactive parameter: back to the imputed centre.
                out[np.all(block <= 0.0, axis=1), j] = INACTIVE_UNIT
            else:
                out[:, j] = np.clip(block[:, 0], 0.0, 1.0)
        return out

    def snap(self, features: np.ndarray) -> np.ndarray:
        """The nearest valid feature rows: integers at cell centres, one-hot blocks."""
        features = np.atleast_2d(np.asarray(features, dtype=float))
        unit = self.unit(features)
        for j, (param, column) in enumerate(zip(self.params, self.columns, strict=False)):
            if column.kind == "int":
                unit[:, j] = [param.to_unit(param.from_unit(u)) for u in unit[:, j]]
        snapped = self.features(unit)
        active = self.space.active_mask(unit) if self.conditional else None
        for j, column in enumerate(self.columns):
            if column.kind == "float":
                kept = np.clip(features[:, column.start], 0.0, 1.0)
                if active is not None:
                    kept = np.where(active[:, j], kept, INACTIVE_UNIT)
                snapped[:, column.start] = kept
        return snapped

    def neighbors(self, features: np.ndarray) -> np.ndarray:
        """Valid rows one discrete move from a valid row: an integer ±1, another choice."""
        row = np.asarray(features, dtype=float).reshape(-1)
        unit = self.unit(row[None, :])[0]
        out = []
        for j, (param, column) in enumerate(zip(self.params, self.columns, strict=False)):
            if column.kind == "int":
                assert isinstance(param, Int)
                value = param.from_unit(unit[j])
                for step in (-1, 1):
                    if param.low <= value + step <= param.high:
                        moved = row.copy()
                        moved[column.start] = param.to_unit(value + step)
                        out.append(moved)
            elif column.kind == "categorical":
                current = int(np.argmax(row[column.start : column.start + column.width]))
                for choice in range(column.width):
                    if choice != current:
                        moved = row.copy()
                        moved[column.start : column.start + column.width] = 0.0
                        moved[column.start + choice] = 1.0
                        out.append(moved)
        moves = np.array(out).reshape(-1, self.n_config_features)
        # A move of a parent turns its children on or off: recompute what it implies.
        return self.snap(moves) if self.conditional and len(moves) else moves

    # Budget ------------------------------------------------------------------------------
    def budget_feature(self, budgets: np.ndarray) -> np.ndarray:
        """The log-scaled budget column in ``[0, 1]`` (1 is the maximum budget)."""
        budgets = np.asarray(budgets, dtype=float)
        if not self.has_budget:
            return np.ones_like(budgets)
        low = math.log(self.min_budget)  # type: ignore[arg-type]
        high = math.log(self.max_budget)  # type: ignore[arg-type]
        return np.clip((np.log(np.maximum(budgets, 1e-300)) - low) / (high - low), 0.0, 1.0)

    def inputs(self, unit: np.ndarray, budgets: np.ndarray | None = None) -> np.ndarray:
        """Surrogate inputs: config features plus the budget column when there is one."""
        features = self.features(unit)
        if not self.has_budget:
            return features
        if budgets is None:
            column = np.ones((len(features), 1))
        else:
            column = self.budget_feature(budgets)[:, None]
        return np.hstack([features, column])
