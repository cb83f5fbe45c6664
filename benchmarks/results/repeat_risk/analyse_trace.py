"""How often MetaBO's suggestions on rbv2_xgboost-pool repeat a pool config, and how well the
repeat chance of commit 44e0a6c (its ``RepeatRisk``) predicted it, from
``before/trace.jsonl.gz``. Run from the repository root:

    git show 44e0a6c:src/metahpo/optimizers/_taken.py > /tmp/taken_44e.py
    PYTHONPATH=src:benchmarks/src:/tmp .venv/bin/python benchmarks/results/repeat_risk/analyse_trace.py
"""

from __future__ import annotations

import collections
import gzip
import json

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from taken_44e import RepeatRisk, tie_radii  # type: ignore[import-not-found]

from metahpo.surrogates import SpaceEncoding
from metahpo_bench._registry import get_problem

TRACE = "benchmarks/results/repeat_risk/before/trace.jsonl.gz"


def main() -> None:
    space = get_problem("rbv2_xgboost-pool").space
    encoding = SpaceEncoding(space)
    runs = collections.defaultdict(list)
    with gzip.open(TRACE, "rt") as lines:
        for row in map(json.loads, lines):
            runs[(row["task"], row["seed"])].append(row)
    total = repeats = 0
    chances, repeated = [], []
    for rows in runs.values():
        seen: set[int] = set()
        x = space.to_unit([row["config"] for row in rows])
        losses = np.array([row["loss"] for row in rows])
        for t, row in enumerate(rows):
            repeat = row["idx"] in seen
            seen.add(row["idx"])
            if t < 4:  # the warm start and the first surrogate suggestion
                continue
            total += 1
            repeats += repeat
            risk = RepeatRisk(encoding.features(x[:t]), tie_radii(space, x[:t], np.ones(t), losses[:t]))
            if not risk.active:
                continue
            z = torch.as_tensor(encoding.features(x[t : t + 1]), dtype=torch.float64)
            chances.append(1.0 - float(torch.exp(risk.log_new(z))[0]))
            repeated.append(repeat)
    chance, hit = np.array(chances), np.array(repeated)
    print(f"suggestions from the fifth trial on: {total}, repeats: {repeats} ({repeats / total:.0%})")
    print(f"after a tie: {len(chance)}, repeats: {hit.sum()}, AUC {roc_auc_score(hit, chance):.2f}, "
          f"median chance {np.median(chance):.2f}, max {chance.max():.2f}")
    for low, high in ((0.0, 0.1), (0.1, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 1.0)):
        inside = (chance >= low) & (chance <= high if high == 1.0 else chance < high)
        print(f"chance {low}-{high}: {inside.sum()} suggestions, {hit[inside].mean():.0%} repeated")


if __name__ == "__main__":
    main()
