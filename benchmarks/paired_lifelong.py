"""Paired per-study difference of one lifelong way's best validation loss between two runs.

    python paired_lifelong.py OLD/runs.jsonl NEW/runs.jsonl metabo-empty

Each line of a ``runs.jsonl`` holds, per study, the best loss after each trial; the
difference (new minus old) is taken per study on the same dataset and pooled over the
orderings both files hold.
"""

from __future__ import annotations

import json
import sys

import numpy as np
from scipy.stats import wilcoxon


def _curves(path: str) -> dict[str, list[list[float]]]:
    with open(path) as lines:
        return {row["key"]: row["curves"] for row in map(json.loads, lines)}


def main(old_path: str, new_path: str, way: str) -> None:
    old, new = _curves(old_path), _curves(new_path)
    keys = sorted(k for k in new if f"|{way}|" in k and k in old)
    presets = sorted({k.split("|")[0] for k in keys})
    print("| preset | studies | n | new - old (mean ± s.e.) | better / worse | Wilcoxon p |")
    print("|---|---|---:|---|---|---:|")
    for preset in presets:
        for first, label in ((0, "all"), (9, "10+")):
            for trials in (5, 10, 20):
                diffs = np.concatenate([
                    np.asarray(new[k])[first:, trials - 1] - np.asarray(old[k])[first:, trials - 1]
                    for k in keys if k.startswith(preset + "|")
                ])
                nonzero = diffs[diffs != 0]
                p = wilcoxon(nonzero).pvalue if len(nonzero) > 1 else float("nan")
                se = diffs.std(ddof=1) / np.sqrt(len(diffs))
                print(f"| {preset} | {label} ({len(diffs)}) | {trials} | {diffs.mean():+.4f} ± {se:.4f} | "
                      f"{int((diffs < 0).sum())} / {int((diffs > 0).sum())} | {p:.2f} |")


if __name__ == "__main__":
    main(*sys.argv[1:4])
