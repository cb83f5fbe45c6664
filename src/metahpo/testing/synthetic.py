"""Synthetic test functions with known optima, for tests, docstrings and benchmarks.

Single functions (:class:`Branin`, :class:`Hartmann6`, :class:`Rosenbrock`), a budgeted
one (:class:`MultiFidelityBranin`) and families of related tasks (:class:`ShiftedBranin`,
:class:`ShiftedHartmann6`, :class:`QuadraticFamily`). Every one is a :class:`Problem`:
``evaluate(task, config, budget)`` gives the loss, ``optimum(task)`` the known minimum.

Example:
    >>> from metahpo.testing.synthetic import Branin
    >>> problem = Branin()
    >>> loss = problem.evaluate("0", problem.argmin("0"))
    >>> abs(loss - problem.global_minimum) < 1e-12
    True
"""

from metahpo.testing._problem import Problem
from metahpo.testing._synthetic import (
    Branin,
    Hartmann6,
    MultiFidelityBranin,
    Rosenbrock,
    SyntheticProblem,
    branin,
    hartmann6,
    rosenbrock,
)
from metahpo.testing._synthetic_families import (
    QuadraticCoefficients,
    QuadraticFamily,
    ShiftedBranin,
    ShiftedHartmann6,
    TaskTransform,
)

__all__ = [
    "Branin",
    "Hartmann6",
    "MultiFidelityBranin",
    "Problem",
    "QuadraticCoefficients",
    "QuadraticFamily",
    "Rosenbrock",
    "ShiftedBranin",
    "ShiftedHartmann6",
    "SyntheticProblem",
    "TaskTransform",
    "branin",
    "hartmann6",
    "rosenbrock",
]
