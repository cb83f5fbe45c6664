"""The background import of torch.func's lazy machinery: once per process, and it completes."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys, threading
from metahpo.surrogates import preload_torch_func
assert "torch._dynamo" not in sys.modules
preload_torch_func(); preload_torch_func()
threads = [t for t in threading.enumerate() if t.name == "metahpo-preload"]
print(len(threads))
for t in threads:
    t.join(timeout=120)
print("torch._dynamo" in sys.modules)
"""


def test_preload_starts_one_import_that_completes() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=180)
    started, imported = out.stdout.split()
    assert started == "1"
    assert imported == "True"
