"""Many processes, one study: trial throughput of the SQL storages, and nothing lost.

Each of ``--processes`` worker processes opens the storage from its URL and writes
``--trials`` trials into one shared study, all starting at the same moment. Two modes:

* ``study``: each worker runs ``mh.create_study(..., load_if_exists=True)`` and
  ``study.optimize(objective, n_trials=...)`` with random search on a cheap objective,
  so the number is the cost of the whole ask/tell loop on that storage;
* ``storage``: each worker calls the storage directly (``create_trial`` + ``report`` +
  ``finish_trial``), the bare cost of a trial write.

Afterwards the study must hold exactly ``processes x trials`` COMPLETE trials numbered
0..N-1. The table (trials per second of wall time, from the first worker's start to
the last worker's end) is printed and written to
``benchmarks/results/storage_concurrency.md`` with the command that produced it.

PostgreSQL: the server of ``METAHPO_TEST_POSTGRES_URL`` if set, else a throw-away
server started from the Debian binaries (see :mod:`metahpo.testing`).

Usage::

    python benchmarks/storage_concurrency.py                 # 8 x 100, both backends, both modes
    python benchmarks/storage_concurrency.py --processes 4 --trials 25 --backends sqlite
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import platform
import queue
import shlex
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from metahpo_bench.options import out_file

RESULTS = Path(__file__).parent / "results" / "storage_concurrency.md"
STUDY_NAME = "storage-concurrency"


@dataclass(frozen=True)
class Outcome:
    backend: str
    mode: str
    processes: int
    trials: int
    seconds: float
    ok: bool
    problem: str

    @property
    def rate(self) -> float:
        return self.trials / self.seconds if self.seconds > 0 else float("nan")


def _objective(trial: object) -> float:
    config = trial.config  # type: ignore[attr-defined]
    return (config["x"] - 0.3) ** 2 + (config["y"] + 0.1) ** 2


def _worker(url: str, mode: str, trials: int, worker: int, start: object, out: object) -> None:
    import metahpo as mh
    from metahpo.storage import SQLStorage
    from metahpo.trial import TrialState

    space = mh.Space({"x": mh.Float(-1.0, 1.0), "y": mh.Float(-1.0, 1.0)})
    if mode == "study":
        study = mh.create_study(
            name=STUDY_NAME,
            space=space,
            storage=url,
            optimizer="random",
            seed=0,
            load_if_exists=True,
        )
        start.wait()  # type: ignore[attr-defined]
        began = time.time()
        study.optimize(_objective, n_trials=trials, show_progress=False)
    else:
        storage = SQLStorage(url)
        study_id = storage.get_study(STUDY_NAME).study_id
        start.wait()  # type: ignore[attr-defined]
        began = time.time()
        for index in range(trials):
            trial = storage.create_trial(study_id, config={"x": worker / 10, "y": index / 100})
            storage.report(study_id, trial.number, 1, float(index))
            storage.finish_trial(study_id, trial.number, TrialState.COMPLETE, float(index))
        storage.close()
    out.put((began, time.time()))  # type: ignore[attr-defined]


def run_once(url: str, backend: str, mode: str, processes: int, trials: int) -> Outcome:
    import metahpo as mh
    from metahpo.storage import SQLStorage
    from metahpo.trial import TrialState

    space = mh.Space({"x": mh.Float(-1.0, 1.0), "y": mh.Float(-1.0, 1.0)})
    storage = SQLStorage(url)
    # The study exists before the workers start, so that they all load the same one.
    mh.create_study(name=STUDY_NAME, space=space, storage=storage, optimizer="random", seed=0)
    context = multiprocessing.get_context("fork")
    start, out = context.Event(), context.Queue()
    workers = [
        context.Process(target=_worker, args=(url, mode, trials, w, start, out))
        for w in range(processes)
    ]
    for process in workers:
        process.start()
    time.sleep(0.5)  # Let every worker import and connect before the start signal.
    start.set()
    spans: list[tuple[float, float]] = []
    while len(spans) < processes:
        try:
            spans.append(out.get(timeout=5))
        except queue.Empty:
            if not any(process.is_alive() for process in workers) and out.empty():
                break  # A worker died without reporting; the checks below say so.
    for process in workers:
        process.join()
    if not spans:
        spans = [(0.0, 0.0)]
    seconds = max(end for _, end in spans) - min(began for began, _ in spans)
    expected = processes * trials
    found = storage.get_trials(storage.get_study(STUDY_NAME).study_id)
    numbers = [t.number for t in found]
    complete = sum(t.state is TrialState.COMPLETE for t in found)
    problems = []
    if any(process.exitcode != 0 for process in workers):
        problems.append(f"worker exit codes {[p.exitcode for p in workers]}")
    if numbers != list(range(expected)):
        problems.append(f"{len(numbers)} trials, numbers not 0..{expected - 1}")
    if complete != expected:
        problems.append(f"{complete} COMPLETE of {expected}")
    storage.close()
    return Outcome(backend, mode, processes, expected, seconds, not problems, "; ".join(problems))


@contextlib.contextmanager
def database(backend: str) -> Iterator[str]:
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="metahpo-bench-") as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    from metahpo.testing import fresh_schema, postgres_server

    with postgres_server() as server, fresh_schema(server) as url:
        yield url


def render(outcomes: list[Outcome], command: str, loads: tuple[float, float]) -> str:
    lines = [
        "# Storage concurrency",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} cores shared with other work while measured (1-minute load "
        f"average {loads[0]:.1f} before, {loads[1]:.1f} after).",
        "",
        "| backend | mode | processes | trials | wall time (s) | trials / s | all numbered 0..N-1, COMPLETE |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for o in outcomes:
        check = "yes" if o.ok else f"NO: {o.problem}"
        lines.append(
            f"| {o.backend} | {o.mode} | {o.processes} | {o.trials} | {o.seconds:.2f} "
            f"| {o.rate:.1f} | {check} |"
        )
    lines += [
        "",
        "`study`: each process runs `study.optimize(n_trials=...)` (random search, cheap "
        "objective; every ask also reads the study's trials). `storage`: each process "
        "calls `create_trial` + `report` + `finish_trial` directly.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=8)
    parser.add_argument("--trials", type=int, default=100, help="trials per process")
    parser.add_argument(
        "--backends", nargs="+", default=["sqlite", "postgres"], choices=["sqlite", "postgres"]
    )
    parser.add_argument(
        "--modes", nargs="+", default=["study", "storage"], choices=["study", "storage"]
    )
    parser.add_argument("--output", type=out_file, default=str(RESULTS))
    args = parser.parse_args(argv)
    outcomes = []
    load_before = os.getloadavg()[0]
    for backend in args.backends:
        for mode in args.modes:
            with database(backend) as url:
                outcome = run_once(url, backend, mode, args.processes, args.trials)
            outcomes.append(outcome)
            print(
                f"{backend:8s} {mode:8s} {outcome.trials} trials in {outcome.seconds:.2f} s: "
                f"{outcome.rate:.1f} trials/s {'ok' if outcome.ok else outcome.problem}",
                flush=True,
            )
    command = "python " + " ".join(
        shlex.quote(a)
        for a in ["benchmarks/storage_concurrency.py", *(sys.argv[1:] if argv is None else argv)]
    )
    table = render(outcomes, command, (load_before, os.getloadavg()[0]))
    print()
    print(table)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(table)
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
