"""Choose each preset bundle's portfolio rule by leaving one bundled task out, and record it.

For every preset (or the ones named), :func:`metahpo.knowledge.choose_portfolio_neighbours`
scores the rules the portfolio can be chosen by (the nearest task's cluster, the 3, 5, 10
or 20 nearest tasks) on the bundle's own tasks held out one at a time, and keeps the best
of those that beat the cluster by a paired test. Prints and writes the table to
``--out`` (``benchmarks/results/portfolio_rules/rules.md``); with ``--write`` also records the rule as ``portfolio.json`` beside the
bundle's manifest (``src/metahpo/knowledge/data/<knowledge>/``), which
``KnowledgeBase.portfolio_neighbours`` reads. Run it again after a bundle is rebuilt.

A screened choice ships only once the lifelong benchmark's held-out datasets confirm it
(``benchmarks/lifelong_neighbours.py``); ``--cluster`` names the presets whose choice was
not confirmed: their file records the screened ``k`` but keeps the cluster.

    .venv/bin/python benchmarks/portfolio_rules.py --write --cluster random-forest-classifier
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from metahpo import presets
from metahpo.knowledge import bundled_knowledge, choose_portfolio_neighbours, write_portfolio_rule
from metahpo_bench.options import out_file

DATA = Path(__file__).resolve().parents[1] / "src" / "metahpo" / "knowledge" / "data"


def label(k: int | None) -> str:
    return "cluster" if k is None else f"{k} nearest"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("presets", nargs="*", default=presets.names())
    parser.add_argument("--write", action="store_true", help="write portfolio.json beside each bundle")
    parser.add_argument("--cluster", default="", help="presets kept on the cluster: their choice failed the held-out check")
    parser.add_argument("--out", type=out_file, default="benchmarks/results/portfolio_rules/rules.md")
    args = parser.parse_args()
    lines = [
        "# Each preset bundle's portfolio rule, chosen with one bundled task held out at a time",
        "",
        f"Command: `.venv/bin/python benchmarks/portfolio_rules.py {' '.join(args.presets)}"
        f"{' --write' if args.write else ''}{' --cluster ' + args.cluster if args.cluster else ''}`",
        "",
        "Mean over held-out tasks of the normalised regret of the portfolio's first 1-5 configs",
        "(`metahpo.knowledge.held_out_portfolio_regrets`), and in brackets the one-sided paired",
        "Wilcoxon test of each k against the cluster; screened: of the rules with p < 0.05, the",
        "one with the lowest mean, else the cluster; shipped: the screened rule, unless the",
        "lifelong benchmark's held-out datasets did not confirm it (`--cluster`).",
        "",
        "| preset | tasks | cluster | 3 nearest | 5 nearest | 10 nearest | 20 nearest | screened | shipped | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|---:|",
    ]
    for name in args.presets:
        preset = presets.get(name)
        kb = bundled_knowledge(preset.knowledge_name)
        started = time.perf_counter()
        choice = choose_portfolio_neighbours(kb.tasks(preset.space), preset.space)
        seconds = time.perf_counter() - started
        cells = [f"{choice.mean_regret[None]:.3f}"] + [
            f"{choice.mean_regret[k]:.3f} ({choice.p_values[k]:.2g})" if k in choice.p_values else ""
            for k in (3, 5, 10, 20)
        ]
        shipped = None if name in args.cluster.split(",") else choice.k_nearest
        lines.append(f"| {name} | {choice.n_tasks} | {' | '.join(cells)} | {label(choice.k_nearest)} | "
                     f"{label(shipped)} | {seconds:.0f} |")
        print(lines[-1], flush=True)
        if args.write:
            write_portfolio_rule(DATA / preset.knowledge_name, {
                preset.space.fingerprint(): {
                    "k_nearest": shipped,
                    "screened_k_nearest": choice.k_nearest,
                    "chosen_by": "metahpo.knowledge.choose_portfolio_neighbours",
                    "n_tasks": choice.n_tasks,
                    "tasks": sorted(task.name for task in kb),
                    "mean_regret": {label(k): round(v, 6) for k, v in choice.mean_regret.items()},
                    "p_values": {label(k): round(p, 6) for k, p in choice.p_values.items()},
                }
            })
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
