"""Run small dense linear algebra on one thread."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["torch_threads"]


@contextmanager
def torch_threads(count: int = 1) -> Iterator[None]:
    """Set torch's intra-op thread count for a block, then restore it.

    A GP on a few hundred points is made of many small kernels; on a shared machine
    several threads per kernel cost more in synchronisation than they save (an order
    of magnitude slower measured on two busy cores), so suggestions run on one.
    """
    previous = torch.get_num_threads()
    if previous == count:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
