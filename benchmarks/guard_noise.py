"""How noisy is the continual update's guard? Its verdict under other draws of the same data.

The guard keeps an update when the probe tasks' meta-test loss after it stays within the
tolerance of the anchor (``MetaModelProvider``; ``benchmarks/continual_guard.py``). That
loss is a mean over random support/query splits of each probe task, drawn from a fixed
seed, the same for the anchor and the update (common random numbers). Here each update
of a few held-out studies is scored again under ``--draws`` other seeds and with more
splits per task: the spread of ``after − anchor`` against the tolerance says how often
the verdict is the luck of the draw.

    .venv/bin/python benchmarks/guard_noise.py --preset hgb-classifier --studies 4 --out benchmarks/results/guard_noise
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from metahpo.surrogates import torch_threads
from metahpo.surrogates.meta import meta_test_loss
from metahpo.surrogates.meta._provider import (
    _OLD_TASKS_TOLERANCE,
    _probe_size,
    _signature,
    _with_trend_prior,
)
from metahpo.surrogates.meta._train import tasks_to_data
from metahpo.surrogates.meta._update import continual_update
from metahpo_bench.options import out_directory

sys.path.insert(0, str(Path(__file__).parent))
from continual_guard import updates_setup, write_report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="hgb-classifier")
    parser.add_argument("--studies", type=int, default=4)
    parser.add_argument("--draws", type=int, default=8)
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--out", type=out_directory, default="benchmarks/results/guard_noise")
    args = parser.parse_args()
    os.environ.setdefault("METAHPO_HOME", tempfile.mkdtemp())
    started = time.perf_counter()
    preset, knowledge, tasks, encoding, _, model = updates_setup(args.preset, args.studies, args.trials, 3, 1000)
    old = list(knowledge.tasks(preset.space))
    groups: dict[tuple[int, float], list] = {}
    for task in old:
        groups.setdefault(_signature(task), []).extend(tasks_to_data([task], encoding))
    keys = sorted(groups)
    picked = np.random.default_rng(len(old)).choice(len(keys), size=_probe_size(len(keys)), replace=False)
    probe = [d for i in sorted(picked) for d in groups[keys[i]]]
    replayed = [d for i, k in enumerate(keys) if i not in set(picked) for d in groups[k]]
    relative, absolute = _OLD_TASKS_TOLERANCE
    lines = [
        f"# The guard's noise: {args.preset}",
        "",
        "Command: `.venv/bin/python " + " ".join(shlex.quote(a) for a in sys.argv) + "`",
        "",
        f"One update of the bundle's meta-model per held-out study ({args.trials} GP-BO trials), "
        f"scored on the same {_probe_size(len(keys))}-task probe. "
        f"`after − anchor` under {args.draws} draw seeds (mean ± std over seeds), with 2 splits per task "
        "(the guard's) and with 6. The guard keeps an update when `after − anchor` ≤ the tolerance; "
        "'kept' counts the seeds under which it would.",
        "",
        "| study | tolerance | 2 splits: after − anchor | kept | 6 splits: after − anchor | kept |",
        "|---|---:|---|---:|---|---:|",
    ]
    with torch_threads(1):
        for k, task in enumerate(tasks):
            updated = continual_update(model, tasks_to_data([task], encoding), replayed)
            updated = _with_trend_prior(updated, [*replayed, *tasks_to_data([task], encoding)])
            cells = []
            tolerance = None
            for repeats in (2, 6):
                diffs = []
                for seed in range(args.draws):
                    anchor = meta_test_loss(model, probe, repeats=repeats, seed=seed)
                    after = meta_test_loss(updated, probe, repeats=repeats, seed=seed)
                    diffs.append(after - anchor)
                    if tolerance is None:
                        tolerance = relative * abs(anchor) + absolute
                d = np.array(diffs)
                cells.append(f"{d.mean():+.4f} ± {d.std(ddof=1):.4f} | {int((d <= tolerance).sum())}/{len(d)}")
            lines.append(f"| {task.name} (study {k + 1}) | {tolerance:.4f} | {cells[0]} | {cells[1]} |")
            print(lines[-1], flush=True)
    write_report(lines, args.out, f"{args.preset}.md", started)


if __name__ == "__main__":
    main()
