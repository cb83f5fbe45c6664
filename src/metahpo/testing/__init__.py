"""Test helpers for metahpo and for code that extends it.

The conformance suites every implementation of a protocol passes, each a tuple of
``check_*`` functions and a runner: :mod:`metahpo.testing.optimizers`
(:func:`check_optimizer`, :data:`OPTIMIZER_CHECKS`), :mod:`metahpo.testing.schedulers`
(:func:`check_scheduler`, :data:`SCHEDULER_CHECKS`) and :mod:`metahpo.testing.storage`
(:func:`check_storage`, :data:`STORAGE_CHECKS`). :func:`postgres_server` and
:func:`fresh_schema` give tests a PostgreSQL server.
:mod:`metahpo.testing.synthetic` holds test functions with known optima (Branin,
Hartmann-6, shifted task families, ...), also re-exported here.
"""

from __future__ import annotations

import importlib
from typing import Any

from metahpo.testing._postgres import (
    PostgresUnavailable,
    fresh_schema,
    postgres_server,
    temporary_postgres,
    temporary_postgres_server,
)
from metahpo.testing.synthetic import (
    Branin,
    Hartmann6,
    MultiFidelityBranin,
    Problem,
    QuadraticFamily,
    Rosenbrock,
    ShiftedBranin,
    ShiftedHartmann6,
)

# The suites import the packages they check; they load on first use.
_LAZY = {
    "OPTIMIZER_CHECKS": "metahpo.testing.optimizers",
    "check_optimizer": "metahpo.testing.optimizers",
    "SCHEDULER_CHECKS": "metahpo.testing.schedulers",
    "check_scheduler": "metahpo.testing.schedulers",
    "STORAGE_CHECKS": "metahpo.testing.storage",
    "check_storage": "metahpo.testing.storage",
}

__all__ = [
    "OPTIMIZER_CHECKS",
    "SCHEDULER_CHECKS",
    "STORAGE_CHECKS",
    "Branin",
    "Hartmann6",
    "MultiFidelityBranin",
    "PostgresUnavailable",
    "Problem",
    "QuadraticFamily",
    "Rosenbrock",
    "ShiftedBranin",
    "ShiftedHartmann6",
    "check_optimizer",
    "check_scheduler",
    "check_storage",
    "fresh_schema",
    "postgres_server",
    "temporary_postgres",
    "temporary_postgres_server",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'metahpo.testing' has no attribute {name!r}")
