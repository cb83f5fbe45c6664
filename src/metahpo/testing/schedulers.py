"""The conformance suite every :class:`~metahpo.schedulers.Scheduler` must pass.

Each ``check_*`` function takes a factory, a zero-argument callable that returns a fresh
scheduler, and raises ``AssertionError`` (or the unexpected exception) when the
scheduler breaks the protocol's rules. The checks drive the scheduler through small
simulated studies (one worker or several, with FAILED and PRUNED trials) and check
every job it hands out. Run them all with :func:`check_scheduler`, or one test per
check with pytest::

    import pytest
    from metahpo.testing.schedulers import SCHEDULER_CHECKS

    @pytest.mark.parametrize("check", SCHEDULER_CHECKS, ids=lambda check: check.__name__)
    def test_my_scheduler(check):
        check(lambda: MyScheduler(min_budget=1, max_budget=27))

That a full Hyperband iteration runs the bracket table of Li et al. (2018) is checked
for :class:`~metahpo.schedulers.Hyperband` itself, in ``tests/schedulers``.

Example:
    >>> from metahpo.schedulers import ASHA
    >>> from metahpo.testing.schedulers import check_scheduler
    >>> check_scheduler(lambda: ASHA(min_budget=1, max_budget=9, eta=3))
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from metahpo.history import History
from metahpo.schedulers import Job, Scheduler, scheduler_names, scheduler_spec
from metahpo.schedulers import make_scheduler as scheduler_from_spec
from metahpo.space import Float, Space
from metahpo.testing._helpers import _check, json_round_trip
from metahpo.trial import FrozenTrial, TrialState

__all__ = [
    "SCHEDULER_CHECKS",
    "SchedulerFactory",
    "Step",
    "check_budgets_within_range",
    "check_deterministic_replay",
    "check_failed_and_pruned_trials",
    "check_promotions",
    "check_protocol",
    "check_rungs_are_consistent",
    "check_scheduler",
    "check_should_stop",
    "check_spec_round_trip",
    "simulate",
]

SchedulerFactory = Callable[[], Scheduler]
SPACE = Space({"x": Float(0.0, 1.0), "y": Float(0.0, 1.0)})
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Step:
    """One decision of a simulated study: the history the scheduler saw and its job."""

    history: History
    job: Job


def _loss(config: Any, budget: float | None) -> float:
    # Falls with the budget, like a learning curve, so higher rungs look better.
    return (config["x"] - 0.3) ** 2 + config["y"] + (0.0 if budget is None else 1.0 / budget)


def simulate(
    scheduler: Scheduler,
    n_trials: int = 40,
    workers: int = 1,
    fail_every: int = 0,
    prune_every: int = 0,
    seed: int = 0,
) -> list[Step]:
    """Run a study of ``n_trials`` with ``workers`` trials in flight; the scheduler's steps.

    Trials finish oldest first once ``workers`` are running; trial ``k`` fails when
    ``fail_every`` divides ``k + 1`` and is pruned when ``prune_every`` does.
    """
    trials: list[FrozenTrial] = []
    steps: list[Step] = []
    rng = np.random.default_rng(seed)
    for number in range(n_trials):
        history = History(SPACE, tuple(trials), seed=seed, min_budget=scheduler.min_budget,
                          max_budget=scheduler.max_budget)
        job = scheduler.next_job(history)
        _check(isinstance(job, Job), f"next_job must return a Job, got {job!r}")
        steps.append(Step(history, job))
        config = dict(job.parent.config) if job.parent is not None else SPACE.sample(rng, 1)[0]
        trials.append(FrozenTrial(number, TrialState.RUNNING, config, budget=job.budget,
                                  bracket=job.bracket, rung=job.rung,
                                  parent=None if job.parent is None else job.parent.number))
        running = [i for i, t in enumerate(trials) if t.state is TrialState.RUNNING]
        if len(running) >= workers:
            trials[running[0]] = _finish(trials[running[0]], fail_every, prune_every)
    return steps


def _finish(trial: FrozenTrial, fail_every: int, prune_every: int) -> FrozenTrial:
    if fail_every and (trial.number + 1) % fail_every == 0:
        return trial.evolve(state=TrialState.FAILED, error="simulated failure")
    value = _loss(trial.config, trial.budget)
    if prune_every and (trial.number + 1) % prune_every == 0:
        return trial.evolve(state=TrialState.PRUNED, value=value, intermediate={1.0: value})
    return trial.evolve(state=TrialState.COMPLETE, value=value)


def _runs(make_scheduler: SchedulerFactory) -> list[tuple[str, list[Step]]]:
    return [
        ("one worker", simulate(make_scheduler(), 40)),
        ("four workers", simulate(make_scheduler(), 40, workers=4)),
        ("failures", simulate(make_scheduler(), 40, workers=2, fail_every=4, prune_every=7)),
    ]


def _key(job: Job) -> tuple[Any, ...]:
    return (job.budget, job.bracket, job.rung, None if job.parent is None else job.parent.number)


def check_protocol(make_scheduler: SchedulerFactory) -> None:
    """It is a Scheduler with a name, a budget range (or none) and JSON parameters."""
    scheduler = make_scheduler()
    _check(isinstance(scheduler, Scheduler),
           f"{scheduler!r} lacks a method or attribute of the Scheduler protocol")
    _check(isinstance(scheduler.name, str) and bool(scheduler.name),
           f"a scheduler's name must be a non-empty str, got {scheduler.name!r}")
    low, high = scheduler.min_budget, scheduler.max_budget
    _check((low is None) == (high is None),
           f"min_budget and max_budget are both set or both None, got {low!r} and {high!r}")
    if low is not None and high is not None:
        _check(0 < low < high, f"budgets must satisfy 0 < min_budget < max_budget, got {low!r}, {high!r}")
    params = scheduler.get_params()
    _check(isinstance(params, dict), f"get_params() must return a dict, got {params!r}")
    json_round_trip(params, "get_params()")


def check_budgets_within_range(make_scheduler: SchedulerFactory) -> None:
    """Every job's budget is None without a budget range, else within [min_budget, max_budget]."""
    scheduler = make_scheduler()
    low, high = scheduler.min_budget, scheduler.max_budget
    for name, steps in _runs(make_scheduler):
        for number, step in enumerate(steps):
            budget = step.job.budget
            if high is None:
                _check(budget is None, f"{name}, trial {number}: budget {budget!r} without a budget range")
                continue
            assert low is not None  # For type checkers; check_protocol asks for both.
            _check(budget is not None and math.isfinite(budget)
                   and low * (1 - _TOLERANCE) <= budget <= high * (1 + _TOLERANCE),
                   f"{name}, trial {number}: budget {budget!r} outside [{low}, {high}]")
        if high is not None:
            top = [s.job.budget for s in steps if s.job.budget is not None
                   and math.isclose(s.job.budget, high, rel_tol=1e-9)]
            _check(bool(top), f"{name}: 40 trials and none ran at max_budget={high}")


