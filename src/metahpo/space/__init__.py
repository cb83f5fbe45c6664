"""Search spaces and their unit-cube encoding."""

from metahpo.space._params import Categorical, Float, Int, Param, param_from_dict
from metahpo.space._space import Config, Space

__all__ = ["Categorical", "Config", "Float", "Int", "Param", "Space", "param_from_dict"]
