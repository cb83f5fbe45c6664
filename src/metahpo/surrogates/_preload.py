"""Import torch.func's lazy machinery in the background, while the objective runs."""

from __future__ import annotations

import importlib
import threading

__all__ = ["preload_torch_func"]

_started = threading.Event()


def preload_torch_func() -> None:
    """Start importing what the first ``torch.func.grad`` call imports, once per process.

    ``torch.func.grad`` imports ``torch._dynamo`` on its first call (about 1 s on a busy
    core). MetaBO calls this during its warm start, so the import runs while the
    portfolio's configs are evaluated instead of inside the first surrogate suggestion.
    Python's import lock makes a caller that needs the module first wait for this
    thread, never import it twice.
    """
    if _started.is_set():
        return
    _started.set()
    threading.Thread(
        target=importlib.import_module, args=("torch._dynamo",), name="metahpo-preload", daemon=True
    ).start()