def check_promotions(make_scheduler: SchedulerFactory) -> None:
    """A promotion continues a COMPLETE trial of the history, once, at a larger budget."""
    for name, steps in _runs(make_scheduler):
        promoted: set[int] = set()
        for number, step in enumerate(steps):
            parent = step.job.parent
            if parent is None:
                continue
            where = f"{name}, trial {number} promotes trial {parent.number}"
            known = step.history.trials
            _check(0 <= parent.number < len(known) and known[parent.number] == parent,
                   f"{where}: the parent is not that trial of the history")
            _check(parent.state is TrialState.COMPLETE and parent.value is not None,
                   f"{where}: the parent is {parent.state.value}, not COMPLETE")
            _check(parent.number not in promoted, f"{where}: it was promoted before")
            promoted.add(parent.number)
            _check(parent.budget is not None and step.job.budget is not None
                   and step.job.budget > parent.budget,
                   f"{where}: budget {step.job.budget!r} is not larger than the parent's {parent.budget!r}")
            _check(step.job.bracket == parent.bracket,
                   f"{where}: bracket {step.job.bracket!r}, the parent's {parent.bracket!r}")
            if parent.rung is not None:
                _check(step.job.rung is not None and step.job.rung > parent.rung,
                       f"{where}: rung {step.job.rung!r} is not above the parent's {parent.rung!r}")


def check_rungs_are_consistent(make_scheduler: SchedulerFactory) -> None:
    """One budget per (bracket, rung); a higher rung of a bracket has a larger budget."""
    for name, steps in _runs(make_scheduler):
        budgets: dict[tuple[int, int], float | None] = {}
        for number, step in enumerate(steps):
            job = step.job
            if job.rung is None:
                continue
            _check(job.bracket is not None, f"{name}, trial {number}: a rung {job.rung} without a bracket")
            assert job.bracket is not None
            _check(isinstance(job.rung, int) and job.rung >= 0 and isinstance(job.bracket, int)
                   and job.bracket >= 0, f"{name}, trial {number}: bracket and rung must be ints >= 0, "
                   f"got {job.bracket!r}, {job.rung!r}")
            seen = budgets.setdefault((job.bracket, job.rung), job.budget)
            _check(seen == job.budget, f"{name}: bracket {job.bracket} rung {job.rung} ran at budgets "
                   f"{seen!r} and {job.budget!r}")
        for (bracket, rung), budget in budgets.items():
            for (other_bracket, other_rung), other in budgets.items():
                if other_bracket == bracket and other_rung > rung:
                    _check(budget is not None and other is not None and other > budget,
                           f"{name}: in bracket {bracket}, rung {other_rung} runs at {other!r}, "
                           f"rung {rung} at {budget!r}")


