"""Benchmark problems by name: ``get_problem("branin")``, ``get_problem("lcbench")``.

The names are the ones the benchmark command line accepts. Problems are imported
on first use, so naming a surrogate benchmark never loads ``onnxruntime`` until asked.
"""

from __future__ import annotations

import importlib
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.testing.synthetic import Problem

# name -> "module:Class" (or factory); keyword arguments of get_problem go to it.
_REGISTRY: dict[str, str] = {
    "branin": "metahpo.testing.synthetic:Branin",
    "hartmann6": "metahpo.testing.synthetic:Hartmann6",
    "rosenbrock": "metahpo.testing.synthetic:Rosenbrock",
    "shifted_branin": "metahpo.testing.synthetic:ShiftedBranin",
    "shifted_hartmann6": "metahpo.testing.synthetic:ShiftedHartmann6",
    "quadratic": "metahpo.testing.synthetic:QuadraticFamily",
    "mf_branin": "metahpo.testing.synthetic:MultiFidelityBranin",
    "lcbench": "metahpo_bench.yahpo:LCBench",
    "rbv2_xgboost": "metahpo_bench.yahpo:RBv2XGBoost",
    "lcbench-pool": "metahpo_bench.pool:LCBenchPool",
    "rbv2_xgboost-pool": "metahpo_bench.pool:RBv2XGBoostPool",
    "keel-hgb-pool": "metahpo_bench.pool:KeelHGBPool",
    "keel-hgb": "metahpo_bench.training:KeelHGB",
    "keel-mlp": "metahpo_bench.training:KeelMLP",
    "sklearn-hgb": "metahpo_bench.training:SklearnHGB",
    "sklearn-mlp": "metahpo_bench.training:SklearnMLP",
}
# The presets of metahpo.presets, trained through the preset's own code: "preset:NAME".
for _preset in (
    "hgb-classifier",
    "hgb-regressor",
    "random-forest-classifier",
    "logistic-regression",
    "xgboost-classifier",
    "lightgbm-classifier",
    "mlp-classifier",
):
    _REGISTRY[f"preset:{_preset}"] = (
        f"metahpo_bench._training_presets:preset_{_preset.replace('-', '_')}"
    )


def register_problem(name: str, target: str) -> None:
    """Make ``name`` resolve to ``"module:Class"`` in :func:`get_problem`."""
    _REGISTRY[name] = target


def problem_names() -> list[str]:
    """The names :func:`get_problem` accepts."""
    return sorted(_REGISTRY)


def get_problem(name: str, **kwargs: Any) -> Problem:
    """The benchmark problem registered as ``name``, built with ``kwargs``.

    Example:
        >>> from metahpo_bench import get_problem
        >>> problem = get_problem("rosenbrock", dim=3)
        >>> problem.evaluate("0", {"x0": 1.0, "x1": 1.0, "x2": 1.0})
        0.0
    """
    if not isinstance(name, str) or name not in _REGISTRY:
        raise InvalidParameterError(
            f"The 'name' parameter of get_problem must be one of {problem_names()}. "
            f"Got {describe(name)} instead."
        )
    module, attribute = _REGISTRY[name].split(":")
    factory = getattr(importlib.import_module(module), attribute)
    try:
        problem = factory(**kwargs)
    except TypeError as exc:
        raise InvalidParameterError(f"Bad keyword arguments for problem {name!r}: {exc}") from exc
    if not isinstance(problem, Problem):
        raise TypeError(
            f"The problem factory {_REGISTRY[name]!r} returned {describe(problem)}, not a Problem."
        )
    return problem
