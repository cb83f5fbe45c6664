"""Run the dashboard with uvicorn, on the loopback interface unless told otherwise."""

from __future__ import annotations

import ipaddress
import logging

from metahpo.storage import Storage

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "is_loopback", "serve"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080

logger = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(storage: Storage | str, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> None:
    """Serve the read-only dashboard of ``storage`` until interrupted.

    Listens on the loopback interface by default; any other ``host`` makes the studies
    readable by everyone who can reach it, which is logged as a warning.
    """
    import uvicorn

    from metahpo.dashboard._app import create_app

    if not is_loopback(host):
        logger.warning("The dashboard listens on %s: anyone who can reach it can read every study.", host)
    uvicorn.run(create_app(storage), host=host, port=port, log_level="warning")
