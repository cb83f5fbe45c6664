"""metahpo spaces as ConfigSpace spaces (for SMAC3) and back; flat peer configs made conditional."""

from __future__ import annotations

from typing import Any

from metahpo.space import Categorical, Config, Float, Int, Space

__all__ = ["active_config", "from_configspace", "to_configspace"]


def to_configspace(space: Space, seed: int) -> Any:
    """A ``ConfigurationSpace`` with the same bounds and log scales.

    Categorical choices become the strings ``"0"``, ``"1"``, ... (their indices), so
    choices of any JSON type survive the round trip.
    """
    from ConfigSpace import (
        CategoricalHyperparameter,
        ConfigurationSpace,
        UniformFloatHyperparameter,
        UniformIntegerHyperparameter,
    )

    cs = ConfigurationSpace(seed=seed)
    for name, param in space.items():
        if isinstance(param, Float):
            cs.add(UniformFloatHyperparameter(name, param.low, param.high, log=param.log))
        elif isinstance(param, Int):
            cs.add(UniformIntegerHyperparameter(name, param.low, param.high, log=param.log))
        elif isinstance(param, Categorical):
            cs.add(CategoricalHyperparameter(name, [str(i) for i in range(len(param.choices))]))
    return cs


def from_configspace(space: Space, values: Any) -> Config:
    """A metahpo config from a ConfigSpace configuration (or its dict), clipped into range."""
    data = dict(values)
    config: Config = {}
    for name, param in space.items():
        value = data[name]
        if isinstance(param, Categorical):
            config[name] = param.choices[int(value)]
        elif isinstance(param, Int):
            config[name] = int(min(max(round(float(value)), param.low), param.high))
        else:
            config[name] = float(min(max(float(value), param.low), param.high))
    return active_config(space, config)


def active_config(space: Space, values: Any) -> Config:
    """``values`` restricted to the parameters active under them.

    The peers' spaces are flat (no conditions), so they propose a value for every
    parameter; a conditional space's config holds only its active ones.
    """
    data = dict(values)
    return {name: data[name] for name in space.active_names(data)}
