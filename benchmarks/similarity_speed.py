"""Seconds to open every bundled knowledge directory and to compute the task similarity
matrix of a preset's space over all of them (the work of ``metahpo kb map --bundled`` and
``kb clusters``), with a checksum of the matrix so that runs of two versions can be
compared for equal numbers.

    PYTHONPATH=src python benchmarks/similarity_speed.py --space-of hgb-regressor --space-of hgb-classifier
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import metahpo as mh
from metahpo.knowledge import KnowledgeBase, bundled_names, similarity_matrix


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space-of", action="append", default=None, help="A preset (repeat).")
    args = parser.parse_args()
    start = time.perf_counter()
    kb = KnowledgeBase.open([f"bundled:{name}" for name in bundled_names()])
    print(f"opened {len(bundled_names())} bundles, {len(kb)} tasks: {time.perf_counter() - start:.2f} s")
    for preset in args.space_of or ["hgb-regressor"]:
        tasks = kb.tasks(mh.presets.get(preset).space)
        start = time.perf_counter()
        matrix = similarity_matrix(tasks)
        seconds = time.perf_counter() - start
        print(f"{preset}: {len(tasks)} related tasks, similarity matrix {seconds:.2f} s, "
              f"checksum {np.round(matrix, 12).sum():.10f}")


if __name__ == "__main__":
    main()
