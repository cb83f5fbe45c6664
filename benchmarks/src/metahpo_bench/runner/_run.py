"""The benchmark run: every optimizer on every test task with every seed, in parallel processes."""

from __future__ import annotations

import concurrent.futures
import json
import logging
import math
import multiprocessing
import os
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from metahpo._validation import check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo_bench._registry import get_problem
from metahpo_bench.pool import PoolProblem
from metahpo_bench.runner._meta_train import MetaTrainData, build_meta_train
from metahpo_bench.runner._records import Record, read_records, write_records
from metahpo_bench.runner._registry import make_adapter, unavailable_reason
from metahpo_bench.runner._regret import TaskBounds, random_draw_bounds
from metahpo_bench.runner._split import split_tasks, train_tasks_for

__all__ = ["BenchmarkSpec", "RunOutcome", "run_benchmark"]

logger = logging.getLogger("metahpo_bench")

RESULTS_FILE = "results.jsonl"
RUN_FILE = "run.json"
# Adapters whose runs take longest go last: an interrupted benchmark then lacks few optimizers.
_SLOW_LAST = ("smac", "optuna-gp")


@dataclass(frozen=True)
class BenchmarkSpec:
    """Everything that defines a benchmark run; saved as ``run.json`` beside the results.

    ``n_full_evals`` is the budget of each run in full-budget-equivalent evaluations.
    ``test_tasks``/``split``/``split_seed``/``tasks`` choose the meta-test tasks
    (:func:`~metahpo_bench.runner.split_tasks`); the meta-train data given to
    transfer methods is a ``meta_train_size``-point Sobol design of the other tasks at
    the maximum budget, and also at ``meta_train_budgets`` (multi-fidelity meta-data, which
    MetaBO models; the other transfer methods use the maximum budget's rows). ``n_draws`` random configs per task set the regret bounds, or the
    meta-dataset in ``regret_table`` (``n_draws=0`` and no table: observed losses only).
    ``continuation`` chooses the budget accounting: ``False`` (restart) charges every
    evaluation its full budget, ``True`` charges a promotion only ``budget - parent
    budget``, as if it resumed its parent's checkpoint (see :class:`Evaluator`).
    """

    problem: str
    optimizers: tuple[str, ...]
    seeds: tuple[int, ...]
    n_full_evals: int
    problem_kwargs: Mapping[str, Any] = field(default_factory=dict)
    test_tasks: int | None = None
    split: str = "random"
    split_seed: int = 0
    tasks: tuple[str, ...] | None = None
    meta_train_size: int = 64
    meta_train_seed: int = 0
    meta_train_budgets: tuple[float, ...] = ()
    n_draws: int = 10_000
    regret_table: str | None = None
    eta: int = 3
    jobs: int = 1
    continuation: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["problem_kwargs"] = dict(self.problem_kwargs)
        return data


@dataclass(frozen=True)
class RunOutcome:
    """What a run did: the test and train tasks, and each optimizer's status."""

    test_tasks: tuple[str, ...]
    train_tasks: tuple[str, ...]
    status: dict[str, str]
    n_records: int
    seconds: float


