"""Optimizers by name: the names ``create_study(optimizer=...)`` and the CLI accept."""

from __future__ import annotations

import importlib
import inspect
import logging
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.optimizers._base import Optimizer

logger = logging.getLogger(__name__)

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


def optimizer_names() -> list[str]:
    return [*sorted(_REGISTRY), "auto"]


def optimizer_class_name(name: str) -> str:
    """The class an optimizer's name stands for, without importing it (``"metabo"`` ->
    ``"MetaBO"``); a name not registered is returned as it is (``"-"`` for none)."""
    target = _REGISTRY.get(name)
    return target.split(":")[-1] if target else (name or "-")


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


def check_optimizer(spec: Any) -> None:
    """Refuse what :func:`make_optimizer` cannot build, without building (or importing) an
    optimizer: a name not registered, a class, anything but a name, a stored spec or an
    instance. ``"auto"`` passes: the optimizer it stands for is chosen later."""
    if isinstance(spec, type):
        # A class has the methods a runtime protocol check looks for, so it would pass as
        # an instance and fail later, calling get_params() without one.
        raise InvalidParameterError(
            f"The 'optimizer' parameter must be one of {optimizer_names()} or an Optimizer instance. "
            f"Got the class {spec.__name__} instead; pass an instance, {spec.__name__}()."
        )
    if isinstance(spec, str):
        if spec != "auto" and spec not in _REGISTRY:
            optimizer_class(spec)  # refuses it
    elif isinstance(spec, dict) and "name" in spec:
        if spec["name"] not in _REGISTRY:
            optimizer_class(spec["name"])
    elif not isinstance(spec, Optimizer):
        raise InvalidParameterError(
            f"The 'optimizer' parameter must be one of {optimizer_names()} or an Optimizer instance. "
            f"Got {describe(spec)} instead."
        )


def make_optimizer(spec: Any, knowledge: Any = None) -> Optimizer:
    """An optimizer from a name, a stored ``{"name", "params", "state"}`` dict or an instance.

    ``knowledge`` (a resolved :class:`~metahpo.knowledge.KnowledgeBase`) is handed to the
    optimizers that take one, in place of the spec a stored dict holds.
    """
    check_optimizer(spec)
    if isinstance(spec, Optimizer):
        return spec
    if isinstance(spec, str):
        cls = optimizer_class(resolve_auto() if spec == "auto" else spec)
        return cls(**_with_knowledge(cls, {}, knowledge))
    cls = optimizer_class(spec["name"])  # a stored spec, the one thing left
    params = _known_params(cls, dict(spec.get("params", {})))
    optimizer = cls(**_with_knowledge(cls, params, knowledge))
    optimizer.load_state_dict(spec.get("state", {}))
    return optimizer


def optimizer_spec(optimizer: Optimizer) -> dict[str, Any]:
    """The JSON-able description a study stores to rebuild ``optimizer`` later."""
    return {
        "name": optimizer.name,
        "params": optimizer.get_params(),
        "state": optimizer.state_dict(),
    }


def takes_knowledge(cls: type) -> bool:
    """Whether the optimizer class learns from a knowledge base (has a ``knowledge`` parameter)."""
    return "knowledge" in inspect.signature(cls).parameters


def _known_params(cls: type, params: dict[str, Any]) -> dict[str, Any]:
    """The stored parameters ``cls`` still takes: a study stored by an earlier version may
    name options that have since been removed, and it opens without them."""
    accepted = inspect.signature(cls).parameters
    dropped = sorted(set(params) - set(accepted))
    if dropped:
        logger.warning("%s no longer takes %s; the stored study opens without them.", cls.__name__, dropped)
    return {k: v for k, v in params.items() if k in accepted}


def refuse_knowledge(cls: type, knowledge: Any) -> None:
    """Refuse ``knowledge`` (anything but ``None``) for an optimizer class that learns from none."""
    if knowledge is not None and not takes_knowledge(cls):
        raise InvalidParameterError(
            f"The optimizer {cls.__name__} does not learn from knowledge; use 'metabo', "
            f"'portfolio' or 'auto' with 'knowledge'. Got knowledge={knowledge!r}."
        )


def _with_knowledge(cls: type, params: dict[str, Any], knowledge: Any) -> dict[str, Any]:
    refuse_knowledge(cls, knowledge)
    if takes_knowledge(cls):
        params["knowledge"] = knowledge
    return params
