"""YAHPO Gym surrogate benchmarks (``lcbench``, ``rbv2_xgboost``) read with onnxruntime."""

from metahpo_bench.yahpo._data import (
    ENV_VARIABLE,
    YahpoDataError,
    default_data_dirs,
    find_data_dir,
)
from metahpo_bench.yahpo._problem import LCBench, RBv2XGBoost, YahpoProblem
from metahpo_bench.yahpo._scenarios import SCENARIOS, Scenario

__all__ = [
    "ENV_VARIABLE",
    "SCENARIOS",
    "LCBench",
    "RBv2XGBoost",
    "Scenario",
    "YahpoDataError",
    "YahpoProblem",
    "default_data_dirs",
    "find_data_dir",
]
