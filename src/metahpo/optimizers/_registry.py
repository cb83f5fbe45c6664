"""Optimizers by name: the names ``create_study(optimizer=...)`` and the CLI accept."""

from __future__ import annotations

import importlib
import json
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.optimizers._base import Optimizer

# name -> "module:Class"; imported on first use so `import metahpo` stays light.
_REGISTRY: dict[str, str] = {
    "random": "metahpo.optimizers._random:RandomSearch",
    "sobol": "metahpo.optimizers._random:Sobol",
    "metabo": "metahpo.optimizers._metabo:MetaBO",
    "gpbo": "metahpo.optimizers._gp:GPBO",
    "portfolio": "metahpo.optimizers._portfolio:Portfolio",
}


def register_optimizer(name: str, target: str) -> None:
    """Make ``name`` resolve to ``"module:Class"`` in :func:`make_optimizer`."""
    _REGISTRY[name] = target


def parse_optimizer_name(text: str) -> tuple[str, dict[str, Any]]:
    """``"metabo[inner_steps=0;n_warm_start=0]"`` -> ``("metabo", {"inner_steps": 0, ...})``.

    Values are JSON (``true``, ``null``, numbers, quoted strings) or bare strings; this is
    how benchmark command lines name ablations.
    """
    if not text.endswith("]") or "[" not in text:
        return text, {}
    name, _, inner = text[:-1].partition("[")
    params: dict[str, Any] = {}
    for item in filter(None, inner.split(";")):
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise InvalidParameterError(
                f"The 'optimizer' parameter must look like 'name[key=value;...]'. Got {text!r} instead."
            )
        try:
            params[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            params[key.strip()] = raw
    return name, params


def optimizer_names() -> list[str]:
    return [*sorted(_REGISTRY), "auto"]


def optimizer_class(name: str) -> type:
    if name not in _REGISTRY:
        raise InvalidParameterError(
            f"The 'optimizer' parameter must be one of {optimizer_names()} or an Optimizer instance. "
            f"Got {describe(name)} instead."
        )
    module, cls = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)


def resolve_auto() -> str:
    """The optimizer "auto" stands for when no knowledge applies: GP-BO once it exists."""
    return "gpbo" if "gpbo" in _REGISTRY else "sobol"


def make_optimizer(spec: Any) -> Optimizer:
    """An optimizer from a name, a stored ``{"name", "params", "state"}`` dict or an instance."""
    if isinstance(spec, Optimizer):
        return spec
    if isinstance(spec, str):
        name, params = parse_optimizer_name(spec)
        name = resolve_auto() if name == "auto" else name
        cls = optimizer_class(name)
        try:
            return cls(**params)
        except TypeError as exc:
            raise InvalidParameterError(
                f"The 'optimizer' parameter {spec!r} sets parameters {cls.__name__} does not take: {exc}"
            ) from exc
    if isinstance(spec, dict) and "name" in spec:
        optimizer = optimizer_class(spec["name"])(**spec.get("params", {}))
        optimizer.load_state_dict(spec.get("state", {}))
        return optimizer
    raise InvalidParameterError(
        f"The 'optimizer' parameter must be one of {optimizer_names()} or an Optimizer instance. "
        f"Got {describe(spec)} instead."
    )


def optimizer_spec(optimizer: Optimizer) -> dict[str, Any]:
    """The JSON-able description a study stores to rebuild ``optimizer`` later."""
    return {
        "name": optimizer.name,
        "params": optimizer.get_params(),
        "state": optimizer.state_dict(),
    }
