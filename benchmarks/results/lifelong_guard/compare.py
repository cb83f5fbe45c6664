"""Paired regret of MetaBO's lifelong ways after and before the guard change, for one
preset (ordering 0). Run from the repository root:

    .venv/bin/python benchmarks/results/lifelong_guard/compare.py hgb-classifier
"""

from __future__ import annotations

import json
import sys

import numpy as np
from scipy.stats import wilcoxon

HERE = "benchmarks/results/lifelong_guard"
OLD_RUN = "benchmarks/results/lifelong_rerun/report/runs.jsonl"


def load(path: str, preset: str) -> dict[str, np.ndarray]:
    """Each way's best-so-far loss curves (studies × trials) of ``preset``'s ordering 0."""
    with open(path) as lines:
        rows = [json.loads(line) for line in lines]
    return {r["key"].split("|")[2]: np.array(r["curves"]) for r in rows if r["key"].startswith(preset + "|0|")}


def main() -> None:
    preset = sys.argv[1]
    new, start = load(f"{HERE}/after/runs_{preset}.jsonl", preset), load(f"{HERE}/before/runs_{preset}.jsonl", preset)
    old = load(OLD_RUN, preset)
    curves = [*new.values(), *(c for w, c in start.items() if w.startswith("metabo")),
              *(c for w, c in old.items() if w.startswith("metabo"))]
    best = np.min([c.min(axis=1) for c in curves], axis=0)
    for way in ("metabo+bundle", "metabo-empty"):
        for n in (5, 10, 20):
            after, before, earlier = (runs[way][:, n - 1] - best for runs in (new, start, old))
            diff = after - before
            differ = diff[np.abs(diff) > 1e-12]
            p = wilcoxon(differ).pvalue if len(differ) > 1 else float("nan")
            print(f"{way:14s} n={n:2d} median new {np.median(after):.4f} start {np.median(before):.4f} "
                  f"old-run {np.median(earlier):.4f} | new-start {diff.mean():+.4f} ± "
                  f"{diff.std(ddof=1) / np.sqrt(len(diff)):.4f}, better {int((diff < -1e-12).sum())} "
                  f"worse {int((diff > 1e-12).sum())}, p={p:.2g}")
    print("gpbo median n=10", round(float(np.median(new["gpbo"][:, 9] - best)), 4))


if __name__ == "__main__":
    main()
