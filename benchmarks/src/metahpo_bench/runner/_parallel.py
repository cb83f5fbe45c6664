"""Parallel workers simulated in one process: asynchronous evaluations on a simulated clock."""

from __future__ import annotations

import heapq
import math
import time
from dataclasses import dataclass, field
from typing import Any

from metahpo_bench.runner._budget import Evaluator

__all__ = ["run_simulated_workers"]


@dataclass(order=True)
class _Running:
    # Ordered by simulated completion time; at equal times the earlier start completes first.
    finish: float
    start_index: int
    handle: Any = field(compare=False)
    budget: float | None = field(compare=False)
    parent_budget: float | None = field(compare=False)
    loss: float = field(compare=False)
    seconds: float = field(compare=False)


def run_simulated_workers(study: Any, evaluator: Evaluator, workers: int) -> None:
    """Drive ``study`` as ``workers`` parallel workers would, on a simulated clock.

    Each worker holds one asked-but-not-told trial. An evaluation at budget ``b`` takes
    ``b`` units of simulated time (one unit per evaluation without fidelity; a
    promotion under continuation accounting takes what it is charged, ``b`` minus its
    parent's budget), so a worker that starts at time ``t`` is free again at ``t + b``. Trials are told in
    order of simulated completion (ties: the one started first), and a free worker asks
    for its next trial right after the tell, so the scheduler and the optimizer see the
    other workers' trials as RUNNING exactly as with real workers.

    The loss is computed when the trial is asked (problems are deterministic in config
    and budget) but kept from the study until the simulated completion. Workers start
    evaluations while the budget of the evaluations started so far is below the run's
    budget; the ones still running then complete and are recorded, as the serial
    evaluator completes the evaluation that crosses the limit. Records are written in
    completion order with the simulated completion time as ``sim_time``; each record's
    ``wall_time`` is its own ask, evaluation and tell.

    Args:
        study: a metahpo study (``ask``/``tell``).
        evaluator: the run's evaluator; it counts every evaluation's budget once, when
            the evaluation completes.
        workers: the number of simulated workers, >= 1 (1 is the serial loop).
    """
    running: list[_Running] = []
    now = 0.0
    started_budget = 0.0
    started = 0
    limit = evaluator.total_budget * (1.0 - 1e-9)
    while True:
        while len(running) < workers and started_budget < limit:
            clock = time.perf_counter()
            handle = study.ask()
            budget = evaluator.snap(handle.budget)
            loss = evaluator.problem.evaluate(evaluator.task, handle.config, budget)
            parent_budget = handle.parent_budget
            cost = evaluator.cost(budget, parent_budget)
            started_budget += cost
            seconds = time.perf_counter() - clock
            heapq.heappush(
                running,
                _Running(now + cost, started, handle, budget, parent_budget, loss, seconds),
            )
            started += 1
        if not running:
            return
        done = heapq.heappop(running)
        now = done.finish
        if not math.isfinite(done.loss):
            evaluator.account(done.budget, done.loss)  # raises, naming the problem and task
        clock = time.perf_counter()
        study.tell(done.handle, done.loss)
        seconds = done.seconds + time.perf_counter() - clock
        evaluator.account(
            done.budget,
            done.loss,
            wall_time=seconds,
            sim_time=now,
            parent_budget=done.parent_budget,
            config=done.handle.config,
        )
