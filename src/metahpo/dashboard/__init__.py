"""The read-only web dashboard: ``metahpo dashboard --storage URL``.

Pages: the studies (refreshed while they run), one study (its figures and trials, drawn
again when it changes), studies compared, and the knowledge (tasks, clusters, the map, meta-model versions). Every route
only reads the storage; plotly.js is served from the installed ``plotly`` package.
Needs the ``dashboard`` extra (Starlette and uvicorn).
"""

from __future__ import annotations

from typing import Any

from metahpo.dashboard._serve import DEFAULT_HOST, DEFAULT_PORT, is_loopback, serve

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "create_app", "is_loopback", "serve"]


def create_app(storage: Any) -> Any:
    """The dashboard as an ASGI application (see :func:`metahpo.dashboard._app.create_app`)."""
    try:
        from metahpo.dashboard._app import create_app as build
    except ImportError as exc:
        raise ImportError(
            "The dashboard needs Starlette and uvicorn: install the 'dashboard' extra "
            "(pip install 'metahpo[dashboard]')."
        ) from exc
    return build(storage)
