"""Per-trial overhead of ask + tell: metahpo beside Optuna, in memory and on SQLite.

Each backend runs one random-search study over 10 parameters with a trivial
objective, by hand with ask and tell, up to ``--trials`` trials (10,000 by default).
Every ask + objective + tell is timed; the table reports the mean milliseconds per
trial over windows around 100, 1,000 and 10,000 trials (trials 90-109, 990-1,009 and
9,980-9,999, counted from 0) and the total wall time. A backend that passes
``--max-seconds`` stops there and reports the windows it reached.

Backends: ``metahpo-memory`` (``storage=None``), ``metahpo-sqlite`` (a SQLite file),
``optuna-memory`` (Optuna's default in-memory storage) and ``optuna-sqlite``
(``optuna.storages.RDBStorage`` on a SQLite file), both libraries with their random
sampler. They run one after the other in the same process, so compare the ratios of
one run: the machine may be shared, and its load average is recorded at the start
and at the end.

Each run writes ``benchmarks/results/ask_tell_overhead_<label>.json`` and then
rebuilds ``benchmarks/results/ask_tell_overhead.md`` from every JSON file there, one
table per label (``before`` and ``after`` the incremental trial reads, say).

Usage::

    python benchmarks/ask_tell_overhead.py --label after
    python benchmarks/ask_tell_overhead.py --trials 1200 --backends metahpo-sqlite --label quick
    python benchmarks/ask_tell_overhead.py --report-only
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shlex
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
BACKENDS = ("metahpo-memory", "metahpo-sqlite", "optuna-memory", "optuna-sqlite")
# (label, first trial, end) of each window, trials counted from 0.
WINDOWS = (("100", 90, 110), ("1,000", 990, 1010), ("10,000", 9980, 10000))
N_PARAMS = 10


def objective(config: dict[str, Any]) -> float:
    return sum((float(value) - 0.3) ** 2 for value in config.values())


def run_metahpo(url: str | None, n_trials: int, max_seconds: float, seed: int) -> list[float]:
    import metahpo as mh

    space = mh.Space({f"x{i}": mh.Float(0.0, 1.0) for i in range(N_PARAMS)})
    study = mh.create_study(name="overhead", space=space, storage=url, optimizer="random",
                            seed=seed)
    times: list[float] = []
    deadline = time.perf_counter() + max_seconds
    for _ in range(n_trials):
        start = time.perf_counter()
        trial = study.ask()
        study.tell(trial, objective(trial.config))
        end = time.perf_counter()
        times.append(end - start)
        if end > deadline:
            break
    study.storage.close()
    return times


def run_optuna(url: str | None, n_trials: int, max_seconds: float, seed: int) -> list[float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = None if url is None else optuna.storages.RDBStorage(url)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed), storage=storage)
    distributions = {f"x{i}": optuna.distributions.FloatDistribution(0.0, 1.0)
                     for i in range(N_PARAMS)}
    times: list[float] = []
    deadline = time.perf_counter() + max_seconds
    for _ in range(n_trials):
        start = time.perf_counter()
        trial = study.ask(distributions)
        study.tell(trial, objective(trial.params))
        end = time.perf_counter()
        times.append(end - start)
        if end > deadline:
            break
    if storage is not None:
        storage.engine.dispose()
    return times


def window_means(times: list[float]) -> dict[str, float | None]:
    means: dict[str, float | None] = {}
    for label, first, end in WINDOWS:
        part = times[first:end]
        means[label] = 1000.0 * sum(part) / len(part) if len(part) == end - first else None
    return means


def measure(backend: str, n_trials: int, max_seconds: float, seed: int, folder: str) -> dict[str, Any]:
    runner: Callable[[str | None, int, float, int], list[float]]
    runner = run_metahpo if backend.startswith("metahpo") else run_optuna
    url = f"sqlite:///{folder}/{backend}.db" if backend.endswith("sqlite") else None
    started = time.perf_counter()
    times = runner(url, n_trials, max_seconds, seed)
    wall = time.perf_counter() - started
    return {"backend": backend, "trials": len(times), "wall_seconds": wall,
            "stopped_early": len(times) < n_trials, "window_ms": window_means(times),
            "mean_ms": 1000.0 * sum(times) / max(len(times), 1)}


def _cell(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def table(run: dict[str, Any]) -> list[str]:
    labels = [label for label, _, _ in WINDOWS]
    lines = ["| backend | " + " | ".join(f"ms/trial @ {label}" for label in labels)
             + " | mean ms/trial | trials | wall s |",
             "|---" * (len(labels) + 4) + "|"]
    for row in run["results"]:
        windows = row["window_ms"]
        trials = f"{row['trials']:,}" + (" (stopped: time cap)" if row["stopped_early"] else "")
        lines.append(f"| {row['backend']} | "
                     + " | ".join(_cell(windows[label]) for label in labels)
                     + f" | {_cell(row['mean_ms'])} | {trials} | {_cell(row['wall_seconds'], 1)} |")
    by_name = {row["backend"]: row for row in run["results"]}
    ratios = []
    for kind in ("memory", "sqlite"):
        ours, theirs = by_name.get(f"metahpo-{kind}"), by_name.get(f"optuna-{kind}")
        if ours is None or theirs is None:
            continue
        cells = []
        for label in labels:
            a, b = ours["window_ms"][label], theirs["window_ms"][label]
            cells.append("—" if a is None or b is None else f"{a / b:.2f}x")
        ratios.append(f"| metahpo / optuna, {kind} | " + " | ".join(cells) + " | | | |")
    if ratios:
        lines += ratios
    return lines


def change_table(runs: list[dict[str, Any]]) -> list[str]:
    """Before / after per backend and window, for the runs labelled ``before`` and ``after``."""
    by_label = {run["label"]: {row["backend"]: row for row in run["results"]} for run in runs}
    before, after = by_label.get("before"), by_label.get("after")
    if before is None or after is None:
        return []
    lines = ["## Before and after the incremental trial reads", "",
             "Milliseconds per trial in the `before` and `after` runs below (each beside its own",
             "Optuna measurements), and after / before. Optuna's code is the same in both runs,",
             "so its rows show how far the machine's load alone moved the numbers; the",
             "`*-memory-repeat` runs further down give a second, back-to-back in-memory sample.",
             "",
             "| backend | window | before ms | after ms | after / before |", "|---|---|---|---|---|"]
    for backend in BACKENDS:
        if backend not in before or backend not in after:
            continue
        for label, _, _ in WINDOWS:
            a, b = before[backend]["window_ms"][label], after[backend]["window_ms"][label]
            ratio = "—" if a is None or b is None else f"{b / a:.2f}x"
            lines.append(f"| {backend} | {label} | {_cell(a)} | {_cell(b)} | {ratio} |")
        a, b = before[backend], after[backend]
        lines.append(f"| {backend} | total wall s (trials) | {_cell(a['wall_seconds'], 1)} "
                     f"({a['trials']:,}) | {_cell(b['wall_seconds'], 1)} ({b['trials']:,}) | |")
    return [*lines, ""]


def write_report() -> Path:
    stored = []
    for path in RESULTS.glob("ask_tell_overhead_*.json"):
        stored.append((path.stat().st_mtime, json.loads(path.read_text())))
    runs = [run for _, run in sorted(stored, key=lambda item: (item[1]["finished_at"], item[0]))]
    out = [
        "# ask + tell overhead: metahpo beside Optuna",
        "",
        "Random search, 10 float parameters, trivial objective, ask and tell by hand; mean",
        "milliseconds per ask + objective + tell over trials 90-109, 990-1,009 and",
        "9,980-9,999 (counted from 0). Written by `benchmarks/ask_tell_overhead.py`; every",
        "run below ran its backends one after the other in one process. The machine",
        "(2 cores) is shared: compare the metahpo / optuna ratios within one run rather",
        "than absolute times across runs.",
        "",
    ]
    out += change_table(runs)
    for run in runs:
        out += [
            f"## {run['label']}",
            "",
            f"- command: `{run['command']}`",
            f"- code: {run['code']}",
            f"- finished: {run['finished_at']} UTC; python {run['python']}, optuna "
            f"{run['optuna']}, {run['machine']}",
            f"- load average (1, 5, 15 min) at start {run['load_start']}, at end {run['load_end']}",
            "",
            *table(run),
            "",
        ]
        if run.get("note"):
            out += [run["note"], ""]
    path = RESULTS / "ask_tell_overhead.md"
    path.write_text("\n".join(out))
    return path


def _load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def _code_description() -> str:
    import metahpo

    source = Path(metahpo.__file__).resolve().parent
    try:
        import subprocess

        commit = subprocess.run(["git", "-C", str(source), "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown commit"
    return f"metahpo from `{source}` ({commit})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--max-seconds", type=float, default=3600.0,
                        help="stop a backend after this many seconds (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label", default="run", help="names this run's JSON file and section")
    parser.add_argument("--note", default="", help="a line printed under this run's table")
    parser.add_argument("--report-only", action="store_true",
                        help="only rebuild the Markdown file from the stored JSON runs")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.report_only:
        print(write_report().read_text())
        return
    import optuna

    run: dict[str, Any] = {
        "label": args.label,
        "command": "python " + shlex.join(["benchmarks/ask_tell_overhead.py", *sys.argv[1:]]),
        "code": _code_description(),
        "python": platform.python_version(),
        "optuna": optuna.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_start": _load(),
        "note": args.note,
        "results": [],
    }
    with tempfile.TemporaryDirectory() as folder:
        for backend in args.backends:
            result = measure(backend, args.trials, args.max_seconds, args.seed, folder)
            run["results"].append(result)
            print(f"{backend}: {result['trials']} trials in {result['wall_seconds']:.1f} s, "
                  f"windows {result['window_ms']}", flush=True)
    run["load_end"] = _load()
    run["finished_at"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"ask_tell_overhead_{args.label}.json").write_text(json.dumps(run, indent=1) + "\n")
    print("\n".join(table(run)))
    write_report()


if __name__ == "__main__":
    main()
