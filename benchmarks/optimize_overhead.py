"""What `optimize(n_trials=1)` costs beyond the trial itself, MetaBO beside GP-BO.

A study of each kind on an embedded SQLite file is brought to 20 trials (the meta-model is
trained and stored first, as after any earlier study). Then, alternately and ``--repeats``
times: one trial by hand (``ask``, a no-op objective, ``tell``), and one
``optimize(noop, n_trials=1)``. The overhead is the median difference. Before, every
``optimize`` call ended with a continual update of the meta-model (2-3 s); now the update
runs once per study (``Study.finish``).

    .venv/bin/python benchmarks/optimize_overhead.py --out benchmarks/results/optimize_overhead.md
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

import metahpo as mh
from metahpo.surrogates.meta import MetaModelProvider, MetaTrainingConfig
from metahpo.testing.synthetic import ShiftedBranin
from metahpo_bench.options import out_file


def knowledge(family: ShiftedBranin) -> mh.KnowledgeBase:
    design = family.space.sobol(64, seed=0)
    kb = mh.KnowledgeBase()
    for task in family.tasks[1:]:
        kb.add_task(family.space, design, [family.evaluate(task, c) for c in design], name=task)
    return kb


def measure(study: mh.Study, objective, repeats: int) -> tuple[float, float]:
    """Median seconds of a hand-made trial and of optimize(n_trials=1)."""
    by_hand, looped = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        trial = study.ask()
        study.tell(trial, objective(trial))
        by_hand.append(time.perf_counter() - started)
        started = time.perf_counter()
        study.optimize(objective, n_trials=1, show_progress=False)
        looped.append(time.perf_counter() - started)
    return float(np.median(by_hand)), float(np.median(looped))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--meta-steps", type=int, default=2000)
    parser.add_argument("--out", type=out_file, default="benchmarks/results/optimize_overhead.md")
    args = parser.parse_args()
    os.environ.setdefault("METAHPO_HOME", tempfile.mkdtemp())
    family = ShiftedBranin(n_tasks=8, seed=0)
    kb = knowledge(family)
    provider = MetaModelProvider(MetaTrainingConfig(meta_steps=args.meta_steps))
    target = family.tasks[0]

    def objective(trial: mh.TrialHandle) -> float:
        return float(family.evaluate(target, trial.config))

    rows = []
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        storage = f"sqlite:///{folder}/overhead.db"
        for label in ("metabo", "gpbo"):
            optimizer = mh.MetaBO(kb, meta_models=provider) if label == "metabo" else mh.GPBO()
            study = mh.create_study(name=label, space=family.space, storage=storage, optimizer=optimizer, seed=0)
            study.optimize(objective, n_trials=20, show_progress=False)
            by_hand, looped = measure(study, objective, args.repeats)
            rows.append((label, by_hand, looped, looped - by_hand))
    lines = [
        "# optimize(n_trials=1) overhead beyond the trial itself",
        "",
        f"Command: `.venv/bin/python benchmarks/optimize_overhead.py --repeats {args.repeats}`  ",
        f"20 trials first, then {args.repeats} alternating repeats; medians. Load average at start: {load:.1f}.",
        "",
        "| optimizer | ask + tell by hand (s) | optimize(n_trials=1) (s) | overhead (ms) |",
        "|---|---:|---:|---:|",
        *[f"| {label} | {hand:.3f} | {loop:.3f} | {1000 * over:.1f} |" for label, hand, loop, over in rows],
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
