"""Benchmark problems, meta-dataset builder, peer runners and reports."""

from metahpo.benchmarks._problem import Problem

__all__ = ["Problem"]
