"""The MLP preset's layers, with their random draws from a generator of their own.

Imported on first training only: importing torch costs seconds.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["Dropout", "linear"]


def linear(fan_in: int, fan_out: int, generator: torch.Generator) -> nn.Linear:
    """``nn.Linear`` with its own initialisation, drawn from ``generator``."""
    # Made on the meta device: nn.Linear's own initialisation would draw from the global generator.
    layer = nn.Linear(fan_in, fan_out, device="meta").to_empty(device="cpu")
    with torch.no_grad():
        nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
        bound = 1 / math.sqrt(fan_in)
        nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
    return layer


class Dropout(nn.Module):
    """``nn.Dropout`` with its masks drawn from ``generator`` (the same draws as
    ``nn.Dropout`` makes from the global generator in the same state)."""

    def __init__(self, p: float, generator: torch.Generator) -> None:
        super().__init__()
        self.p, self.generator = p, generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        keep = torch.empty_like(x).bernoulli_(1 - self.p, generator=self.generator)
        return x * keep.div_(1 - self.p)
