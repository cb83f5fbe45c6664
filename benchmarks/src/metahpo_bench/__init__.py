"""metahpo's benchmark harness (the metahpo-bench distribution): problems, the meta-dataset
builder, peer runners, reports and the MAML demos. Command line: ``metahpo-bench``.

The synthetic test functions live in :mod:`metahpo.testing.synthetic`; their base class
:class:`Problem` is the base of every problem here.
"""

from metahpo.testing.synthetic import Problem
from metahpo_bench._registry import get_problem, problem_names, register_problem

__all__ = ["Problem", "get_problem", "problem_names", "register_problem"]
