"""Search spaces and their unit-cube encoding."""

from metahpo.space._params import Categorical, Float, Int, Param, param_from_dict
from metahpo.space._space import UNIT_KEY_DECIMALS, Config, Space, round_unit

__all__ = [
    "UNIT_KEY_DECIMALS",
    "Categorical",
    "Config",
    "Float",
    "Int",
    "Param",
    "Space",
    "param_from_dict",
    "round_unit",
]
