"""Does choosing warm-start tasks by cluster help, against using every task?

python benchmarks/meta_clustering.py --out benchmarks/results/meta_clustering
python benchmarks/meta_clustering.py --quick --out /tmp/meta_clustering_quick

On the bundled knowledge of every preset (and ``keel-hgb``), tasks are held out fold by
fold (``--folds`` folds over the tasks of a knowledge base, seeded); the clusters and
portfolios are made from the other folds' tasks only. For each held-out task, ten
warm-start configs come from a greedy portfolio (``greedy_portfolio``, mean normalised
regret) over:

* ``all``: every other task;
* ``meta``: the held-out task's cluster by ``meta_cluster_tasks`` (the library default);
  the task joins the cluster of its nearest task by descriptor (global structure);
* ``meta-forced``: the same with ``min_silhouette=-1``, so there are always clusters;
* ``single`` / ``single-forced``: the same with ``cluster_tasks`` (one average-linkage
  clustering);
* ``random``: random clusters of the sizes of ``meta-forced`` (the control; five draws);
* ``meta-forced+probes``: local structure too: the first three configs from ``all``,
  then the cluster of the nearest task by descriptor and those three losses, whose
  portfolio gives configs 4 to 10;
* ``nearest-10``: the ten nearest tasks by descriptor (``KnowledgeBase.relevant(k=10)``).

Every task of a knowledge base evaluated the same configs, so the loss of any portfolio
config on the held-out task is looked up exactly. The regret after n configs is the best
loss among them, normalised by the task's own range at its largest budget. Reported:
mean and median regret at n = 1, 3, 5, 10; paired wins / ties / losses against ``all``;
a two-sided Wilcoxon signed-rank test and a sign test on each task's regret averaged
over the four n. Writes ``summary.json``, ``README.md`` and ``regret.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats

import metahpo.presets
from metahpo.knowledge import (
    Clustering,
    KnowledgeBase,
    Task,
    bundled_knowledge,
    cluster_tasks,
    greedy_portfolio,
    meta_cluster_tasks,
    nearest,
    regret_matrix,
)
from metahpo.space import Config
from metahpo_bench.options import out_directory

CHECKPOINTS = (1, 3, 5, 10)
SIZE = max(CHECKPOINTS)
PROBES = 3
RANDOM_DRAWS = 5
METHODS = (
    "all",
    "meta",
    "meta-forced",
    "single",
    "single-forced",
    "random",
    "meta-forced+probes",
    "nearest-10",
)


def knowledge_sets(quick: bool) -> dict[str, list[Task]]:
    names = ["keel-hgb"] if quick else ["keel-hgb", *metahpo.presets.names()]
    out = {}
    for name in names:
        kb = (
            bundled_knowledge(name) if name == "keel-hgb" else metahpo.presets.get(name).knowledge()
        )
        out[name] = sorted(kb, key=lambda t: t.name)
    return out


def regret_curve(task: Task, configs: Sequence[Config]) -> np.ndarray:
    """Best normalised regret on ``task`` after each of ``configs`` (exact: a shared design)."""
    regrets = regret_matrix([task], list(configs))[:, 0]
    return np.minimum.accumulate(regrets)


def cluster_of(clustering: Clustering, anchor: str, pool: Sequence[Task]) -> list[Task]:
    members = set(clustering.members(clustering.label_of(anchor)))
    return [t for t in pool if t.name in members]


def nearest_name(target: Task, pool: Sequence[Task]) -> str:
    return nearest(target, pool, k=1)[0][0].name


def random_clustering(clustering: Clustering, rng: np.random.Generator) -> Clustering:
    labels = np.array(clustering.labels)[rng.permutation(len(clustering.labels))]
    return Clustering(clustering.names, tuple(int(v) for v in labels), clustering.k)


def with_probes(probes: list[Config], portfolio: list[Config], task: Task) -> list[Config]:
    space = task.space
    assert space is not None
    seen = {space.config_key(c) for c in probes}
    rest = [c for c in portfolio if space.config_key(c) not in seen]
    return (probes + rest)[:SIZE]


def evaluate_fold(
    held_out: list[Task], pool: list[Task], seed: int
) -> tuple[dict[str, list[np.ndarray]], dict[str, Any]]:
    clusterings = {
        "meta": meta_cluster_tasks(pool, seed=seed),
        "meta-forced": meta_cluster_tasks(pool, min_silhouette=-1.0, seed=seed),
        "single": cluster_tasks(pool),
        "single-forced": cluster_tasks(pool, min_silhouette=-1.0),
    }
    everything = greedy_portfolio(pool, SIZE)
    portfolios: dict[tuple[str, ...], list[Config]] = {}

    def portfolio_of(tasks: list[Task]) -> list[Config]:
        key = tuple(sorted(t.name for t in tasks))
        if key not in portfolios:
            portfolios[key] = greedy_portfolio(tasks, SIZE)
        return portfolios[key]

    rng = np.random.default_rng(seed)
    controls = [random_clustering(clusterings["meta-forced"], rng) for _ in range(RANDOM_DRAWS)]
    kb = KnowledgeBase(pool)
    curves: dict[str, list[np.ndarray]] = {m: [] for m in METHODS}
    restricted = dict.fromkeys(clusterings, 0)
    for task in held_out:
        target = Task(task.name + " (descriptor)", descriptor=task.descriptor)
        anchor = nearest_name(target, pool)
        curves["all"].append(regret_curve(task, everything))
        for method, clustering in clusterings.items():
            members = cluster_of(clustering, anchor, pool)
            restricted[method] += len(members) < len(pool)
            curves[method].append(regret_curve(task, portfolio_of(members)))
        draws = [regret_curve(task, portfolio_of(cluster_of(c, anchor, pool))) for c in controls]
        curves["random"].append(np.mean(draws, axis=0))
        probes = everything[:PROBES]
        observed = Task(
            task.name + " (probes)",
            task.space,
            probes,
            list(regret_matrix([task], probes)[:, 0]),
            descriptor=task.descriptor,
        )
        probe_anchor = nearest_name(observed, pool)
        rest = portfolio_of(cluster_of(clusterings["meta-forced"], probe_anchor, pool))
        curves["meta-forced+probes"].append(regret_curve(task, with_probes(probes, rest, task)))
        assert task.space is not None
        near = kb.relevant(task.space, target, k=10)
        curves["nearest-10"].append(regret_curve(task, portfolio_of(near)))
    sizes = {
        m: sorted((len(c) for c in clusterings[m].clusters()), reverse=True) for m in clusterings
    }
    return curves, {"pool": len(pool), "cluster_sizes": sizes, "restricted": restricted}


def paired(method: np.ndarray, baseline: np.ndarray) -> dict[str, float]:
    """Wins / ties / losses of ``method`` against ``baseline`` (lower is better) and p-values."""
    diff = method - baseline
    wins, losses = int(np.sum(diff < -1e-12)), int(np.sum(diff > 1e-12))
    ties = len(diff) - wins - losses
    sign = float(stats.binomtest(wins, wins + losses).pvalue) if wins + losses else 1.0
    wilcoxon = float(stats.wilcoxon(method, baseline).pvalue) if wins + losses else 1.0
    return {
        "wins": wins / len(diff),
        "ties": ties / len(diff),
        "losses": losses / len(diff),
        "p_sign": sign,
        "p_wilcoxon": wilcoxon,
    }


def summarise(curves: dict[str, np.ndarray]) -> dict[str, Any]:
    index = [n - 1 for n in CHECKPOINTS]
    regret = {
        m: {str(n): float(c[:, n - 1].mean()) for n in CHECKPOINTS} for m, c in curves.items()
    }
    median = {
        m: {str(n): float(np.median(c[:, n - 1])) for n in CHECKPOINTS} for m, c in curves.items()
    }
    score = {m: c[:, index].mean(axis=1) for m, c in curves.items()}
    versus = {m: paired(score[m], score["all"]) for m in curves if m != "all"}
    per_n = {
        m: {str(n): paired(curves[m][:, n - 1], curves["all"][:, n - 1]) for n in CHECKPOINTS}
        for m in curves
        if m != "all"
    }
    return {
        "regret": regret,
        "median": median,
        "mean_over_n": {m: float(s.mean()) for m, s in score.items()},
        "versus_all": versus,
        "versus_all_by_n": per_n,
    }


def report(summary: dict[str, Any], command: str) -> str:
    lines = [
        "# Choosing warm-start tasks by cluster",
        "",
        f"Made with `{command}` ({summary['seconds']:.0f} s).",
        "",
        f"{summary['n_tasks']} held-out tasks from {len(summary['sets'])} knowledge bases "
        f"({', '.join(summary['sets'])}), {summary['folds']} folds each; ten warm-start configs "
        "from a greedy portfolio over the chosen tasks; normalised regret (0 = the task's best "
        "config, 1 = its worst) after n configs. Wins / ties / losses and the p-values compare "
        "each task's regret averaged over n = 1, 3, 5, 10 with `all`, paired.",
        "",
        "| method | mean regret n=1 | n=3 | n=5 | n=10 | median n=5 | mean over n "
        "| difference to all | wins | ties | losses | Wilcoxon p | sign p |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for method in METHODS:
        r = summary["regret"][method]
        v = summary["versus_all"].get(method)
        mean = summary["mean_over_n"][method]
        tail = (
            "| - | - | - | - | - | - |"
            if v is None
            else (
                f"| {mean - summary['mean_over_n']['all']:+.4f} | {v['wins']:.0%} | {v['ties']:.0%} "
                f"| {v['losses']:.0%} | {v['p_wilcoxon']:.3g} | {v['p_sign']:.3g} |"
            )
        )
        lines.append(
            f"| {method} | "
            + " | ".join(f"{r[str(n)]:.4f}" for n in CHECKPOINTS)
            + f" | {summary['median'][method]['5']:.4f} | {mean:.4f} "
            + tail
        )
    better = [m for m, helps in summary["helps_by_method"].items() if helps]
    lines += [
        "",
        f"**Does the library's clustering (`meta`) help against all tasks? {'Yes' if summary['helps'] else 'No'}** "
        "(yes would need a lower mean regret over n and a Wilcoxon p < 0.05). Methods that meet "
        f"that bar: {', '.join(better) if better else 'none'} (two-sided tests, not corrected "
        "for the seven comparisons).",
        "",
        "Wilcoxon p at each n (wins / losses against `all`):",
        "",
        "| method | " + " | ".join(f"n={n}" for n in CHECKPOINTS) + " |",
        "|---|" + "---|" * len(CHECKPOINTS),
    ]
    for method, by_n in summary["versus_all_by_n"].items():
        cells = [
            f"{by_n[str(n)]['p_wilcoxon']:.3g} ({by_n[str(n)]['wins']:.0%} / {by_n[str(n)]['losses']:.0%})"
            for n in CHECKPOINTS
        ]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Mean regret over n by knowledge base:",
        "",
        "| knowledge | tasks | "
        + " | ".join(METHODS)
        + " | meta: tasks in a cluster < pool | meta clusters (sizes, last fold) |",
        "|---|---|" + "---|" * len(METHODS) + "---|---|",
    ]
    for name, part in summary["by_set"].items():
        lines.append(
            f"| {name} | {part['n_tasks']} | "
            + " | ".join(f"{part['mean_over_n'][m]:.4f}" for m in METHODS)
            + f" | {part['restricted']['meta']:.0%} | {part['cluster_sizes']['meta']} |"
        )
    return "\n".join(lines) + "\n"


def plot(curves: dict[str, np.ndarray], out: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5))
    steps = np.arange(1, SIZE + 1)
    for method in METHODS:
        style = "k-" if method == "all" else ("--" if method == "random" else "-")
        axis.plot(steps, curves[method].mean(axis=0), style, marker="o", markersize=3, label=method)
    axis.set_xlabel("warm-start configs evaluated")
    axis.set_ylabel("mean normalised regret (held-out tasks)")
    axis.set_yscale("log")
    axis.legend(fontsize=8)
    figure.tight_layout()
    path = out / "regret.png"
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def run(
    sets: dict[str, list[Task]], folds: int, seed: int, progress: Callable[[str], None]
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    everything: dict[str, list[np.ndarray]] = {m: [] for m in METHODS}
    by_set: dict[str, Any] = {}
    for set_index, (name, tasks) in enumerate(sets.items()):
        rng = np.random.default_rng([seed, set_index])
        assignment = rng.permutation(len(tasks)) % folds
        part: dict[str, list[np.ndarray]] = {m: [] for m in METHODS}
        info: dict[str, Any] = {}
        restricted = dict.fromkeys(("meta", "meta-forced", "single", "single-forced"), 0)
        for fold in range(folds):
            held_out = [t for t, f in zip(tasks, assignment, strict=True) if f == fold]
            pool = [t for t, f in zip(tasks, assignment, strict=True) if f != fold]
            curves, info = evaluate_fold(held_out, pool, seed)
            for method in METHODS:
                part[method] += curves[method]
            for method, count in info["restricted"].items():
                restricted[method] += count
            progress(f"{name}: fold {fold + 1}/{folds}, clusters {info['cluster_sizes']['meta']}")
        arrays = {m: np.array(c) for m, c in part.items()}
        by_set[name] = {
            "n_tasks": len(tasks),
            "cluster_sizes": info["cluster_sizes"],
            # Held-out tasks whose cluster was smaller than the pool (else: all tasks).
            "restricted": {m: c / len(tasks) for m, c in restricted.items()},
            "mean_over_n": summarise(arrays)["mean_over_n"],
        }
        for method in METHODS:
            everything[method] += part[method]
    return {m: np.array(c) for m, c in everything.items()}, by_set


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="keel-hgb only, three folds")
    parser.add_argument(
        "--folds", type=int, default=None, help="folds per knowledge base (default 5, quick 3)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=out_directory, required=True)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    folds = args.folds or (3 if args.quick else 5)
    args.out.mkdir(parents=True, exist_ok=True)
    command = (
        "python benchmarks/meta_clustering.py"
        + (" --quick" if args.quick else "")
        + (f" --folds {args.folds}" if args.folds else "")
        + f" --out {args.out}"
    )
    start = time.perf_counter()
    sets = knowledge_sets(args.quick)
    curves, by_set = run(sets, folds, args.seed, lambda line: print(line, flush=True))
    summary: dict[str, Any] = {
        "command": command,
        "quick": args.quick,
        "folds": folds,
        "seed": args.seed,
        "sets": list(sets),
        "n_tasks": len(curves["all"]),
        "checkpoints": list(CHECKPOINTS),
    }
    summary.update(summarise(curves))
    meta = summary["versus_all"]["meta"]
    summary["helps"] = bool(
        summary["mean_over_n"]["meta"] < summary["mean_over_n"]["all"] and meta["p_wilcoxon"] < 0.05
    )
    summary["helps_by_method"] = {
        m: bool(
            summary["mean_over_n"][m] < summary["mean_over_n"]["all"] and v["p_wilcoxon"] < 0.05
        )
        for m, v in summary["versus_all"].items()
    }
    summary["by_set"] = by_set
    summary["seconds"] = time.perf_counter() - start
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    text = report(summary, command)
    figure = plot(curves, args.out)
    (args.out / "README.md").write_text(
        text + f"\n![mean regret against configs evaluated]({figure.name})\n"
    )
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
