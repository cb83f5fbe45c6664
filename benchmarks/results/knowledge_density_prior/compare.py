"""Paired comparison of ``bundle-alone`` runs (``PRESET_NAME_ORDERING.json``, written by
``bundle_alone.py``) in a directory, this one unless named: a variant minus the current
code (``base``), per study, after 3, 5, 10 and 20 trials; the regret's zero is the best
loss any way found on the dataset (these runs and the lifelong benchmark's records).

    compare.py PRESET VARIANT [DIRECTORY]
"""

import json
import sys
from pathlib import Path

import numpy as np
from scipy.stats import wilcoxon

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parent / "portfolio_rules" / "lifelong" / "runs.jsonl"
WAYS = ("optuna", "gpbo", "bundle-alone", "metabo+bundle", "metabo-empty")


def main() -> None:
    preset, variant = sys.argv[1:3]
    folder = Path(sys.argv[3]) if len(sys.argv) > 3 else HERE
    records = {row["key"]: row["curves"] for row in map(json.loads, REFERENCE.read_text().splitlines())}
    base, changed, refs = [], [], {way: [] for way in WAYS}
    for ordering in range(3):
        b, v = (folder / f"{preset}_{name}_{ordering}.json" for name in ("base", variant))
        if not (b.exists() and v.exists()):
            continue
        base.append(np.array(json.loads(b.read_text())["curves"]))
        changed.append(np.array(json.loads(v.read_text())["curves"]))
        for way in WAYS:
            key = f"{preset}|{ordering}|{way}|20|20"
            refs[way].append(np.array(records[key]) if key in records else np.full_like(base[-1], np.nan))
    B, V = np.concatenate(base), np.concatenate(changed)
    R = {way: np.concatenate(rows) for way, rows in refs.items()}
    zero = np.nanmin(np.stack([B.min(1), V.min(1)] + [r.min(1) for r in R.values()]), axis=0)
    print(f"{preset}, {variant} - base, {len(B)} studies (median regrets; the lifelong "
          "benchmark's Optuna and GP-BO runs on the same datasets and seeds)\n")
    print("| trials | base | variant | variant - base (mean ± s.e.) | better / worse | Wilcoxon p | Optuna | GP-BO |")
    print("|---:|---:|---:|---|---|---:|---:|---:|")
    for n in (3, 5, 10, 20):
        rb, rv = B[:, n - 1] - zero, V[:, n - 1] - zero
        d = rv - rb
        p = wilcoxon(d[d != 0]).pvalue if np.any(d != 0) else 1.0
        peers = [np.median(R[way][:, n - 1] - zero) for way in ("optuna", "gpbo")]
        print(f"| {n} | {np.median(rb):.4f} | {np.median(rv):.4f} | {d.mean():+.4f} ± "
              f"{d.std(ddof=1) / np.sqrt(len(d)):.4f} | {np.sum(d < 0)} / {np.sum(d > 0)} | {p:.2g} | "
              f"{peers[0]:.4f} | {peers[1]:.4f} |")


if __name__ == "__main__":
    main()
