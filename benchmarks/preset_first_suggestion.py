"""Seconds to the first model-based suggestion of a preset study: MetaBO with the bundle's
ready-trained meta-model beside GP-BO, in the same run.

For each preset with bundled knowledge and a shipped meta-model, on a small scikit-learn
dataset of its task type: ``create_study(preset=..., task=Task.from_data(X, y))``
(``optimizer="auto"``, which is MetaBO with the bundle), the same with MetaBO named
(``optimizer="metabo"``) and with ``optimizer="gpbo"``. Each study is asked and told until its first model-based
suggestion (MetaBO: after the 3 warm-start portfolio configs; GP-BO: after its Sobol
design of d + 1 points), with losses from the preset's own objective as a user runs it
(3-fold CV at the trial's budget, the preset's full budget; not timed). The table gives
the seconds of the first ``ask()`` (which opens the knowledge) and of the first
model-based ``ask()``, and the seconds the objective took over the design. The first
row is the very first MetaBO study of the process (imports and caches cold); every preset
is then measured again in the warm process.

With ``--hyperband`` every study runs under ``Hyperband(min_budget, max_budget, eta=3)``
over the bundle's budgets (3 to 81 boosting rounds, ...), its trials at the budgets it
asks, and MetaBO's surrogate has a budget column.

    PYTHONPATH=src python benchmarks/preset_first_suggestion.py --out benchmarks/results/preset_first_suggestion.md
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import tempfile
import time
from typing import Any

import metahpo as mh
from metahpo.knowledge import bundled_meta_model, bundled_names
from metahpo_bench.options import out_file


def dataset(task_type: str) -> tuple[Any, Any]:
    from sklearn.datasets import load_diabetes, load_wine

    return (
        load_wine(return_X_y=True)
        if task_type == "classification"
        else load_diabetes(return_X_y=True)
    )


def first_model_suggestion(name: str, optimizer: str, hyperband: bool) -> tuple[str, float, float, int, float]:
    preset = mh.presets.get(name)
    X, y = dataset(preset.task_type)
    objective = preset.objective(X, y, cv=3)
    task = mh.Task.from_data(X, y, task_type=preset.task_type)  # diabetes: whole-number target
    budgets = preset.knowledge_size()["budgets"]
    scheduler = mh.Hyperband(min_budget=int(min(budgets)), max_budget=int(max(budgets)), eta=3) if hyperband else None
    study = mh.create_study(preset=name, task=task, optimizer=optimizer, seed=0, scheduler=scheduler)
    n_design = 3 if study.optimizer.name == "metabo" else len(preset.space) + 1
    first = model = evaluating = 0.0
    for number in range(n_design + 1):
        start = time.perf_counter()
        trial = study.ask()
        seconds = time.perf_counter() - start
        if number == 0:
            first = seconds
        if number == n_design:
            model = seconds
            break
        start = time.perf_counter()
        loss = objective(trial)
        evaluating += time.perf_counter() - start
        study.tell(trial, loss)
    return study.optimizer.name, first, model, n_design, evaluating


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=out_file, default=None)
    parser.add_argument("--hyperband", action="store_true", help="under Hyperband over the bundle's budgets")
    parser.add_argument("presets", nargs="*")
    args = parser.parse_args()
    # Meta-models a study trains are kept under $METAHPO_HOME: an earlier run's must not be
    # found here.
    os.environ["METAHPO_HOME"] = tempfile.mkdtemp()
    names = args.presets or [
        n
        for n in mh.presets.names()
        if mh.presets.get(n).knowledge_name in bundled_names()
        and bundled_meta_model(mh.presets.get(n).knowledge_name) is not None
    ]
    rows = [
        "| preset | optimizer | observations before | objective over them (s) | first ask (s) | first model-based ask (s) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    runs = [(names[0], "auto", " (first in process)")] if names else []
    runs += [(name, optimizer, "") for name in names for optimizer in ("auto", "metabo", "gpbo")]
    for name, optimizer, note in runs:
        used, first, model, n_design, evaluating = first_model_suggestion(name, optimizer, args.hyperband)
        label = {"auto": f"{used} (auto)", "metabo": f"{used} (named)"}.get(optimizer, used) + note
        rows.append(f"| {name} | {label} | {n_design} | {evaluating:.2f} | {first:.3f} | {model:.3f} |")
        print(rows[-1], flush=True)
    command = shlex.join(["python", "benchmarks/preset_first_suggestion.py", *sys.argv[1:]])
    text = "\n".join(
        [
            "# First suggestion of a preset study" + (" under Hyperband" if args.hyperband else ""),
            "",
            f"Command: `PYTHONPATH=src {command}`",
            "",
            "Shared 2-core machine, other jobs running; compare rows of the same run.",
            "",
            *rows,
            "",
        ]
    )
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
