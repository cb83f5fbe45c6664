"""Run small dense linear algebra on one thread."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from threadpoolctl import threadpool_limits

__all__ = ["torch_threads"]


@contextmanager
def torch_threads(count: int = 1) -> Iterator[None]:
    """Limit torch's intra-op threads and the BLAS pools (numpy, scipy) for a block.

    A GP on a few hundred points is made of many small kernels; on a shared machine
    several threads per kernel cost more in synchronisation than they save. Measured on
    two busy cores: torch kernels about 8x slower with two threads, and scipy's
    L-BFGS-B step (``setulb``, which calls OpenBLAS) took 26 ms per iteration instead of
    microseconds. The previous settings are restored on exit.
    """
    previous = torch.get_num_threads()
    with threadpool_limits(limits=count):
        if previous == count:
            yield
            return
        torch.set_num_threads(count)
        try:
            yield
        finally:
            torch.set_num_threads(previous)
