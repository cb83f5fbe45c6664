"""Benchmark optimizer names with parameters: ``"metabo[inner_steps=0;n_warm_start=0]"``."""

from __future__ import annotations

import json
from typing import Any

from metahpo.exceptions import InvalidParameterError

__all__ = ["parse_optimizer_name"]


def parse_optimizer_name(text: str) -> tuple[str, dict[str, Any]]:
    """``"metabo[inner_steps=0;n_warm_start=0]"`` -> ``("metabo", {"inner_steps": 0, ...})``.

    Values are JSON (``true``, ``null``, numbers, quoted strings) or bare strings; this is
    how benchmark command lines name ablations (an optimizer with some parameters set).
    """
    if not text.endswith("]") or "[" not in text:
        return text, {}
    name, _, inner = text[:-1].partition("[")
    params: dict[str, Any] = {}
    for item in filter(None, inner.split(";")):
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InvalidParameterError(
                f"The 'optimizers' option must name ablations as 'name[key=value;...]'. Got {text!r} instead."
            )
        try:
            params[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            params[key.strip()] = raw
    return name, params
