"""Config identity: when two configs are the same config.

A parameter is the same when its unit-cube coordinate rounded to
:data:`UNIT_KEY_DECIMALS` decimals is, so that a value that went through the encoding and
back, or through a file, is still the config it was; integers and categoricals encode to
their cell's centre, exactly one per value. An integer of a range so wide that rounded
centres would merge (a float in ``[0, 1]`` cannot tell apart neighbouring integers of a
range wider than about 1e9) is keyed by its value instead. An inactive parameter's
key is ``None``: configs that differ only in what they do not use are the same config.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from metahpo.space._params import Int

if TYPE_CHECKING:
    from metahpo.space._space import Space

# A float's unit-cube coordinates closer than this are the same config.
UNIT_KEY_DECIMALS = 9
# An Int with more values than this is keyed by its value: its unit-cube cells, rounded to
# UNIT_KEY_DECIMALS, merge from about 1e9 values on; narrower ones keep their cell's centre.
_WIDE_INT = 2**20

#: The identity of a config (see :meth:`Space.config_keys`): one entry per parameter.
ConfigKey = tuple[float | int | None, ...]


def round_unit(unit: np.ndarray) -> np.ndarray:
    """Unit-cube rows rounded to :data:`UNIT_KEY_DECIMALS` decimals: a float parameter's
    identity. Equal rounded rows are one point to a model; as configs, rows of integers
    wider than about 1e9 values may differ (compare :meth:`Space.config_keys`)."""
    return np.round(np.asarray(unit, dtype=float), UNIT_KEY_DECIMALS)


def config_keys(space: Space, configs: Sequence[Mapping[str, Any]], unit: np.ndarray) -> list[ConfigKey]:
    """The key of each of ``configs``, whose unit-cube rows (already checked) are ``unit``."""
    rows = round_unit(unit).tolist()
    wide = [(j, name, param) for j, (name, param) in enumerate(space.items())
            if isinstance(param, Int) and param.high - param.low >= _WIDE_INT]
    if not wide and not space.is_conditional:
        return [tuple(row) for row in rows]  # The common case, at NumPy's speed.
    names = list(space)
    keys: list[ConfigKey] = []
    for config, row in zip(configs, rows, strict=True):
        for j, name, param in wide:
            if name in config:
                row[j] = _exact_key(param, config[name])
        if space.is_conditional:
            active = set(space.active_names(config))
            row = [u if name in active else None for name, u in zip(names, row, strict=True)]
        keys.append(tuple(row))
    return keys


def _exact_key(param: Int, value: Any) -> int:
    """The key of a wide integer's ``value``."""
    if type(value) is not int:
        # A Python int whatever the type given (NumPy's included), exact past 2**53; to_unit
        # took a float within rounding of an integer (5.0, a hair past a bound) as that integer.
        value = int(value) if isinstance(value, np.integer) else round(float(value))
    return min(max(value, param.low), param.high)
