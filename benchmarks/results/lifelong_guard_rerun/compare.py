"""MetaBO's two lifelong ways on the current code against the same studies before the
guard change (``../lifelong_rerun/``), paired on dataset, ordering and k: the best loss
after n trials, new minus old (negative: better now). Run from the repository root:

    .venv/bin/python benchmarks/results/lifelong_guard_rerun/compare.py
"""

from __future__ import annotations

import json

import numpy as np
from scipy.stats import wilcoxon

NEW = "benchmarks/results/lifelong_guard_rerun/report/runs.jsonl"
OLD = "benchmarks/results/lifelong_rerun/report/runs.jsonl"
PRESETS = ("hgb-classifier", "random-forest-classifier", "logistic-regression")
WAYS = ("metabo+bundle", "metabo-empty")


def curves(path: str) -> dict[str, np.ndarray]:
    with open(path) as lines:
        return {row["key"]: np.array(row["curves"]) for row in map(json.loads, lines)}


def main() -> None:
    new, old = curves(NEW), curves(OLD)
    print("| preset | way | n | new − old (mean ± s.e.) | better / worse | Wilcoxon p |")
    print("|---|---|---:|---|---|---:|")
    for preset in PRESETS:
        for way in WAYS:
            keys = [f"{preset}|{o}|{way}|20|20" for o in range(3)]
            a = np.concatenate([new[k] for k in keys])  # (studies, trials) best-so-far losses
            b = np.concatenate([old[k] for k in keys])
            for n in (5, 10, 20):
                d = a[:, n - 1] - b[:, n - 1]
                moved = d[np.abs(d) > 1e-12]
                p = wilcoxon(moved).pvalue if len(moved) else float("nan")
                se = d.std(ddof=1) / np.sqrt(len(d))
                print(f"| {preset} | {way} | {n} | {d.mean():+.4f} ± {se:.4f} | "
                      f"{int((d < -1e-12).sum())} / {int((d > 1e-12).sum())} | {p:.3g} |")


if __name__ == "__main__":
    main()
