"""Benchmark problems, meta-dataset builder, peer runners and reports."""

from metahpo.testing.synthetic import Problem
from metahpo_bench._registry import get_problem, problem_names, register_problem

__all__ = ["Problem", "get_problem", "problem_names", "register_problem"]
