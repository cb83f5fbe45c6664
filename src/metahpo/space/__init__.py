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
from metahpo.space._params import UNIT_TOLERANCE, Categorical, Float, Int, Param, param_from_dict
from metahpo.space._space import (
    INACTIVE_UNIT,
    UNIT_KEY_DECIMALS,
    Config,
    Space,
    round_unit,
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
    "Equals",
    "Float",
    "In",
    "Int",
    "Param",
    "Range",
    "Space",
    "condition_from_dict",
    "param_from_dict",
    "round_unit",
]
