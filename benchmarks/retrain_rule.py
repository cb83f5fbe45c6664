"""When to meta-train anew as a user's own studies accumulate: the next study's meta-test loss.

From an empty knowledge base, a preset's space is tuned on 20 KEEL datasets held out of its
bundle (20 GP-BO trials each, 3-fold validation log-loss), one after another. Continual
updates aside (the random forest's guard refuses them all), the meta-model a study starts
from is the one last meta-trained. Under each rule for when to meta-train anew (the
knowledge has doubled, grown by half, or grown at all), the table gives the meta-test
loss (predictive NLL after adapting on 10 configs) of that model on the next study's task,
paired with doubling, the rule MetaBO uses:

    PYTHONPATH=src:benchmarks/src .venv/bin/python benchmarks/retrain_rule.py --preset random-forest-classifier --orderings 1,2,3 --out benchmarks/results/continual_diagnosis
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time

import numpy as np
from continual_guard import tuned_tasks, write_report

import metahpo as mh
from metahpo.surrogates import SpaceEncoding
from metahpo.surrogates.meta import MetaTrainingConfig, meta_test_loss, meta_train
from metahpo.surrogates.meta._provider import _with_trend_prior
from metahpo.surrogates.meta._train import tasks_to_data
from metahpo_bench.keel import keel_held_out
from metahpo_bench.options import out_directory

RULES = {"doubled (MetaBO's rule)": 2.0, "grown by half": 1.5, "every study": 1.0}
STUDIES = 20
FIRST = 3  # MetaBO meta-trains once three related tasks exist


def retrain_points(growth: float, n: int) -> list[int]:
    """Knowledge sizes at which a model is meta-trained anew under ``growth``."""
    points: list[int] = []
    for m in range(FIRST, n + 1):
        if not points or (m > points[-1] and m >= growth * points[-1]):
            points.append(m)
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="random-forest-classifier")
    parser.add_argument("--orderings", default="1,2,3")
    parser.add_argument("--out", type=out_directory, default="benchmarks/results/continual_diagnosis")
    args = parser.parse_args()
    os.environ.setdefault("METAHPO_HOME", tempfile.mkdtemp())
    started = time.perf_counter()
    preset = mh.presets.get(args.preset)
    encoding = SpaceEncoding(preset.space, None, None)
    config = MetaTrainingConfig()
    bundled = {t.name for t in preset.knowledge()}
    losses: dict[str, list[list[float]]] = {name: [] for name in RULES}
    for ordering in (int(o) for o in args.orderings.split(",")):
        tasks = tuned_tasks(preset, keel_held_out(bundled, STUDIES, ordering), 20, 3, 1000)
        data = tasks_to_data(tasks, encoding)
        sizes = sorted({m for g in RULES.values() for m in retrain_points(g, STUDIES - 1)})
        models = {m: _with_trend_prior(meta_train(data[:m], config), data[:m]) for m in sizes}
        for name, growth in RULES.items():
            points = retrain_points(growth, STUDIES - 1)
            # Study k + 1 (index k) starts from the model of the last point at most k.
            losses[name].append([
                meta_test_loss(models[max(p for p in points if p <= k)], [data[k]], repeats=6)
                for k in range(FIRST, STUDIES)
            ])
    base = np.asarray(losses["doubled (MetaBO's rule)"])
    lines = [
        f"# When to meta-train anew: {args.preset}", "",
        "Command: `.venv/bin/python " + " ".join(shlex.quote(a) for a in sys.argv) + "`", "",
        f"Meta-test loss (lower is better) of the model each of studies {FIRST + 1}-{STUDIES} starts from, "
        f"on that study's task; {len(base)} orderings of {STUDIES} held-out KEEL datasets. Paired with "
        "doubling over studies and orderings (mean ± s.e.; studies better/worse).", "",
        "| meta-trained anew when the knowledge has | at sizes | mean | studies 4-8 | 9-13 | 14-20 | − doubling |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for name, growth in RULES.items():
        values = np.asarray(losses[name])
        diff = (values - base).ravel()
        se = diff.std(ddof=1) / np.sqrt(diff.size)
        parts = [values[:, :5].mean(), values[:, 5:10].mean(), values[:, 10:].mean()]
        lines.append(
            f"| {name} | {retrain_points(growth, STUDIES - 1)} | {values.mean():.4f} | "
            + " | ".join(f"{p:.4f}" for p in parts)
            + f" | {diff.mean():+.4f} ± {se:.4f} ({int((diff < 0).sum())}/{int((diff > 0).sum())}) |"
        )
    write_report(lines, args.out, f"retrain_rule_{args.preset}.md", started)


if __name__ == "__main__":
    main()
