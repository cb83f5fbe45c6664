"""Which tasks a preset's portfolio should be chosen on: leave one bundled task out.

For each preset's bundled knowledge and each of its tasks, the portfolio is chosen on the
other tasks for a study with that task's descriptor, by each rule: the nearest task's
cluster (``k_nearest=None``, the default) or the ``k`` nearest tasks. The held-out task's
losses at the largest budget score it: the best of the portfolio's first 1, 3 and 5
configs, as a regret normalised by the task's best and median losses ``(best of first n -
best) / (median - best)``. Prints a table per preset (mean and median over tasks) and
writes it to ``--out``.

    .venv/bin/python benchmarks/portfolio_neighbours.py --out benchmarks/results/portfolio_neighbours.md
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from metahpo.knowledge import KnowledgeBase, Task, greedy_portfolio
from metahpo.presets import get, names
from metahpo_bench.options import out_file

RULES: list[tuple[str, int | None]] = [("cluster", None), ("3", 3), ("5", 5), ("10", 10), ("20", 20)]
FIRST = (1, 3, 5)


def held_out_regrets(preset: str) -> tuple[dict[str, np.ndarray], list[int]]:
    """Per rule, a (tasks, len(FIRST)) array of normalised regrets; and the cluster sizes."""
    info = get(preset)
    kb, space = info.knowledge(), info.space
    regrets: dict[str, list[list[float]]] = {rule: [] for rule, _ in RULES}
    sizes = []
    for task in kb.tasks(space):
        others = KnowledgeBase([t for t in kb if t.name != task.name])
        target = Task(name="__held_out__", descriptor=task.descriptor)
        top = task.at_budget(None)
        losses = np.asarray(top.losses, dtype=float)
        by_key = dict(zip(space.config_keys(top.configs), losses, strict=True))
        best, median = losses.min(), np.median(losses)
        for rule, k in RULES:
            chosen = others.relevant(space, target, k)
            if k is None:
                sizes.append(len(chosen))
            found = [by_key[key] for key in space.config_keys(greedy_portfolio(chosen, max(FIRST)))]
            regrets[rule].append([(min(found[:n]) - best) / (median - best) for n in FIRST])
    return {rule: np.array(rows) for rule, rows in regrets.items()}, sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default=",".join(names()))
    parser.add_argument("--out", type=out_file, default="benchmarks/results/portfolio_neighbours.md")
    args = parser.parse_args()
    started = time.perf_counter()
    lines = [
        "# A preset's portfolio chosen on the nearest task's cluster or on the k nearest tasks",
        "",
        f"Command: `.venv/bin/python benchmarks/portfolio_neighbours.py --presets {args.presets}`",
        "",
        "Each bundled task held out in turn; regret of the best of the portfolio's first n configs,",
        "(best of first n - task best) / (task median - task best), over the held-out tasks.",
        "",
    ]
    for preset in args.presets.split(","):
        regrets, sizes = held_out_regrets(preset)
        lines += [
            f"## {preset}: {len(sizes)} tasks, the nearest task's cluster holds "
            f"{min(sizes)}-{max(sizes)} of the others (median {int(np.median(sizes))})",
            "",
            "| tasks chosen on | mean n=1 | mean n=3 | mean n=5 | median n=1 | median n=3 | median n=5 |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for rule, values in regrets.items():
            name = "nearest task's cluster" if rule == "cluster" else f"{rule} nearest"
            cells = [*values.mean(0), *np.median(values, 0)]
            lines.append(f"| {name} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
        lines.append("")
        print("\n".join(lines[-(len(regrets) + 5):]), flush=True)
    lines.append(f"Run time {time.perf_counter() - started:.0f} s.")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
