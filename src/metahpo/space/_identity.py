"""Config identity: when two configs are the same config.

An integer is the same when its value is, a categorical when its choice is: their keys
are the value and the choice's index, exact however wide the range (a unit-cube
coordinate, a float in ``[0, 1]``, cannot tell apart neighbouring integers of a range
wider than about 1e9 once rounded). A float is the same when its unit-cube coordinate
rounded to :data:`UNIT_KEY_DECIMALS` decimals is, so that a value that went through the
encoding and back, or through a file, is still the config it was. An inactive parameter's
key is ``None``: configs that differ only in what they do not use are the same config.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from metahpo.space._params import Categorical, Float, Param

if TYPE_CHECKING:
    from metahpo.space._space import Space

# A float's unit-cube coordinates closer than this are the same config.
UNIT_KEY_DECIMALS = 9

#: The identity of a config (see :meth:`Space.config_keys`): one entry per parameter.
ConfigKey = tuple[float | int | None, ...]


def round_unit(unit: np.ndarray) -> np.ndarray:
    """Unit-cube rows rounded to :data:`UNIT_KEY_DECIMALS` decimals: a float parameter's
    identity. Equal rounded rows are one point to a model; as configs, rows of integers
    wider than about 1e9 values may differ (compare :meth:`Space.config_keys`)."""
    return np.round(np.asarray(unit, dtype=float), UNIT_KEY_DECIMALS)


def config_keys(space: Space, configs: Sequence[Mapping[str, Any]], unit: np.ndarray) -> list[ConfigKey]:
    """The key of each of ``configs``, whose unit-cube rows (already checked) are ``unit``."""
    params = [(name, None if isinstance(param, Float) else param) for name, param in space.items()]
    keys = []
    for config, row in zip(configs, round_unit(unit).tolist(), strict=True):
        active = set(space.active_names(config)) if space.is_conditional else None
        keys.append(tuple(
            None if active is not None and name not in active
            else u if param is None else _exact_key(param, config[name])
            for (name, param), u in zip(params, row, strict=True)
        ))
    return keys


def _exact_key(param: Param, value: Any) -> int:
    """The key of an integer's or a categorical's ``value``."""
    if isinstance(param, Categorical):
        return param.index(value)
    if type(value) is not int:
        # A Python int whatever the type given (NumPy's included), exact past 2**53; to_unit
        # took a float within rounding of an integer (5.0, a hair past a bound) as that integer.
        value = int(value) if isinstance(value, np.integer) else round(float(value))
    return min(max(value, param.low), param.high)
