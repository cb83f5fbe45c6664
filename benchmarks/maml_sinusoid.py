"""MAML's sinusoid regression benchmark; the same program as ``metahpo-bench maml-sinusoid``.

python benchmarks/maml_sinusoid.py --out benchmarks/results/maml_sinusoid
python benchmarks/maml_sinusoid.py --quick --out /tmp/maml_quick
"""

from __future__ import annotations

import sys

from metahpo_bench.maml_sinusoid import main

if __name__ == "__main__":
    sys.exit(main())
