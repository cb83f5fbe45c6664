"""The continual update's drift on its own: updates whose "new" task the model already knows.

The guard (``MetaModelProvider``) keeps an update only if a probe of old tasks, held out of
the update's replay, does not get worse by more than 1% + 0.01. Here the preset's bundled
meta-model is "updated" on tasks of its own bundle, which it was meta-trained on: what the
probe's loss does then is the update procedure's doing, not the new task's.

    PYTHONPATH=src:benchmarks/src .venv/bin/python benchmarks/null_update.py --preset random-forest-classifier --out benchmarks/results/continual_diagnosis
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time

from continual_guard import updates_setup, write_report

from metahpo_bench.options import out_directory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="random-forest-classifier")
    parser.add_argument("--updates", type=int, default=5)
    parser.add_argument("--out", type=out_directory, default="benchmarks/results/continual_diagnosis")
    args = parser.parse_args()
    os.environ.setdefault("METAHPO_HOME", tempfile.mkdtemp())
    started = time.perf_counter()
    preset, knowledge, _, encoding, provider, model = updates_setup(args.preset, 0, 20, 3, 1000)
    bundle = list(knowledge.tasks(preset.space))
    lines = [
        f"# The continual update's drift on its own: {args.preset}", "",
        "Command: `.venv/bin/python " + " ".join(shlex.quote(a) for a in sys.argv) + "`", "",
        "Each row updates the bundle's ready-trained meta-model on one of its own bundle tasks "
        "(the others replayed or in the guard's probe); meta-test loss, lower is better.", "",
        "| task updated on | kept | probe before → after | that task before → after |",
        "|---|---|---|---|",
    ]
    step = max(1, len(bundle) // args.updates)
    for k in range(0, step * args.updates, step):
        others = [t for i, t in enumerate(bundle) if i != k]
        _, s = provider._grow(model, [bundle[k]], others, encoding, seed=7)
        lines.append(
            f"| {bundle[k].name} | {'yes' if s['kept'] else 'no'} | "
            f"{s['old_tasks_meta_test_loss_anchor']:.4f} → {s['old_tasks_meta_test_loss_after']:.4f} | "
            f"{s['new_tasks_meta_test_loss_before']:.4f} → {s['new_tasks_meta_test_loss_after']:.4f} |"
        )
    write_report(lines, args.out, f"null_update_{args.preset}.md", started)


if __name__ == "__main__":
    main()
