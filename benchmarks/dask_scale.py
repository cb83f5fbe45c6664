"""Trials per second and database connections of ``optimize`` on a Dask ``LocalCluster``.

For W = 1, 2, 4, 8, 16 worker processes (one thread each) and each SQL backend, one
study runs ``--rounds x W`` trials whose objective sleeps ``--sleep`` seconds (1 s by
default), after a warm-up round of W trials that is not timed (workers import metahpo
and open their first connection). Reported per row:

* trials/s over the timed trials (the target is at least 0.85 W with 1 s trials), and
  that rate as a fraction of W / sleep;
* the peak number of database connections, sampled every 50 ms: PostgreSQL client
  backends (``pg_stat_activity``), or for SQLite the open handles of the database file
  across the driver and the workers (``/proc/<pid>/fd``); the target is at most 2 W + 2;
* COMPLETE trials (must equal the trials asked for).

Then the bare SQL storage write rate: ``create_trial`` + ``finish_trial`` (2 writes per
trial) and ``heartbeat`` (1 write) in one thread, per backend.

PostgreSQL: the server of ``METAHPO_TEST_POSTGRES_URL`` if set, else a throw-away server
from the Debian binaries (see :mod:`metahpo.testing`). The table is written to
``benchmarks/results/dask_scale.md`` with the command that made it.

Usage::

    python benchmarks/dask_scale.py                        # W = 1..16, both backends
    python benchmarks/dask_scale.py --workers 1,2 --backends sqlite --rounds 3
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shlex
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "dask_scale.md"


def sleeping_objective(seconds: float) -> Callable[..., float]:
    def objective(trial: object) -> float:
        import time as _time

        _time.sleep(seconds)
        return 0.0

    return objective


def pg_connections(admin_url: str) -> Callable[[], int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(admin_url, pool_size=1, max_overflow=0)

    def count() -> int:
        with engine.connect() as connection:
            return int(connection.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                "AND pid <> pg_backend_pid()")).scalar_one())

    return count


def sqlite_handles(path: str, pids: Callable[[], list[int]]) -> Callable[[], int]:
    real = os.path.realpath(path)

    def count() -> int:
        total = 0
        for pid in pids():
            with contextlib.suppress(OSError):
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    with contextlib.suppress(OSError):
                        if os.readlink(f"/proc/{pid}/fd/{fd}") == real:
                            total += 1
        return total

    return count


class PeakSampler:
    def __init__(self, count: Callable[[], int]) -> None:
        self.count, self.peak, self._stop = count, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):
                self.peak = max(self.peak, self.count())
            time.sleep(0.05)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def run_cell(client: object, url: str, workers: int, rounds: int, sleep: float,
             count: Callable[[], int]) -> dict[str, float]:
    import metahpo as mh
    from metahpo.storage import SQLStorage
    from metahpo.trial import TrialState

    storage = SQLStorage(url)
    study = mh.create_study(space=mh.Space({"x": mh.Float(0.0, 1.0)}), storage=storage,
                            optimizer="random", seed=0)
    objective = sleeping_objective(sleep)
    study.optimize(objective, n_trials=workers, executor=client)  # Warm-up, not timed.
    n_trials = rounds * workers
    with PeakSampler(count) as sampler:
        start = time.perf_counter()
        study.optimize(objective, n_trials=n_trials, executor=client)
        wall = time.perf_counter() - start
    complete = len(study.get_trials([TrialState.COMPLETE])) - workers
    storage.close()
    return {"trials": n_trials, "complete": complete, "wall": wall, "rate": n_trials / wall,
            "peak": sampler.peak}


def write_rate(url: str, n: int) -> tuple[float, float]:
    from metahpo.storage import SQLStorage
    from metahpo.trial import TrialState

    storage = SQLStorage(url)
    study = storage.create_study(f"writes-{time.time_ns()}", space={}, direction="minimize", seed=0,
                                 optimizer={}, scheduler={})
    start = time.perf_counter()
    numbers = []
    for _ in range(n):
        trial = storage.create_trial(study.study_id, config={"x": 0.5})
        storage.finish_trial(study.study_id, trial.number, TrialState.COMPLETE, 1.0)
        numbers.append(trial.number)
    trial_writes = 2 * n / (time.perf_counter() - start)
    running = storage.create_trial(study.study_id, config={"x": 0.5})
    start = time.perf_counter()
    for _ in range(n):
        storage.heartbeat(study.study_id, running.number)
    beats = n / (time.perf_counter() - start)
    storage.close()
    return trial_writes, beats


@contextlib.contextmanager
def backend_url(backend: str, folder: str) -> Iterator[tuple[str, str | None]]:
    if backend == "sqlite":
        yield f"sqlite:///{folder}/scale.db", None
        return
    from metahpo.testing import fresh_schema, postgres_server

    with postgres_server() as server, fresh_schema(server) as url:
        yield url, server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1,2,4,8,16")
    parser.add_argument("--backends", default="sqlite,postgresql")
    # Ten trials per worker: a steady-state rate, not one dominated by the first and last round.
    parser.add_argument("--rounds", type=int, default=10, help="timed trials per worker")
    parser.add_argument("--sleep", type=float, default=1.0)
    parser.add_argument("--writes", type=int, default=300)
    args = parser.parse_args()
    from distributed import Client, LocalCluster

    workers_list = [int(w) for w in args.workers.split(",")]
    backends = args.backends.split(",")
    source = str(Path(__file__).resolve().parents[1] / "src")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH")) if p)
    rows, writes = [], []
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        urls = {b: stack.enter_context(backend_url(b, folder)) for b in backends}
        for workers in workers_list:
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              dashboard_address=None) as cluster, Client(cluster) as client:
                client.wait_for_workers(workers)
                pids = [os.getpid(), *client.run(os.getpid).values()]
                for backend in backends:
                    url, admin = urls[backend]
                    count = (pg_connections(admin) if admin else
                             sqlite_handles(f"{folder}/scale.db", lambda pids=pids: pids))
                    cell = run_cell(client, url, workers, args.rounds, args.sleep, count)
                    rows.append((backend, workers, cell))
                    print(backend, workers, {k: round(v, 3) for k, v in cell.items()}, flush=True)
        for backend in backends:
            writes.append((backend, *write_rate(urls[backend][0], args.writes)))
    command = "python benchmarks/dask_scale.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    lines = [
        "# Dask scale: 1 s trials on a LocalCluster, SQLite and PostgreSQL", "",
        f"Command: `{command.strip()}`  ", f"Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; timed trials per cell: {args.rounds} x W after a warm-up "
        f"round; sleep {args.sleep:g} s.", "",
        "| backend | W | trials | COMPLETE | wall s | trials/s | target 0.85 W | met | peak connections | limit 2W+2 | met |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for backend, workers, cell in rows:
        target, limit = 0.85 * workers / args.sleep, 2 * workers + 2
        lines.append(
            f"| {backend} | {workers} | {cell['trials']} | {cell['complete']} | {cell['wall']:.1f} | "
            f"{cell['rate']:.2f} | {target:.2f} | {'yes' if cell['rate'] >= target else 'no'} | "
            f"{cell['peak']} | {limit} | {'yes' if cell['peak'] <= limit else 'no'} |")
    lines += ["", "SQL storage writes per second (one thread):", "",
              "| backend | trial writes/s (create + finish) | heartbeats/s |", "|---|---|---|"]
    lines += [f"| {b} | {t:.0f} | {h:.0f} |" for b, t, h in writes]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
