"""Run the dashboard with uvicorn, on the loopback interface unless told otherwise."""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Callable

from metahpo._validation import check_int
from metahpo.exceptions import InvalidParameterError
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


def serve(
    storage: Storage | str,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    on_start: Callable[[str], None] | None = None,
) -> None:
    """Serve the read-only dashboard of ``storage`` until interrupted.

    Listens on the loopback interface by default; any other ``host`` makes the studies
    readable by everyone who can reach it, which is logged as a warning. ``port=0`` takes
    a free port. ``on_start`` is called with the dashboard's URL once it listens (the
    port the system gave, for ``port=0``).
    """
    import uvicorn

    from metahpo.dashboard._app import create_app

    if not is_loopback(host):
        logger.warning("The dashboard listens on %s: anyone who can reach it can read every study.", host)
    # The socket is bound here, not by uvicorn: a port in use is then a clear error, and
    # the URL printed is the one listened on.
    sock = listen(host, port)
    try:
        if on_start is not None:
            on_start(url_of(sock))
        server = uvicorn.Server(uvicorn.Config(create_app(storage), log_level="warning"))
        server.run(sockets=[sock])
    finally:
        sock.close()


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` (``0``: a free port); refused with a clear error."""
    port = check_int(port, "port", "the dashboard", minimum=0, maximum=65535)
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise InvalidParameterError(
            f"The 'host' of the dashboard must be an address or a name this machine resolves. "
            f"Got {host!r} instead ({exc.strerror})."
        ) from exc
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise InvalidParameterError(
            f"The dashboard cannot listen on {host} port {port}: {exc.strerror}. Choose another "
            "'port' (0 takes a free one)."
        ) from exc
    return sock


def url_of(sock: socket.socket) -> str:
    """The http URL of a bound socket (IPv6 addresses in brackets)."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"
