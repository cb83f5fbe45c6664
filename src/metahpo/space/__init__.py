"""Search spaces and their unit-cube encoding."""

from metahpo.space._conditions import (
    AllOf,
    AnyOf,
    Condition,
    Equals,
    In,
    Range,
    condition_from_dict,
)
from metahpo.space._identity import UNIT_KEY_DECIMALS, ConfigKey, config_keys, round_unit
from metahpo.space._params import UNIT_TOLERANCE, Categorical, Float, Int, Param, param_from_dict
from metahpo.space._space import (
    INACTIVE_UNIT,
    Config,
    Space,
)

__all__ = [
    "INACTIVE_UNIT",
    "UNIT_KEY_DECIMALS",
    "UNIT_TOLERANCE",
    "AllOf",
    "AnyOf",
    "Categorical",
    "Condition",
    "Config",
    "ConfigKey",
    "Equals",
    "Float",
    "In",
    "Int",
    "Param",
    "Range",
    "Space",
    "condition_from_dict",
    "config_keys",
    "param_from_dict",
    "round_unit",
]
