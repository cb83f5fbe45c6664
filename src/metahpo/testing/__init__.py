"""Test helpers for metahpo and for code that extends it.

:mod:`metahpo.testing.storage` holds the conformance suite every storage backend
passes; :func:`postgres_server` and :func:`fresh_schema` give tests a PostgreSQL server.
"""

from metahpo.testing._postgres import (
    PostgresUnavailable,
    fresh_schema,
    postgres_server,
    temporary_postgres,
)

__all__ = ["PostgresUnavailable", "fresh_schema", "postgres_server", "temporary_postgres"]
