"""What to try next: random, Sobol, GP-BO and meta-BO optimizers."""

from metahpo.optimizers._base import BaseOptimizer, Optimizer, Suggestion
from metahpo.optimizers._gp import GPBO
from metahpo.optimizers._portfolio import Portfolio
from metahpo.optimizers._random import RandomSearch, Sobol
from metahpo.optimizers._registry import (
    make_optimizer,
    optimizer_names,
    optimizer_spec,
    register_optimizer,
)

__all__ = [
    "GPBO",
    "BaseOptimizer",
    "Optimizer",
    "Portfolio",
    "RandomSearch",
    "Sobol",
    "Suggestion",
    "make_optimizer",
    "optimizer_names",
    "optimizer_spec",
    "register_optimizer",
]
