"""MetaBO's lifelong ways with the six-split guard (this folder's runs.jsonl) against the
two-split runs on the same studies (ordering 0 of ../../lifelong_guard_rerun/), paired:
best loss after n trials, six − two. Run from the repository root:

    .venv/bin/python benchmarks/results/guard_noise/lifelong_ordering0/compare.py
"""

from __future__ import annotations

import json

import numpy as np
from scipy.stats import wilcoxon

HERE = "benchmarks/results/guard_noise/lifelong_ordering0"
TWO = "benchmarks/results/lifelong_guard_rerun/report/runs.jsonl"


def load(path: str) -> dict[str, np.ndarray]:
    with open(path) as lines:
        return {row["key"]: np.array(row["curves"]) for row in map(json.loads, lines)}


def main() -> None:
    six, two = load(f"{HERE}/runs.jsonl"), load(TWO)
    print("| preset | way | n | six − two splits (mean ± s.e.) | better / worse | Wilcoxon p |")
    print("|---|---|---:|---|---|---:|")
    for key in sorted(six):
        preset, _, way, _, _ = key.split("|")
        for n in (5, 10, 20):
            d = six[key][:, n - 1] - two[key][:, n - 1]
            moved = d[np.abs(d) > 1e-12]
            p = wilcoxon(moved).pvalue if len(moved) else float("nan")
            print(f"| {preset} | {way} | {n} | {d.mean():+.4f} ± {d.std(ddof=1) / np.sqrt(len(d)):.4f} | "
                  f"{int((d < -1e-12).sum())} / {int((d > 1e-12).sum())} | {p:.3g} |")


if __name__ == "__main__":
    main()
