"""Where a user's own studies pay for meta-training: at the end of a study, or in the next
study's first model-based suggestion.

A user tunes one objective family in their own space (no preset, no bundle) with the
defaults, one study after another in one SQLite file: ``create_study(storage=...)``
(``optimizer="auto"``), ``ask``/``tell`` for ``--trials`` trials, then ``finish()``, or no
``finish()`` (``optimize`` alone does not call it). The first studies run GP-BO for want
of knowledge; the study that brings the storage to three related tasks (the third) or
doubles the knowledge since the last meta-training (the sixth) makes MetaBO meta-train.
The table gives, per study, the optimizer, the slowest ``ask()`` and the seconds of
``finish()``, for both ways in the same run (each on a fresh storage and a fresh
``$METAHPO_HOME``).

    PYTHONPATH=src python benchmarks/finish_meta_training.py --out benchmarks/results/finish_meta_training.md
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import metahpo as mh
from metahpo_bench.options import out_file

SPACE = mh.Space({
    "x": mh.Float(-2.0, 2.0),
    "y": mh.Float(-2.0, 2.0),
    "lr": mh.Float(1e-4, 1e-1, log=True),
})


def loss(config: dict[str, float], shift: float) -> float:
    """A family of related tasks: the optimum moves with ``shift``."""
    return ((config["x"] - shift) ** 2 + (config["y"] + shift / 2) ** 2
            + (math.log10(config["lr"]) + 2 + shift / 4) ** 2)


def studies(folder: Path, n_studies: int, n_trials: int, finish: bool) -> list[tuple[str, float, float]]:
    url = f"sqlite:///{folder / 'studies.db'}"
    rows = []
    for k in range(n_studies):
        study = mh.create_study(name=f"study-{k}", space=SPACE, storage=url, seed=k)
        slowest = 0.0
        for _ in range(n_trials):
            start = time.perf_counter()
            trial = study.ask()
            slowest = max(slowest, time.perf_counter() - start)
            study.tell(trial, loss(trial.config, 0.3 * k))
        start = time.perf_counter()
        if finish:
            study.finish()
        rows.append((type(study.optimizer).__name__, slowest, time.perf_counter() - start))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=7)
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--out", type=out_file, required=True)
    args = parser.parse_args()
    results = {}
    for finish in (True, False):
        with tempfile.TemporaryDirectory() as folder:
            os.environ["METAHPO_HOME"] = folder
            results[finish] = studies(Path(folder), args.studies, args.trials, finish)
    lines = [
        "# Meta-training at the end of a study or in the next study's first suggestion",
        "",
        f"Command: `PYTHONPATH=src python {shlex.join(sys.argv)}`  ",
        f"{args.studies} studies of {args.trials} trials each in one SQLite file, `optimizer=\"auto\"`; "
        "seconds on this machine (2 cores, shared).",
        "",
        "| study | optimizer | with finish(): slowest ask, s | finish(), s | without finish(): slowest ask, s |",
        "|---:|---|---:|---:|---:|",
    ]
    for k, ((name, ask, end), (_, ask_alone, _)) in enumerate(zip(results[True], results[False], strict=True)):
        lines.append(f"| {k + 1} | {name} | {ask:.2f} | {end:.2f} | {ask_alone:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
