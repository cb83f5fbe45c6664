"""What identifies a knowledge base across processes: its spec, without credentials."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError

__all__ = ["SQL_PREFIXES", "check_spec", "spec_identity"]

SQL_PREFIXES = ("sqlite:", "postgresql:", "postgresql+")


def check_spec(spec: Any) -> list[str] | None:
    """A knowledge spec as a list of strings (``None`` stays ``None``)."""
    if spec is None:
        return None
    if isinstance(spec, str):
        return [spec]
    if isinstance(spec, Sequence) and all(isinstance(s, str) for s in spec):
        return list(spec)
    raise InvalidParameterError(
        f"A knowledge spec must be a string, a list of strings or None. Got {describe(spec)} instead."
    )


def spec_identity(spec: str | Sequence[str] | None) -> Any:
    """``spec`` as it identifies knowledge: storage URLs without user, password or driver.

    Teammates reach one database with their own roles (and perhaps another driver); the
    knowledge, and so the meta-model key, is the same for all of them. Host, port,
    database and query (e.g. a schema in ``options``) still tell databases apart.
    """
    from sqlalchemy.engine import URL, make_url

    def identity(item: str) -> str:
        if not item.startswith(SQL_PREFIXES):
            return item
        url = make_url(item)
        bare = URL.create(url.get_backend_name(), host=url.host, port=url.port, database=url.database,
                          query=url.query)
        return bare.render_as_string(hide_password=False)

    if spec is None or isinstance(spec, str):
        return None if spec is None else identity(spec)
    return [identity(item) for item in spec]
