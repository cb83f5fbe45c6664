"""Run the dashboard with uvicorn, on the loopback interface unless told otherwise."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import signal
import socket
import threading
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
    """Serve the read-only dashboard of ``storage`` until interrupted (Ctrl+C).

    Listens on the loopback interface by default; any other ``host`` makes the studies
    readable by everyone who can reach it, which is logged as a warning. ``port=0`` takes
    a free port. ``on_start`` is called with the dashboard's URL once it listens (with the
    port the system gave, for ``port=0``).
    """
    try:
        import uvicorn

        from metahpo.dashboard._app import create_app
    except ImportError as exc:
        raise ImportError(
            f"The dashboard needs {exc.name or 'its web server'}: install the 'dashboard' extra "
            "(pip install 'metahpo[dashboard]')."
        ) from exc

    if not is_loopback(host):
        logger.warning("The dashboard listens on %s: anyone who can reach it can read every study.", host)
    # The sockets listen before uvicorn starts: a port in use is then a clear error, and
    # the URL announced is one that already accepts connections.
    sockets = listen(host, port)
    try:
        # The storage is opened before the URL is announced: a bad one fails first.
        app = create_app(storage)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        # An interrupt is how the dashboard is stopped, not an error. One that comes as soon
        # as the URL is announced, before uvicorn listens for it, would otherwise land in
        # the middle of building the event loop: the server's own handler takes it from
        # the announcement on, and the server then stops as soon as it has started.
        main_thread = threading.current_thread() is threading.main_thread()
        # Off the main thread signals cannot be handled (nor reach this thread).
        previous = signal.signal(signal.SIGINT, server.handle_exit) if main_thread else None
        try:
            with contextlib.suppress(KeyboardInterrupt):
                if on_start is not None:
                    on_start(url_of(host, sockets[0]))
                server.run(sockets=sockets)
        finally:
            if main_thread:
                # None: a handler not set from Python; the default is what it stood for.
                signal.signal(signal.SIGINT, signal.default_int_handler if previous is None else previous)
    finally:
        for sock in sockets:
            sock.close()


def listen(host: str, port: int) -> list[socket.socket]:
    """Listening sockets on every address ``host`` resolves to, at ``port`` (``0``: a free
    port, the same for all of them); refused with a clear error naming what is wrong."""
    port = check_int(port, "port", "the dashboard", minimum=0, maximum=65535)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise InvalidParameterError(
            f"The 'host' of the dashboard must be an address or a name this machine resolves. "
            f"Got {host!r} instead ({exc.strerror})."
        ) from exc
    sockets: list[socket.socket] = []
    try:
        # getaddrinfo may list an address once per protocol: each is bound once.
        for family, kind, proto, address in dict.fromkeys((i[0], i[1], i[2], i[4]) for i in infos):
            if sockets:  # the port the first socket got, for port=0
                address = (address[0], sockets[0].getsockname()[1], *address[2:])
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen()
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise InvalidParameterError(
            f"The dashboard cannot listen on {host} port {port}: {exc.strerror or exc}. Choose "
            "another 'port' (0 takes a free one)."
        ) from exc
    return sockets


def url_of(host: str, sock: socket.socket) -> str:
    """The http URL of the dashboard on ``host`` at ``sock``'s port (IPv6 addresses in brackets)."""
    port = sock.getsockname()[1]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"