def check_deterministic_replay(make_scheduler: SchedulerFactory) -> None:
    """``next_job`` is a function of the history: a fresh scheduler given any past history
    (a resumed study, another worker) hands out the same job."""
    for name, steps in _runs(make_scheduler):
        for number, step in enumerate(steps):
            again = make_scheduler().next_job(step.history)
            _check(_key(again) == _key(step.job),
                   f"{name}, trial {number}: replayed from the history the job is {_key(again)}, "
                   f"the study got {_key(step.job)} (budget, bracket, rung, parent)")
        twice = make_scheduler()
        last = steps[-1].history
        _check(_key(twice.next_job(last)) == _key(twice.next_job(last)),
               f"{name}: two calls of next_job on one history differ")


def check_spec_round_trip(make_scheduler: SchedulerFactory) -> None:
    """``scheduler_spec`` survives JSON and rebuilds a scheduler that hands out the same jobs."""
    scheduler = make_scheduler()
    spec = json_round_trip(scheduler_spec(scheduler), "scheduler_spec(scheduler)")
    if spec["name"] in scheduler_names():
        rebuilt = scheduler_from_spec(spec)
    else:
        rebuilt = type(scheduler)(**spec["params"])
    _check(type(rebuilt) is type(scheduler), f"the spec {spec} rebuilds a {type(rebuilt).__name__}")
    _check(json_round_trip(rebuilt.get_params(), "get_params()") == spec["params"],
           f"the rebuilt scheduler's get_params() differ: {rebuilt.get_params()!r} != {spec['params']!r}")
    _check((rebuilt.min_budget, rebuilt.max_budget) == (scheduler.min_budget, scheduler.max_budget),
           "the rebuilt scheduler has another budget range")
    original = [_key(s.job) for s in simulate(scheduler, 30, workers=2)]
    from_spec = [_key(s.job) for s in simulate(rebuilt, 30, workers=2)]
    _check(original == from_spec, f"rebuilt from its spec it hands out {from_spec}, the original {original}")



def check_failed_and_pruned_trials(make_scheduler: SchedulerFactory) -> None:
    """With every third trial FAILED or PRUNED the study goes on: new configs still start."""
    for workers in (1, 3):
        steps = simulate(make_scheduler(), 30, workers=workers, fail_every=3, prune_every=5)
        for number, step in enumerate(steps):
            parent = step.job.parent
            _check(parent is None or parent.state is TrialState.COMPLETE,
                   f"{workers} workers, trial {number}: promotes a {parent and parent.state.value} trial")
        _check(any(s.job.parent is None for s in steps[20:]),
               f"{workers} workers: no new config among the last 10 of 30 trials")


def check_should_stop(make_scheduler: SchedulerFactory) -> None:
    """``should_stop`` returns a bool, and False for a trial that reported nothing yet."""
    scheduler = make_scheduler()
    steps = simulate(scheduler, 20, workers=3)
    history = steps[-1].history
    budget = scheduler.max_budget
    fresh = FrozenTrial(len(history.trials), TrialState.RUNNING, {"x": 0.5, "y": 0.5}, budget=budget)
    answer = scheduler.should_stop(fresh, history)
    _check(answer is False, f"should_stop of a trial without reports must be False, got {answer!r}")
    top = 1.0 if budget is None else budget
    for level in (0.0, 10.0):
        reported = fresh.evolve(intermediate={top * k / 4: level + 1.0 / k for k in (1, 2, 3)})
        answer = scheduler.should_stop(reported, history)
        _check(isinstance(answer, bool), f"should_stop must return a bool, got {answer!r}")


SCHEDULER_CHECKS: tuple[Callable[[SchedulerFactory], None], ...] = (
    check_protocol,
    check_budgets_within_range,
    check_promotions,
    check_rungs_are_consistent,
    check_deterministic_replay,
    check_spec_round_trip,
    check_failed_and_pruned_trials,
    check_should_stop,
)


def check_scheduler(make_scheduler: SchedulerFactory) -> None:
    """Run every check of :data:`SCHEDULER_CHECKS` on schedulers from ``make_scheduler``."""
    for check in SCHEDULER_CHECKS:
        check(make_scheduler)
