"""Test helpers for metahpo and for code that extends it.

:mod:`metahpo.testing.storage` holds the conformance suite every storage backend
passes; :func:`postgres_server` and :func:`fresh_schema` give tests a PostgreSQL server;
:mod:`metahpo.testing.synthetic` holds test functions with known optima (Branin,
Hartmann-6, shifted task families, ...), also re-exported here.
"""

from metahpo.testing._postgres import (
    PostgresUnavailable,
    fresh_schema,
    postgres_server,
    temporary_postgres,
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

__all__ = [
    "Branin",
    "Hartmann6",
    "MultiFidelityBranin",
    "PostgresUnavailable",
    "Problem",
    "QuadraticFamily",
    "Rosenbrock",
    "ShiftedBranin",
    "ShiftedHartmann6",
    "fresh_schema",
    "postgres_server",
    "temporary_postgres",
]
