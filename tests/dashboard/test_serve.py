"""The dashboard command: loopback by default, a warning for any other address."""

from __future__ import annotations

import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

import pytest

from metahpo.dashboard import is_loopback
from metahpo.dashboard._serve import listen
from metahpo.exceptions import InvalidParameterError


def _start(args: list[str]) -> subprocess.Popen:
    code = "from metahpo.cli import main; main()"
    return subprocess.Popen([sys.executable, "-c", code, "dashboard", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _announced_url(process: subprocess.Popen, timeout: float = 30.0) -> tuple[str, str]:
    """The URL the command prints once it listens, and what it printed before."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:  # a thread, as a pipe's buffered lines defeat select()
        for line in process.stderr:
            lines.put(line)
            if "metahpo dashboard on" in line:
                return

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    before = ""
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.1)
        except queue.Empty:
            if process.poll() is not None and lines.empty():
                break
            continue
        match = re.search(r"metahpo dashboard on (\S+)", line)
        if match:
            return match.group(1), before
        before += line
    raise AssertionError(f"The dashboard printed no URL within {timeout} s; before it: {before!r}")


def _listening(pid: int, port: int, timeout: float = 30.0) -> list[str]:
    psutil = pytest.importorskip("psutil")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        addresses = [c.laddr.ip for c in psutil.Process(pid).net_connections(kind="inet")
                     if c.status == psutil.CONN_LISTEN and c.laddr.port == port]
        if addresses:
            return addresses
        time.sleep(0.1)
    raise AssertionError(f"Nothing listened on port {port} within {timeout} s")


def _stop(process: subprocess.Popen) -> str:
    process.terminate()
    try:
        _, err = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
    return err


def test_default_listens_on_loopback_only_on_the_port_it_prints(drawn_storage):
    process = _start(["--storage", drawn_storage, "--port", "0"])
    try:
        url, before = _announced_url(process)
        port = urllib.parse.urlsplit(url).port
        addresses = _listening(process.pid, port)
        with urllib.request.urlopen(url, timeout=30) as response:
            page = response.read().decode()
    finally:
        err = _stop(process)
    assert port and port != 0, url
    assert addresses and all(is_loopback(a) for a in addresses), addresses
    assert "finished-hb" in page
    assert "warning" not in before + err


def test_other_host_prints_a_warning(drawn_storage):
    process = _start(["--storage", drawn_storage, "--port", "0", "--host", "0.0.0.0"])
    try:
        url, before = _announced_url(process)
        addresses = _listening(process.pid, urllib.parse.urlsplit(url).port)
    finally:
        _stop(process)
    assert addresses == ["0.0.0.0"]
    assert before.count("anyone who can reach") == 1  # said once, not by the CLI and the library both


def test_a_port_in_use_is_refused_naming_it(drawn_storage):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-c", "from metahpo.cli import main; main()", "dashboard",
                               "--storage", drawn_storage, "--port", str(port)],
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"port {port}" in done.stderr and "0 takes a free one" in done.stderr


@pytest.mark.parametrize("port", [-1, 65536, 1.5])
def test_a_port_out_of_range_is_refused(port):
    with pytest.raises(InvalidParameterError, match="'port'"):
        listen("127.0.0.1", port)


def test_the_sockets_listen_before_the_url_is_announced():
    sockets = listen("127.0.0.1", 0)
    try:
        # Connectable at once (no server loop yet: the backlog accepts it), and a second
        # dashboard on the same port is refused, not bound beside it.
        with socket.create_connection(sockets[0].getsockname()[:2], timeout=5):
            pass
        with pytest.raises(InvalidParameterError, match="cannot listen"):
            listen("127.0.0.1", sockets[0].getsockname()[1])
    finally:
        for sock in sockets:
            sock.close()


def test_an_interrupt_stops_the_dashboard_with_exit_code_zero(drawn_storage):
    process = _start(["--storage", drawn_storage, "--port", "0"])
    try:
        _announced_url(process)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert "Traceback" not in err


def test_missing_database_is_refused(tmp_path):
    done = subprocess.run([sys.executable, "-c", "from metahpo.cli import main; main()", "dashboard",
                           "--storage", f"sqlite:///{tmp_path / 'none.db'}"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "No database at" in done.stderr
    assert not (tmp_path / "none.db").exists()


@pytest.mark.parametrize(("host", "expected"), [("127.0.0.1", True), ("::1", True), ("localhost", True),
                                                ("0.0.0.0", False), ("192.168.1.4", False), ("example.org", False)])
def test_is_loopback(host, expected):
    assert is_loopback(host) is expected


def test_an_interrupt_as_the_url_is_announced_stops_the_server_and_restores_the_handler(drawn_storage):
    # In its own process: serving needs a thread with no event loop running.
    code = (
        "import os, signal\n"
        "from metahpo.dashboard._serve import serve\n"
        "before = signal.getsignal(signal.SIGINT)\n"
        "announced = []\n"
        "def interrupt_at_once(url):\n"
        "    announced.append(url)\n"
        "    os.kill(os.getpid(), signal.SIGINT)  # the earliest a user's Ctrl+C can come\n"
        f"serve({drawn_storage!r}, port=0, on_start=interrupt_at_once)\n"
        "print('announced', len(announced), 'restored', signal.getsignal(signal.SIGINT) is before)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "announced 1 restored True" in done.stdout and "Traceback" not in done.stderr
