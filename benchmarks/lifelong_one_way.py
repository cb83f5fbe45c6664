"""One way of the lifelong benchmark (``lifelong.py``) alone, for a paired check of a change.

Runs ``--way`` on the preset's held-out KEEL datasets in the orderings given, with the
same seeds and settings as ``lifelong.py`` (20 studies of 20 trials, 3-fold CV, at most
1000 rows), and appends its curves to ``OUT/runs.jsonl`` under the same keys, so that two
checkouts' files can be paired (``paired_lifelong.py``). Like ``lifelong.py`` it keeps
those settings in ``OUT/settings.json`` and refuses an ``OUT`` made with others:

    PYTHONPATH=src:benchmarks/src python benchmarks/lifelong_one_way.py hgb-classifier 1,2 /tmp/new
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import lifelong  # the benchmark program next to this one

import metahpo as mh
from metahpo_bench.keel import keel_held_out
from metahpo_bench.options import out_directory


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("preset")
    parser.add_argument("orderings", help="comma-separated ordering numbers, e.g. 1,2")
    parser.add_argument("out", type=out_directory)
    parser.add_argument("--way", default="metabo-empty", choices=[w for w in lifelong.WAYS if w != "optuna"])
    cli = parser.parse_args()
    args = argparse.Namespace(studies=20, trials=20, cv=3, datasets="keel", max_rows=1000, out=cli.out)
    cli.out.mkdir(parents=True, exist_ok=True)
    refusal = lifelong.keep_settings(cli.out, {"datasets": args.datasets, "cv": args.cv, "max_rows": args.max_rows})
    if refusal:
        parser.error(refusal)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    os.environ.setdefault("METAHPO_HOME", tempfile.mkdtemp())
    preset = mh.presets.get(cli.preset)
    bundled = {task.name for task in preset.knowledge()}
    for ordering in (int(o) for o in cli.orderings.split(",")):
        order = keel_held_out(bundled, args.studies, ordering)
        curves = lifelong.run_metahpo(cli.way, preset, order, args, 1000 * ordering)
        key = f"{cli.preset}|{ordering}|{cli.way}|{args.studies}|{args.trials}"
        with (cli.out / "runs.jsonl").open("a") as f:
            f.write(json.dumps({"key": key, "curves": curves}) + "\n")


if __name__ == "__main__":
    main()
