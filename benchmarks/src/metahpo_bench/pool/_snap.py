"""Snapping a suggestion to the nearest config of a fixed pool, in the space's unit encoding.

Categorical parameters must match exactly when some pool config matches them all; else
the pool configs with the most matching categoricals are the candidates. Among the
candidates the nearest in the numeric unit coordinates wins (Euclidean distance; an
inactive parameter sits at the centre of its column in every row, as
:meth:`metahpo.space.Space.to_unit` puts it), and ties go to the lowest pool index.
Ordered categoricals keep their order in the unit cube, so they count as numeric.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from metahpo.space import Categorical, Space

__all__ = ["categorical_codes", "nearest_index", "numeric_unit"]

# The code of a categorical parameter that a config leaves inactive.
INACTIVE_CODE = -1


def _categoricals(space: Space) -> dict[str, Categorical]:
    return {
        name: param
        for name, param in space.items()
        if isinstance(param, Categorical) and not param.ordered
    }


def categorical_codes(space: Space, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """The choice index of each unordered categorical, ``-1`` where inactive: ``(n, k)`` ints."""
    categoricals = _categoricals(space)
    out = np.full((len(configs), len(categoricals)), INACTIVE_CODE, dtype=np.int64)
    for j, (name, param) in enumerate(categoricals.items()):
        for i, config in enumerate(configs):
            if name in config:
                out[i, j] = param.index(config[name])
    return out


def numeric_unit(space: Space, configs: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """The unit-cube columns of every parameter but the unordered categoricals: ``(n, d - k)``."""
    categorical = _categoricals(space)
    columns = [j for j, name in enumerate(space.names) if name not in categorical]
    return space.to_unit(list(configs))[:, columns]


def nearest_index(
    pool_codes: np.ndarray,
    pool_numeric: np.ndarray,
    codes: np.ndarray,
    numeric: np.ndarray,
) -> int:
    """The index of the pool row nearest to one point (rules in the module docstring).

    Args:
        pool_codes: ``(n, k)`` categorical codes of the pool (:func:`categorical_codes`).
        pool_numeric: ``(n, m)`` numeric unit coordinates of the pool (:func:`numeric_unit`).
        codes: ``(k,)`` categorical codes of the point.
        numeric: ``(m,)`` numeric unit coordinates of the point.

    Example:
        >>> import numpy as np
        >>> pool_codes = np.array([[0], [1], [1]])
        >>> pool_numeric = np.array([[0.5], [0.0], [0.9]])
        >>> nearest_index(pool_codes, pool_numeric, np.array([1]), np.array([0.55]))
        2
    """
    matches = (pool_codes == codes[None, :]).sum(axis=1)
    distance = ((pool_numeric - numeric[None, :]) ** 2).sum(axis=1)
    distance = np.where(matches == matches.max(), distance, np.inf)
    return int(np.argmin(distance))
