"""Pool (tabular) versions of the benchmark problems: fixed evaluated configs per task.

========================= ========================================================
name                      pool of each task
========================= ========================================================
``lcbench-pool``          500 seeded random LCBench configs at 52 epochs
``rbv2_xgboost-pool``     500 seeded random rbv2_xgboost configs at trainsize 1
``keel-hgb-pool``         the 64 configs of the bundled keel-hgb meta-data, 81 rounds
========================= ========================================================

A suggestion is snapped to the nearest pool config and costs a trial even when it snaps
to a config evaluated before; the regret bounds are the pool's best and worst loss.
"""

from metahpo_bench.pool._problem import Pool, PoolProblem, make_pool
from metahpo_bench.pool._snap import categorical_codes, nearest_index, numeric_unit
from metahpo_bench.pool._surrogate import LCBenchPool, RBv2XGBoostPool, SurrogatePool
from metahpo_bench.pool._table import KeelHGBPool, TablePool

__all__ = [
    "KeelHGBPool",
    "LCBenchPool",
    "Pool",
    "PoolProblem",
    "RBv2XGBoostPool",
    "SurrogatePool",
    "TablePool",
    "categorical_codes",
    "make_pool",
    "nearest_index",
    "numeric_unit",
]
