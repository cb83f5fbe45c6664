"""5-way 1-shot and 5-shot classification on scikit-learn digits: MAML vs non-meta baselines.

python benchmarks/maml_fewshot.py --out benchmarks/results/maml_fewshot
"""

from __future__ import annotations

import sys

from metahpo_bench.fewshot import main

if __name__ == "__main__":
    sys.exit(main())
