"""The dashboard command: loopback by default, a warning for any other address."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest

from metahpo.dashboard import is_loopback


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(args: list[str]) -> subprocess.Popen:
    code = "from metahpo.cli import main; main()"
    return subprocess.Popen([sys.executable, "-c", code, "dashboard", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


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


def test_default_listens_on_loopback_only(drawn_storage):
    port = _free_port()
    process = _start(["--storage", drawn_storage, "--port", str(port)])
    try:
        addresses = _listening(process.pid, port)
    finally:
        err = _stop(process)
    assert addresses and all(is_loopback(a) for a in addresses), addresses
    assert "warning" not in err


def test_other_host_prints_a_warning(drawn_storage):
    port = _free_port()
    process = _start(["--storage", drawn_storage, "--port", str(port), "--host", "0.0.0.0"])
    try:
        addresses = _listening(process.pid, port)
    finally:
        err = _stop(process)
    assert addresses == ["0.0.0.0"]
    assert "warning" in err and "anyone who can reach" in err


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
