"""Schedulers by name, for stored studies and the command line."""

from __future__ import annotations

import importlib
import inspect
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


def rebuilt_by_name(scheduler: Scheduler) -> bool:
    """Whether ``scheduler`` is exactly the built-in class its name stands for, so that its
    stored spec rebuilds it in another process (a subclass keeps the name, not the class)."""
    target = _REGISTRY.get(getattr(scheduler, "name", None) or "")
    return target is not None and f"{type(scheduler).__module__}:{type(scheduler).__qualname__}" == target


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
    module, cls_name = _REGISTRY[name].split(":")
    cls = getattr(importlib.import_module(module), cls_name)
    try:
        inspect.signature(cls).bind(**params)
    except TypeError as exc:
        # A name alone cannot build a scheduler that needs budgets ("hyperband"): say so
        # rather than let the constructor's TypeError out.
        raise InvalidParameterError(
            f"The 'scheduler' parameter {describe(spec)} cannot build a {cls_name} ({exc}). "
            f"Pass an instance with its budgets, such as mh.{cls_name}(min_budget=1, max_budget=81), instead."
        ) from exc
    return cls(**params)


def scheduler_spec(scheduler: Scheduler) -> dict[str, Any]:
    return {"name": scheduler.name, "params": scheduler.get_params()}