def run_benchmark(
    spec: BenchmarkSpec,
    out: Path,
    cache_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
    resume: bool = False,
    command: str = "",
) -> RunOutcome:
    """Run ``spec``, writing ``results.jsonl`` (one line per evaluation) and ``run.json`` in ``out``.

    An optimizer that cannot run here (peer not installed, no budgets on this problem,
    not written yet) is skipped and its reason kept in the status; a run that raises
    is reported as failed. Nothing is made up for either. ``run.json`` is rewritten after
    every run, so an interrupted benchmark can still be reported; ``resume=True`` keeps the
    runs already in ``results.jsonl`` and does only the others.
    """
    started = time.perf_counter()
    n_full_evals = check_int(spec.n_full_evals, "trials", "bench run", minimum=1)
    jobs = check_int(spec.jobs, "jobs", "bench run", minimum=1)
    # Checked before any run: a bad one failed every Hyperband-like run, or drew nothing.
    check_int(spec.eta, "eta", "bench run", minimum=2)
    check_int(spec.n_draws, "draws", "bench run", minimum=0)
    if resume and (out / RESULTS_FILE).exists():
        _check_same_run(out, spec)  # before the meta-train data are built
    if not spec.seeds:
        raise InvalidParameterError(
            "The 'seeds' option of bench run must give at least one seed. Got none."
        )
    problem = get_problem(spec.problem, **dict(spec.problem_kwargs))
    is_pool = isinstance(problem, PoolProblem)
    if is_pool and (spec.meta_train_budgets or spec.regret_table):
        raise InvalidParameterError(
            f"{spec.problem} is a pool problem: its pools are at one budget and set their own "
            "regret bounds, so 'meta_train_budgets' and 'regret_table' must be unset. Got "
            f"meta_train_budgets={list(spec.meta_train_budgets)}, regret_table={spec.regret_table!r} instead."
        )
    split = split_tasks(problem.tasks, spec.split, spec.test_tasks, spec.split_seed, spec.tasks)
    say = progress or (lambda message: logger.info("%s", message))

    adapters, status = {}, {}
    for name in dict.fromkeys(spec.optimizers):
        adapter = make_adapter(name, eta=spec.eta)
        reason = unavailable_reason(adapter)
        if reason is None and adapter.needs_fidelity and problem.max_budget is None:
            reason = f"{spec.problem} has no budgets; {name} needs them"
        if reason is None and adapter.needs_meta_train and len(problem.tasks) < 2:
            reason = f"{spec.problem} has one task; {name} needs other tasks to transfer from"
        if reason is None:
            adapters[name] = adapter
        else:
            status[name] = f"not run: {reason}"
            say(f"{name}: {status[name]}")

    meta_train = None
    if any(a.needs_meta_train for a in adapters.values()):
        train_union = sorted(
            {t for task in split.test for t in train_tasks_for(split, task, problem.tasks)},
            key=list(problem.tasks).index,
        )
        say(f"meta-train data: {spec.meta_train_size} Sobol configs x {len(train_union)} tasks")
        # A pool problem's design is scored where its pools come from (PoolProblem.design_problem).
        meta_train = build_meta_train(
            problem.design_problem if isinstance(problem, PoolProblem) else problem,
            train_union,
            spec.meta_train_size,
            spec.meta_train_seed,
            cache_dir,
            spec.problem_kwargs,
            spec.meta_train_budgets,
        )

    out.mkdir(parents=True, exist_ok=True)
    results = out / RESULTS_FILE
    all_units = [
        (name, task, seed) for name in adapters for task in split.test for seed in spec.seeds
    ]
    failures: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    finished: dict[str, int] = {}
    done_units: set[tuple[str, str, int]] = set()
    if resume and results.exists():
        # A run's records are written together when it ends: a run in the file is complete.
        wanted = set(all_units)
        for record in read_records(results):
            if (record.optimizer, record.task, record.seed) in wanted:
                counts[record.optimizer] = counts.get(record.optimizer, 0) + 1
                done_units.add((record.optimizer, record.task, record.seed))
        for name, _, _ in done_units:
            finished[name] = finished.get(name, 0) + 1
    else:
        results.write_text("")
    units = [unit for unit in all_units if unit not in done_units]
    units.sort(key=lambda unit: unit[0].startswith(_SLOW_LAST))
    say(
        f"{len(all_units)} runs ({len(adapters)} optimizers x {len(split.test)} tasks x {len(spec.seeds)} seeds), "
        f"{len(units)} to do, {jobs} process(es)"
    )

    def write_status(final: bool) -> RunOutcome:
        per_optimizer = len(all_units) // max(len(adapters), 1)
        for name in adapters:
            errors = failures.get(name, [])
            text = f"ran {finished.get(name, 0)} of {per_optimizer} runs, {counts.get(name, 0)} evaluations"
            if not final and finished.get(name, 0) + len(errors) < per_optimizer:
                text += " (in progress or interrupted)"
            if errors:
                text += f"; {len(errors)} runs failed: {errors[0]}"
            status[name] = text
        outcome = RunOutcome(
            split.test,
            split.train,
            dict(status),
            sum(counts.values()),
            time.perf_counter() - started,
        )
        _write_run_file(out, spec, outcome, command)
        return outcome

    write_status(final=False)

    def meta_for(name: str, task: str) -> dict[str, Any] | None:
        if meta_train is None or not adapters[name].needs_meta_train:
            return None
        return meta_train.restricted(train_tasks_for(split, task, problem.tasks)).to_dict()

    def collect(unit: tuple[str, str, int], lines: list[str] | None, error: str | None) -> None:
        name, task, seed = unit
        if error is not None:
            failures.setdefault(name, []).append(f"task {task} seed {seed}: {error}")
            say(f"{name} task {task} seed {seed} FAILED: {error.splitlines()[0] if error else ''}")
            return
        records = [Record.from_dict(json.loads(line)) for line in lines or []]
        counts[name] = counts.get(name, 0) + write_records(results, records)
        finished[name] = finished.get(name, 0) + 1
        write_status(final=False)

    if jobs == 1:
        for unit in units:
            collect(
                unit,
                *_run_unit_safely(
                    spec.problem,
                    dict(spec.problem_kwargs),
                    *unit,
                    n_full_evals,
                    spec.eta,
                    meta_for(unit[0], unit[1]),
                    spec.continuation,
                ),
            )
    else:
        context = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            # The regret bounds' random draws (seconds each) go first; they land in the cache.
            draws = (
                [
                    pool.submit(
                        bounds_of,
                        spec.problem,
                        dict(spec.problem_kwargs),
                        task,
                        spec.n_draws,
                        cache_dir,
                    )
                    for task in split.test
                ]
                if cache_dir is not None
                and spec.n_draws > 0
                and spec.regret_table is None
                and not is_pool
                else []
            )
            futures = {
                pool.submit(
                    _run_unit_safely,
                    spec.problem,
                    dict(spec.problem_kwargs),
                    *unit,
                    n_full_evals,
                    spec.eta,
                    meta_for(unit[0], unit[1]),
                    spec.continuation,
                ): unit
                for unit in units
            }
            for done, future in enumerate(concurrent.futures.as_completed(futures), start=1):
                collect(futures[future], *future.result())
                if done % max(1, len(units) // 20) == 0:
                    say(f"{done}/{len(units)} runs done ({time.perf_counter() - started:.0f} s)")
            for draw in draws:
                draw.result()

    return write_status(final=True)


def _run_unit_safely(
    problem_name: str,
    problem_kwargs: dict[str, Any],
    optimizer: str,
    task: str,
    seed: int,
    n_full_evals: int,
    eta: int,
    meta_train: dict[str, Any] | None,
    continuation: bool = False,
) -> tuple[list[str] | None, str | None]:
    # Runs in a worker process; arguments and results are plain JSON-able values.
    try:
        problem = _cached_problem(problem_name, problem_kwargs)
        # Load the problem (e.g. its ONNX session) before the clock of the first run starts.
        problem.evaluate(task, problem.space.sample(0, 1)[0], problem.max_budget)
        adapter = make_adapter(optimizer, eta=eta)
        data = None if meta_train is None else MetaTrainData.from_dict(meta_train)
        records = adapter.run(problem, task, seed, n_full_evals, data, continuation)
    except Exception as exc:  # one failing run is reported, the benchmark goes on
        import traceback

        return None, f"{type(exc).__name__}: {exc}\n{traceback.format_exc()[-2000:]}"
    return [r.to_json() for r in records], None


# What a resumed run must share with the run it resumes, by the option that sets it: its
# records would otherwise be read as runs of this one (another problem's tasks, runs of
# fewer trials reported at more, other test tasks or meta-train data). Optimizers and
# seeds may be added; --jobs is free.
_SAME_ON_RESUME = {
    "problem": "--problem", "problem_kwargs": "--problem-arg", "n_full_evals": "--trials",
    "test_tasks": "--test-tasks", "split": "--split", "split_seed": "--split-seed",
    "tasks": "--tasks", "meta_train_size": "--meta-train-size",
    "meta_train_seed": "meta_train_seed (of BenchmarkSpec)",
    "meta_train_budgets": "--meta-train-budgets",
    "n_draws": "--draws", "regret_table": "--regret-table", "eta": "--eta",
}


def _check_same_run(out: Path, spec: BenchmarkSpec) -> None:
    """Refuse to resume a run made with other settings: its lines would mix with these."""
    run_file = out / RUN_FILE
    if not run_file.exists():
        return
    recorded = json.loads(run_file.read_text()).get("spec", {})
    given = json.loads(json.dumps(spec.to_dict()))  # as run.json holds it (tuples as lists)
    for field_name, option in _SAME_ON_RESUME.items():
        if field_name in recorded and recorded[field_name] != given[field_name]:
            raise InvalidParameterError(
                f"The {option} option of bench run must match the run being resumed in {out}: "
                f"it was made with {recorded[field_name]!r}. Got {given[field_name]!r} instead "
                "(give another --out for another run)."
            )
    stored = bool(recorded.get("continuation", False))
    if stored != spec.continuation:
        raise InvalidParameterError(
            f"The 'continuation' option of bench run must match the run being resumed in {out}: "
            f"it was made with {_accounting_name(stored)} accounting. Got "
            f"{_accounting_name(spec.continuation)} accounting instead."
        )


def _accounting_name(continuation: bool) -> str:
    return "continuation" if continuation else "restart"


def bounds_of(
    problem: str, kwargs: dict[str, Any], task: str, n_draws: int, cache_dir: Path | None
) -> TaskBounds:
    """The random-draw bounds of ``task`` (cached in ``cache_dir``); runs in worker processes too."""
    return random_draw_bounds(_cached_problem(problem, kwargs), task, n_draws, 0, cache_dir, kwargs)


_PROBLEMS: dict[str, Any] = {}


def _cached_problem(name: str, kwargs: dict[str, Any]) -> Any:
    key = json.dumps([name, kwargs], sort_keys=True, default=str)
    if key not in _PROBLEMS:
        _PROBLEMS[key] = get_problem(name, **kwargs)
    return _PROBLEMS[key]


def _write_run_file(out: Path, spec: BenchmarkSpec, outcome: RunOutcome, command: str) -> None:
    data = {
        "command": command,
        "spec": spec.to_dict(),
        "test_tasks": list(outcome.test_tasks),
        "train_tasks": list(outcome.train_tasks),
        "status": outcome.status,
        "n_records": outcome.n_records,
        "seconds": round(outcome.seconds, 1),
        "versions": _versions(),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    (out / RUN_FILE).write_text(json.dumps(data, indent=1))


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for package in ("metahpo", "numpy", "optuna", "smac", "onnxruntime"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "not installed"
    return out


def parse_seeds(text: str) -> tuple[int, ...]:
    """``"5"`` -> seeds 0..4; ``"3,7,11"`` -> those seeds."""
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if not values or any(v < 0 for v in values):
        raise InvalidParameterError(
            f"The 'seeds' option must be a count (5) or a list of seeds (0,1,7). Got {describe(text)} instead."
        )
    return tuple(range(values[0])) if len(values) == 1 else tuple(dict.fromkeys(values))


def parse_meta_train_budgets(text: str | None, problem: str, eta: int = 3) -> tuple[float, ...]:
    """``None`` -> none; ``"hyperband"`` -> the lower rungs of Hyperband; ``"1,3,9"`` -> those."""
    if text is None or not str(text).strip():
        return ()
    if str(text).strip() == "hyperband":
        from metahpo_bench import get_problem
        from metahpo_bench.runner._budget import budget_steps

        check_int(eta, "eta", "bench run", minimum=2)  # the rungs of eta = 1 never end
        return tuple(float(b) for b in budget_steps(get_problem(problem), eta)[:-1])
    try:
        values = tuple(float(p) for p in str(text).split(",") if p.strip())
    except ValueError:
        values = ()
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise InvalidParameterError(
            "The 'meta-train-budgets' option must be 'hyperband' or comma-separated positive "
            f"budgets (1,3,9). Got {describe(text)} instead."
        )
    return values


def parse_problem_args(items: Sequence[str]) -> dict[str, Any]:
    """``["n_tasks=20", "seed=1"]`` -> ``{"n_tasks": 20, "seed": 1}`` (values read as JSON when they parse)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InvalidParameterError(
                f"The 'problem-arg' option must look like name=value. Got {describe(item)} instead."
            )
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out
