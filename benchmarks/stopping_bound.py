"""How far stopping rules could cut the epochs MetaBO needs, if its proposals stayed the same.

MetaBO alone proposes configs one after another, each trained to the full budget. This
program records those proposals on lcbench (every test task x seed, the meta-train design
of `metahpo-bench run --meta-train-size 256 --meta-train-budgets hyperband`) together with
each config's loss at every rung budget, and then replays the same sequences under
stopping rules: each config trains up to the rung where the rule stops it, and is charged
only the epochs it trained. The proposals are held fixed, so this is a bound on what a
stopping rule can save without better proposals: a real run under the rule proposes
differently (it learns from the stopped runs), which can only be judged by running it.

Rules, each applied at every rung below the full budget (or at one rung), from the second
config on (the first, with nothing to compare with, trains in full):
- ``top 1/eta``: stop a run not in the top 1/eta of the losses the earlier runs reported
  at that rung (ASHA's stopping mode);
- ``median``: stop a run worse than the median of the earlier runs there (the median
  stopping rule of Vizier, Golovin et al. 2017);
- ``incumbent``: stop a run worse there than the best full-budget run so far was.

    PYTHONPATH=src:benchmarks/src OMP_NUM_THREADS=1 .venv/bin/python benchmarks/stopping_bound.py \
        --proposals 40 --seeds 0,1,2 --out benchmarks/results/multifidelity_stopping/bound

Writes ``sequences.jsonl`` (resumed when rerun) and ``README.md`` with the table.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from metahpo_bench.options import out_directory

FULL_EVALS = (15, 40)
TARGET = 0.05
Rule = Callable[[dict[float, float], list[dict[float, float]], dict[float, float] | None, float], bool]


def record(out: Path, seeds: list[int], n_proposals: int) -> None:
    """MetaBO-alone proposal sequences with each config's loss at every rung budget."""
    from metahpo.storage import InMemoryStorage
    from metahpo.study import create_study
    from metahpo_bench._registry import get_problem
    from metahpo_bench.runner._adapter import RunContext
    from metahpo_bench.runner._budget import budget_steps
    from metahpo_bench.runner._meta_train import build_meta_train
    from metahpo_bench.runner._metahpo import _knowledge, build_optimizer
    from metahpo_bench.runner._regret import default_cache_dir
    from metahpo_bench.runner._split import split_tasks, train_tasks_for

    problem = get_problem("lcbench")
    split = split_tasks(problem.tasks, "random", 8, 0, None)
    rungs = budget_steps(problem)
    union = sorted({t for task in split.test for t in train_tasks_for(split, task, problem.tasks)},
                   key=list(problem.tasks).index)
    data = build_meta_train(problem, union, 256, 0, default_cache_dir(), {}, tuple(rungs[:-1]))
    path = out / "sequences.jsonl"
    done = {(r["task"], r["seed"]) for r in _read(path)}
    with path.open("a") as file:
        for seed in seeds:
            for task in split.test:
                if (task, seed) in done:
                    continue
                started = time.perf_counter()
                context = RunContext(problem, task, seed, n_proposals,
                                     data.restricted(train_tasks_for(split, task, problem.tasks)))
                optimizer = build_optimizer("metabo", _knowledge(context), meta_seed=seed)
                study = create_study(space=problem.space, storage=InMemoryStorage(),
                                     optimizer=optimizer, seed=seed)
                losses = []
                for _ in range(n_proposals):
                    handle = study.ask()
                    at = {b: problem.evaluate(task, handle.config, b) for b in rungs}
                    study.tell(handle, at[rungs[-1]])
                    losses.append(at)
                bounds = _bounds(problem, task, [at[rungs[-1]] for at in losses])
                file.write(json.dumps({"task": task, "seed": seed, "bounds": bounds,
                                       "losses": [{str(b): v for b, v in at.items()} for at in losses]}) + "\n")
                file.flush()
                print(f"task {task} seed {seed}: {time.perf_counter() - started:.1f} s", flush=True)


def _bounds(problem: object, task: str, losses: list[float]) -> list[float]:
    from metahpo_bench.runner._regret import default_cache_dir, random_draw_bounds

    drawn = random_draw_bounds(problem, task, 10_000, 0, default_cache_dir(), {})  # type: ignore[arg-type]
    widened = drawn.widen(losses)
    return [widened.low, widened.high]


