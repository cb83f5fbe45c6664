"""Shared pytest fixtures. Each section belongs to one part of the package."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# --- PostgreSQL ---------------------------------------------------------------------------
# `postgres_url` gives a test its own empty schema on a real server: the one named by
# METAHPO_TEST_POSTGRES_URL (CI), else a throw-away server started from the Debian
# binaries for this test session. Without a server the tests skip, or fail when
# METAHPO_REQUIRE_POSTGRES=1.


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    from metahpo.testing import PostgresUnavailable, postgres_server
    from metahpo.testing._postgres import REQUIRE_VAR, URL_VAR

    manager = postgres_server()
    try:
        url = manager.__enter__()
    except PostgresUnavailable as exc:
        reason = f"No PostgreSQL server: {URL_VAR} is not set and starting one failed: {exc}"
        if os.environ.get(REQUIRE_VAR) == "1":
            pytest.fail(f"{reason} ({REQUIRE_VAR}=1 requires PostgreSQL tests to run)")
        pytest.skip(reason)
    try:
        _check_reachable(url)
        yield url
    finally:
        manager.__exit__(None, None, None)


def _check_reachable(url: str) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(url)
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        pytest.fail(f"The PostgreSQL server at {engine.url!r} does not answer: {exc}")
    finally:
        engine.dispose()


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    from metahpo.testing import fresh_schema

    with fresh_schema(postgres_server_url) as url:
        yield url


# --- end PostgreSQL -----------------------------------------------------------------------
