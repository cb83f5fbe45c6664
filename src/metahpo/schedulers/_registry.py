"""Schedulers by name, for stored studies and the command line."""

from __future__ import annotations

import importlib
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.schedulers._base import Scheduler

_REGISTRY: dict[str, str] = {
    "full": "metahpo.schedulers._base:FullBudget",
    "successive_halving": "metahpo.schedulers._hyperband:SuccessiveHalving",
    "hyperband": "metahpo.schedulers._hyperband:Hyperband",
    "asha": "metahpo.schedulers._asha:ASHA",
}


def scheduler_names() -> list[str]:
    return sorted(_REGISTRY)


def make_scheduler(spec: Any) -> Scheduler:
    """A scheduler from ``None`` (full budget), a name, a stored dict or an instance."""
    if spec is None:
        spec = "full"
    if isinstance(spec, Scheduler):
        return spec
    name, params = (spec, {}) if isinstance(spec, str) else (None, {})
    if isinstance(spec, dict) and "name" in spec:
        name, params = spec["name"], spec.get("params", {})
    if name not in _REGISTRY:
        raise InvalidParameterError(
            f"The 'scheduler' parameter must be one of {scheduler_names()} or a Scheduler instance. "
            f"Got {describe(spec)} instead."
        )
    module, cls = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)(**params)


def scheduler_spec(scheduler: Scheduler) -> dict[str, Any]:
    return {"name": scheduler.name, "params": scheduler.get_params()}
