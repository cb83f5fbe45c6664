"""Helpers of the optimizer conformance checks: the space, histories, mini-studies, JSON."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from metahpo.history import History
from metahpo.optimizers import Optimizer, make_optimizer, optimizer_names
from metahpo.space import Categorical, Config, Float, Int, Space
from metahpo.testing._helpers import _check, json_round_trip
from metahpo.trial import FrozenTrial, TrialState

__all__ = [
    "OptimizerFactory",
    "conformance_loss",
    "conformance_space",
    "history",
    "json_round_trip",
    "observed_trials",
    "rebuild",
    "run_study",
    "trial",
]

OptimizerFactory = Callable[[], Optimizer]


def conformance_space() -> Space:
    """The space most checks search: log and linear floats and ints, mixed categorical choices.

    Build a factory's knowledge on this space (with :func:`conformance_loss`) so that an
    optimizer that learns from related tasks uses what it learned in the checks.
    """
    return Space(
        {
            "lr": Float(1e-4, 1.0, log=True),
            "x": Float(-2.0, 3.0),
            "units": Int(1, 64, log=True),
            "depth": Int(0, 4),
            "act": Categorical(["relu", "tanh", 3, True, None]),
        }
    )


def conformance_loss(config: Mapping[str, Any], shift: float = 0.0) -> float:
    """A cheap loss on :func:`conformance_space`; ``shift`` moves its optimum (a related task)."""
    return float(
        (math.log10(config["lr"]) + 2.0 + shift) ** 2
        + (config["x"] - 0.5 - shift) ** 2
        + abs(math.log2(config["units"]) - 3.0 - shift) / 3.0
        + 0.1 * config["depth"]
        + (0.0 if config["act"] == "tanh" else 0.5)
    )


def trial(
    number: int,
    config: Mapping[str, Any],
    state: TrialState = TrialState.COMPLETE,
    value: float | None = None,
    **fields: Any,
) -> FrozenTrial:
    """A trial record; a COMPLETE or PRUNED one without ``value`` gets its loss."""
    if value is None and state in (TrialState.COMPLETE, TrialState.PRUNED) and config:
        value = conformance_loss(config)
    return FrozenTrial(number=number, state=state, config=dict(config), value=value, **fields)


def observed_trials(count: int = 8, seed: int = 123) -> list[FrozenTrial]:
    """``count`` COMPLETE trials of random configs, the same for every optimizer."""
    configs = conformance_space().sample(np.random.default_rng(seed), count)
    return [trial(i, c) for i, c in enumerate(configs)]


def history(
    trials: Sequence[FrozenTrial] = (),
    seed: int = 0,
    descriptor: Mapping[str, Any] | None = None,
    space: Space | None = None,
    **fields: Any,
) -> History:
    return History(
        space or conformance_space(), tuple(trials), seed=seed, descriptor=None if descriptor is None else dict(descriptor), **fields
    )


def run_study(
    optimizer: Optimizer,
    n_trials: int,
    seed: int,
    descriptor: Mapping[str, Any] | None = None,
) -> list[Config]:
    """Ask ``optimizer`` for one config at a time, as a study does; the configs it chose."""
    trials: list[FrozenTrial] = []
    for number in range(n_trials):
        config = optimizer.suggest(history(trials, seed, descriptor), 1)[0]
        trials.append(trial(number, config))
    return [dict(t.config) for t in trials]


def rebuild(spec: dict[str, Any], like: Optimizer) -> Optimizer:
    """The optimizer a stored spec describes: by its registered name, else by ``like``'s class.

    Knowledge built in memory has no spec; it is handed over again, as ``load_study`` does.
    """
    if spec["name"] in optimizer_names():
        return make_optimizer(spec, knowledge=getattr(like, "knowledge", None))
    optimizer = type(like)(**spec["params"])
    optimizer.load_state_dict(spec["state"])
    return optimizer


def unit_distance(space: Space, a: Config, b: Config) -> float:
    """The largest coordinate difference of two configs in the unit cube."""
    rows = space.to_unit([a, b])
    return float(np.max(np.abs(rows[0] - rows[1])))


def check_configs(space: Space, configs: Any, n: int, what: str) -> None:
    """``configs`` is a list of ``n`` plain dicts, each a valid, JSON-able config of ``space``."""
    _check(isinstance(configs, list), f"{what}: suggest must return a list, got {type(configs).__name__}")
    _check(len(configs) == n, f"{what}: suggest(history, n={n}) returned {len(configs)} configs")
    for config in configs:
        _check(isinstance(config, dict), f"{what}: a config must be a dict, got {config!r}")
        _check(space.contains(config), f"{what}: {config!r} is not a config of the space {space.to_dict()}")
        _check(space.validate(config) == config, f"{what}: {config!r} holds values of the wrong type")
        _check(json_round_trip(config, f"{what}: a config") == config,
               f"{what}: {config!r} changes through JSON")
