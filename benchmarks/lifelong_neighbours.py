"""The bundle alone with its portfolio chosen on the k nearest tasks, beside the lifelong runs.

Runs the lifelong benchmark's ``bundle-alone`` way (``benchmarks/lifelong.py``: each held-out
dataset tuned in a storage of its own with the preset's bundle, ``"auto"``, defaults)
twice on the current code, with MetaBO's default rule (the nearest task's cluster) and with
``k_nearest`` set, on the datasets, orderings and seeds of an earlier lifelong directory,
and pairs the two. Regret: the best loss minus the best any way found on the dataset (the
earlier directory's ways and these two). Writes ``runs.jsonl`` and ``README.md`` to ``--out``.

    .venv/bin/python benchmarks/lifelong_neighbours.py --presets random-forest-classifier --against benchmarks/results/lifelong_rf_current --k 5 --orderings 3 --out benchmarks/results/lifelong_neighbours
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.stats import wilcoxon

import metahpo as mh
from metahpo.knowledge import bundled_meta_model
from metahpo.surrogates.meta import MetaModelProvider
from metahpo_bench.keel import keel_held_out
from metahpo_bench.options import out_directory

sys.path.insert(0, str(Path(__file__).parent))
from lifelong import best_so_far, load_xy

CHECKPOINTS = (3, 5, 10, 20)


def run(preset: mh.presets.Preset, order: list[str], k_nearest: int, args: argparse.Namespace, seed: int) -> list[list[float]]:
    curves = []
    with tempfile.TemporaryDirectory() as folder:
        for k, name in enumerate(order):
            url = f"sqlite:///{folder}/study{k}.db"
            X, y = load_xy(name, args.max_rows)
            kb = mh.KnowledgeBase.open(f"bundled:{preset.knowledge_name}")  # its own storage is empty
            optimizer = mh.MetaBO(
                knowledge=kb, k_nearest=k_nearest or "cluster",
                meta_models=MetaModelProvider(initial=bundled_meta_model(preset.knowledge_name)),
            )
            study = mh.create_study(name=name, preset=preset.name, task=mh.Task.from_data(X, y),
                                    storage=url, optimizer=optimizer, seed=seed + k)
            study.optimize(preset.objective(X, y, cv=args.cv), n_trials=args.trials, show_progress=False)
            curves.append(best_so_far([t.value for t in study.trials]))
            logging.info("%s k=%d study %d (%s): best %.4f", preset.name, k_nearest, k + 1, name, curves[-1][-1])
    return curves


def way_name(k_nearest: int) -> str:
    return f"bundle-alone[k_nearest={k_nearest}]" if k_nearest else "bundle-alone[default]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", required=True)
    parser.add_argument("--against", type=Path, nargs="+", required=True, help="lifelong result directories")
    parser.add_argument("--k", type=int, default=5, help="the k nearest tasks (the default rule runs beside it)")
    parser.add_argument("--studies", type=int, default=20)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--orderings", type=int, default=3)
    parser.add_argument("--cv", type=int, default=3)
    parser.add_argument("--max-rows", type=int, default=1000)
    parser.add_argument("--out", type=out_directory, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    os.environ.setdefault("METAHPO_HOME", tempfile.mkdtemp())
    started = time.perf_counter()
    earlier = {}
    for folder in args.against:
        for row in map(json.loads, (folder / "runs.jsonl").read_text().splitlines()):
            earlier[row["key"]] = row["curves"]
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "runs.jsonl"
    done = {row["key"]: row["curves"] for row in map(json.loads, log.read_text().splitlines())} if log.exists() else {}
    lines = ["# The bundle alone, portfolio on the k nearest tasks, against the default (nearest task's cluster)", "",
             f"Command: `.venv/bin/python benchmarks/lifelong_neighbours.py --presets {args.presets} --against "
             f"{' '.join(str(a) for a in args.against)} --k {args.k} --orderings {args.orderings} --out {args.out}`", ""]
    for preset_name in args.presets.split(","):
        preset = mh.presets.get(preset_name)
        bundled = {task.name for task in preset.knowledge()}
        mine, default, zero = [], [], []
        for ordering in range(args.orderings):
            prefix = f"{preset_name}|{ordering}|"
            suffix = f"|{args.studies}|{args.trials}"
            runs = {}
            for k_nearest in (0, args.k):  # the default rule and the k nearest, on this code
                key = prefix + way_name(k_nearest) + suffix
                if key not in done:
                    order = keel_held_out(bundled, args.studies, ordering)
                    done[key] = run(preset, order, k_nearest, args, 1000 * ordering)
                    with log.open("a") as f:
                        f.write(json.dumps({"key": key, "curves": done[key]}) + "\n")
                runs[way_name(k_nearest)] = done[key]
            ways = {k[len(prefix):-len(suffix)]: v for k, v in earlier.items() if k.startswith(prefix) and k.endswith(suffix)}
            ways.update(runs)
            mine.append(runs[way_name(args.k)])
            default.append(runs[way_name(0)])
            zero.append([min(min(curves[s]) for curves in ways.values()) for s in range(args.studies)])
        mine_r = np.asarray(mine) - np.asarray(zero)[:, :, None]
        default_r = np.asarray(default) - np.asarray(zero)[:, :, None]
        lines += [f"## {preset_name}", "", "| n | median regret, default | median regret, k nearest | "
                  "k nearest minus default (mean ± s.e.) | better / worse | Wilcoxon p |", "|---:|---:|---:|---|---|---:|"]
        for n in CHECKPOINTS:
            a, b = mine_r[:, :, n - 1].ravel(), default_r[:, :, n - 1].ravel()
            d = a - b
            moved = d[d != 0]
            p = wilcoxon(moved).pvalue if len(moved) else float("nan")
            lines.append(f"| {n} | {np.median(b):.4f} | {np.median(a):.4f} | {d.mean():+.4f} ± "
                         f"{d.std(ddof=1) / np.sqrt(len(d)):.4f} | {int(np.sum(d < 0))} / {int(np.sum(d > 0))} | {p:.3g} |")
        lines.append("")
        print("\n".join(lines), flush=True)
    lines.append(f"Run time of this invocation {(time.perf_counter() - started) / 60:.1f} min.")
    (args.out / "README.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
