"""Benchmark problems, meta-dataset builder, peer runners and reports."""

from metahpo.benchmarks._problem import Problem
from metahpo.benchmarks._registry import get_problem, problem_names, register_problem

__all__ = ["Problem", "get_problem", "problem_names", "register_problem"]
