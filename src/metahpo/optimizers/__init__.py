"""What to try next: random, Sobol, GP-BO, portfolio and meta-BO optimizers."""

from __future__ import annotations

import importlib
from typing import Any

from metahpo.optimizers._base import MIN_RELATED_TASKS, BaseOptimizer, Optimizer, Suggestion
from metahpo.optimizers._random import RandomSearch, Sobol
from metahpo.optimizers._registry import (
    check_optimizer,
    make_optimizer,
    optimizer_class,
    optimizer_class_name,
    optimizer_names,
    optimizer_spec,
    refuse_knowledge,
    register_optimizer,
    takes_knowledge,
)

# Model-based optimizers import torch; they load on first use so that a study with
# random search does not pay for it.
_LAZY = {
    "GPBO": "metahpo.optimizers._gp",
    "MetaBO": "metahpo.optimizers._metabo",
    "Portfolio": "metahpo.optimizers._portfolio",
}

__all__ = [
    "GPBO",
    "MIN_RELATED_TASKS",
    "BaseOptimizer",
    "MetaBO",
    "Optimizer",
    "Portfolio",
    "RandomSearch",
    "Sobol",
    "Suggestion",
    "check_optimizer",
    "make_optimizer",
    "optimizer_class",
    "optimizer_class_name",
    "optimizer_names",
    "optimizer_spec",
    "refuse_knowledge",
    "register_optimizer",
    "takes_knowledge",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'metahpo.optimizers' has no attribute {name!r}")
