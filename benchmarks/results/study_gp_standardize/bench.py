"""The benchmark runner with a patch module of this folder applied first:
``bench.py PATCH run ...`` (``none`` for no patch)."""

import importlib
import os
import sys

patch = sys.argv.pop(1)
if patch != "none":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    importlib.import_module(patch)
sys.argv[0] = "metahpo-bench"
from metahpo_bench.cli import main  # noqa: E402

sys.exit(main())