def _read(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def replay(losses: list[dict[float, float]], bounds: list[float], rule: Rule | None,
           rungs: list[float], cap: float) -> float:
    """Epochs until a full-budget run reaches regret ``TARGET`` (inf if the cap or the
    recorded proposals run out first; nan if the proposals ran out before the cap)."""
    full = rungs[-1]
    spent, incumbent, earlier = 0.0, None, []
    for at in losses:
        if spent >= cap:
            return math.inf
        stop = next((rung for rung in rungs[:-1] if rule is not None and incumbent is not None
                     and rule(at, earlier, incumbent, rung)), None)
        # What the run reported: a stopped run's losses up to where it stopped.
        earlier.append(at if stop is None else {b: v for b, v in at.items() if b <= stop})
        if stop is not None:
            spent += stop
            continue
        spent += full
        if (at[full] - bounds[0]) / (bounds[1] - bounds[0]) <= TARGET:
            return spent
        if incumbent is None or at[full] < incumbent[full]:
            incumbent = at
    return math.inf if spent >= cap else math.nan


def rules(rungs: list[float]) -> dict[str, tuple[Rule | None, list[float]]]:
    def top(eta: int) -> Rule:
        def rule(at, earlier, incumbent, rung):  # type: ignore[no-untyped-def]
            values = sorted([*(e[rung] for e in earlier if rung in e), at[rung]])
            return len(values) >= eta and at[rung] > values[max(1, len(values) // eta) - 1]
        return rule

    def incumbent_rule(at, earlier, incumbent, rung):  # type: ignore[no-untyped-def]
        return at[rung] > incumbent[rung]

    def median(at, earlier, incumbent, rung):  # type: ignore[no-untyped-def]
        others = [e[rung] for e in earlier if rung in e]
        return bool(others) and at[rung] > float(np.median([*others, at[rung]]))

    low = rungs[:-1]
    table: dict[str, tuple[Rule | None, list[float]]] = {"MetaBO alone (no stopping)": (None, low)}
    table["top 1/3 at every rung"] = (top(3), low)
    table["median at every rung"] = (median, low)
    for rung in low:
        table[f"median at {rung:g} epochs only"] = (median, [rung])
        table[f"incumbent at {rung:g} epochs only"] = (incumbent_rule, [rung])
    return table


def report(out: Path, command: str) -> str:
    runs = _read(out / "sequences.jsonl")
    rows = [[{float(b): v for b, v in at.items()} for at in r["losses"]] for r in runs]
    rungs = sorted(rows[0][0])
    lines = [
        "# Stopping rules replayed on MetaBO's own proposals (lcbench)", "",
        f"Command: `{command}`", "",
        f"{len(runs)} runs (8 test tasks x seeds), {len(rows[0])} recorded proposals each, rung "
        f"budgets {', '.join(f'{b:g}' for b in rungs)} epochs. Epochs until a run trained to "
        f"{rungs[-1]:g} epochs reaches normalised regret {TARGET}; median over runs (a run that "
        "does not get there counts as infinite), its ratio to MetaBO alone's median, and the "
        "share of runs that get there within the epochs of N full-budget runs. \"Short\" "
        "counts runs whose recorded proposals ran out first (a real run would go on proposing).",
        "",
    ]
    for n_full in FULL_EVALS:
        cap = n_full * rungs[-1]
        lines += [f"## Within {n_full} full-budget runs ({cap:g} epochs)", "",
                  "| rule | median epochs | x alone | reached | short |", "|---|---:|---:|---:|---:|"]
        reference = None
        for name, (rule, where) in rules(rungs).items():
            spent = [replay(row, r["bounds"], rule, [*where, rungs[-1]], cap)
                     for row, r in zip(rows, runs, strict=True)]
            short = sum(math.isnan(s) for s in spent)
            spent = [math.inf if math.isnan(s) else s for s in spent]
            median = float(np.median(spent))
            reference = median if reference is None else reference
            reached = sum(math.isfinite(s) for s in spent)
            lines.append(f"| {name} | {median:g} | {median / reference:.2f} | "
                         f"{reached}/{len(spent)} ({100 * reached / len(spent):.0f}%) | {short} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proposals", type=int, default=40)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--out", type=out_directory, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    record(args.out, [int(s) for s in args.seeds.split(",")], args.proposals)
    command = "benchmarks/stopping_bound.py " + shlex.join(sys.argv[1:])
    text = report(args.out, command)
    (args.out / "README.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
