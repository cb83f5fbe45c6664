"""A dashboard served on a free loopback port, and a headless Chromium to look at it."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM = os.environ.get("METAHPO_CHROMIUM", "/usr/bin/chromium")
# Playwright must never download a browser: the tests drive Debian's chromium.
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")


@contextmanager
def serving(storage: str) -> Iterator[str]:
    """The dashboard of ``storage`` on a free loopback port, in a thread; yields its URL."""
    uvicorn = pytest.importorskip("uvicorn")
    from metahpo.dashboard import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(storage), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("The dashboard did not start within 20 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture(scope="session")
def serve_dashboard():
    """:func:`serving`, for a test that serves a storage of its own."""
    return serving


class CountingStorage:
    """A storage that counts the calls of each method of the one it wraps (``hidden``: the
    methods it lacks, as a storage written before the protocol had them)."""

    def __init__(self, storage: Any, hidden: tuple[str, ...] = ()) -> None:
        self.storage, self.hidden, self.calls = storage, hidden, Counter[str]()

    def __getattr__(self, name: str) -> Any:
        if name in self.hidden:
            raise AttributeError(name)
        found = getattr(self.storage, name)
        if not callable(found):
            return found

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            return found(*args, **kwargs)

        return counted


@pytest.fixture(scope="session")
def counting_storage() -> type[CountingStorage]:
    """:class:`CountingStorage`, for a test that counts what the dashboard reads."""
    return CountingStorage


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def served_and_written(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[tuple[Any, Any]]:
    """The storage a dashboard serves, and the one studies are written through: the same
    object in memory; two connections to one database otherwise, as for a dashboard
    watching other processes."""
    from metahpo.storage import InMemoryStorage, SQLStorage

    if request.param == "memory":
        storage = InMemoryStorage()
        yield storage, storage
        return
    url = f"sqlite:///{tmp_path / 's.db'}" if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    served, written = SQLStorage(url), SQLStorage(url)
    yield served, written
    served.close()
    written.close()


@pytest.fixture(scope="session")
def dashboard_url(drawn_storage) -> Iterator[str]:
    with serving(drawn_storage) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        if os.environ.get("CI"):
            pytest.fail(f"No Chromium at {CHROMIUM}: .ci/run installs Debian's chromium")
        pytest.skip(f"No Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        # SwiftShader gives headless Chromium the WebGL that parallel coordinates draw with.
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    """A fresh page that records console errors and page errors in ``page.errors``."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    yield page
    context.close()
