"""The lifelong ways that use a preset's bundle, with its portfolio rule against before it.

Pairs each preset's ``metabo+bundle`` and ``bundle-alone`` runs of ``lifelong/runs.jsonl``
(the rule) with the same studies of an earlier directory (the nearest task's cluster) on
dataset, ordering and k: the best loss after n trials, rule minus cluster (negative:
better with the rule). Then the targets' medians of regret after 10 trials with one zero
for both, the best loss any run of either directory found on the dataset, so that the
ratios before and after are measured on the same scale. Run from the repository root:

    .venv/bin/python benchmarks/results/portfolio_rules/compare.py

``--new DIR/runs.jsonl --old OTHER/runs.jsonl --labels NEW,OLD`` pairs two other runs of
the same studies (``--old`` then serves every preset); a way whose runs are the same in
both is left out.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from scipy.stats import wilcoxon

NEW = "benchmarks/results/portfolio_rules/lifelong/runs.jsonl"
OLD = {
    "lightgbm-classifier": "benchmarks/results/lifelong_boosting/report/runs.jsonl",
    "xgboost-classifier": "benchmarks/results/lifelong_boosting/report/runs.jsonl",
    "random-forest-classifier": "benchmarks/results/lifelong_rf_current/runs.jsonl",
}
CHANGED = ("metabo+bundle", "bundle-alone")
WAYS = ("metabo+bundle", "bundle-alone", "metabo-empty", "gpbo", "optuna")


def curves(path: str) -> dict[str, np.ndarray]:
    with open(path) as lines:
        return {row["key"]: np.array(row["curves"]) for row in map(json.loads, lines)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new", default=NEW)
    parser.add_argument("--old", default=None)
    parser.add_argument("--labels", default="rule,cluster", help="names of the new and old runs")
    args = parser.parse_args()
    label, old_label = args.labels.split(",")
    new = curves(args.new)
    olds = OLD if args.old is None else dict.fromkeys(OLD, args.old)
    print(f"| preset | way | n | {label} − {old_label} (mean ± s.e.) | better / worse | Wilcoxon p |")
    print("|---|---|---:|---|---|---:|")
    medians = []
    for preset, old_path in olds.items():
        old = curves(old_path)
        keys = {way: [f"{preset}|{o}|{way}|20|20" for o in range(3)] for way in WAYS}
        if not all(k in new for k in keys["metabo+bundle"]):
            continue
        ways = {way: np.concatenate([new[k] for k in keys[way]]) for way in WAYS}
        before = {way: np.concatenate([old[k] for k in keys[way]]) for way in CHANGED}
        for way in CHANGED:
            if np.array_equal(ways[way], before[way]):
                continue
            for n in (3, 5, 10, 20):
                d = ways[way][:, n - 1] - before[way][:, n - 1]
                moved = d[np.abs(d) > 1e-12]
                p = wilcoxon(moved).pvalue if len(moved) else float("nan")
                se = d.std(ddof=1) / np.sqrt(len(d))
                print(f"| {preset} | {way} | {n} | {d.mean():+.4f} ± {se:.4f} | "
                      f"{int((d < -1e-12).sum())} / {int((d > 1e-12).sum())} | {p:.3g} |")
        runs = {**ways, **{f"{way} ({old_label})": before[way] for way in CHANGED}}
        zero = np.min([r.min(axis=1) for r in runs.values()], axis=0)
        at10 = {name: float(np.median(r[:, 9] - zero)) for name, r in runs.items()}
        medians.append((preset, at10))
    print()
    if any(preset == "random-forest-classifier" for preset, _ in medians) and args.old is None:
        print("The random forest's rows measure its screened rule (the 5 nearest tasks), which its")
        print("bundle does not ship. ", end="")
    print("Median regret after 10 trials, one zero for both directories:")
    print()
    both = f"{label} ({old_label})"
    print(f"| preset | with the bundle, {both} | bundle alone, {both} | GP-BO | Optuna | "
          f"with the bundle ÷ GP-BO, {both} | ÷ Optuna, {both} |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for preset, m in medians:
        a, b = m["metabo+bundle"], m[f"metabo+bundle ({old_label})"]
        print(f"| {preset} | {a:.4f} ({b:.4f}) | {m['bundle-alone']:.4f} ({m[f'bundle-alone ({old_label})']:.4f}) | "
              f"{m['gpbo']:.4f} | {m['optuna']:.4f} | {a / m['gpbo']:.2f} ({b / m['gpbo']:.2f}) | "
              f"{a / m['optuna']:.2f} ({b / m['optuna']:.2f}) |")


if __name__ == "__main__":
    main()
