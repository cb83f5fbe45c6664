"""The tabular meta-dataset: one fixed Sobol design evaluated on every task at every budget.

:func:`build_metadata` writes, into one directory:

- ``parts/<task>.csv`` — the losses of one task, written atomically (temporary file,
  then rename) as soon as the task is done, so an interrupted build restarts where it
  stopped and never duplicates rows; ``parts/<task>.json`` holds the task's descriptor
  and wall time. ``build.json`` records the settings, and a restart with other settings
  is refused instead of mixing designs.
- the output: a metahpo knowledge directory (written by
  :func:`metahpo.knowledge.write_knowledge`, read by ``KnowledgeBase.from_files`` and
  ``create_study(knowledge=DIR)``): ``manifest.json`` (the space, one entry per task with
  its descriptor, and the build's provenance: problem, configs count, budgets, loss
  name, seed, metahpo version, command, timings) and ``evaluations-0.parquet`` (columns
  ``task, budget, <one per parameter>, loss``; one row per config and budget). The work
  files above stay beside it, so a later call with more tasks resumes.

:func:`load_metadata` reads the output back into a :class:`MetaDataset` (the design,
the ``task x config x budget`` loss grid) and refuses a malformed file with a message
naming the file, the row and the field. No pickle anywhere: CSV, JSON and Parquet only.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import multiprocessing
import os
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError, MetahpoError
from metahpo.testing.synthetic import Problem
from metahpo_bench._metadata_format import (
    BUILD,
    BUILD_VERSION,
    LOSS_COLUMNS,
    PARTS,
    MetadataBuildError,
    MetadataFormatError,
    MetaDataset,
    StagedProblem,
)
from metahpo_bench._metadata_read import _check_grid, _read_loss_rows, load_metadata

__all__ = [
    "MetaDataset",
    "MetadataBuildError",
    "MetadataFormatError",
    "StagedProblem",
    "build_metadata",
    "load_metadata",
]

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------
# Build
# --------------------------------------------------------------------------------------


def build_metadata(
    problem: Problem,
    out_dir: str | os.PathLike[str],
    *,
    n_configs: int,
    budgets: Sequence[float],
    tasks: Sequence[str] | None = None,
    seed: int = 0,
    jobs: int | None = None,
    command: str = "",
    descriptor_names: Sequence[str] | None = None,
) -> Path:
    """Evaluate a fixed Sobol design of ``problem`` on every task at every budget.

    Resumable: tasks whose part file exists are not evaluated again. Parallel: one
    task per worker process of a ``ProcessPoolExecutor`` (``jobs=None`` uses every core,
    ``jobs=1`` runs in this process). A failing task is logged and the others go on;
    the build then raises :class:`MetadataBuildError` and writes no final files, and
    the next call evaluates only the missing tasks.

    Args:
        problem: the benchmark problem (it must pickle to reach worker processes).
        out_dir: the output directory (created when missing).
        n_configs: the number of Sobol points (``problem.space.sobol(n_configs, seed)``).
        budgets: the budgets evaluated for every config; ``None`` entries are not allowed.
        tasks: a subset of ``problem.tasks`` (default: all).
        seed: the Sobol scrambling seed.
        jobs: worker processes (default: ``os.cpu_count()``).
        command: the command line recorded in the manifest.
        descriptor_names: names of the descriptor entries (default: the problem's
            ``descriptor_names`` attribute, else ``d0, d1, ...``).

    Returns:
        The output directory.

    Example:
        >>> import tempfile
        >>> from metahpo_bench.training import SklearnHGB
        >>> out = build_metadata(SklearnHGB(), tempfile.mkdtemp(), n_configs=2, budgets=[1, 2],
        ...                      tasks=["iris"], jobs=1)
        >>> load_metadata(out).loss_array().shape
        (1, 2, 2)
    """
    settings = _build_settings(problem, n_configs, budgets, tasks, seed)
    out = Path(out_dir)
    (out / PARTS).mkdir(parents=True, exist_ok=True)
    _check_or_write_build_file(out / BUILD, settings)
    configs = problem.space.sobol(n_configs, seed=seed)
    budget_list = [float(b) for b in settings["budgets"]]
    todo = [task for task in settings["tasks"] if not _part_done(out, task, n_configs, budget_list)]
    cost = getattr(problem, "relative_cost", None)
    if cost is not None:
        # Largest tasks first, so the pool does not end waiting on one long task.
        todo.sort(key=lambda task: -cost(task))
    logger.info(
        "%s: %d of %d tasks to evaluate (%d configs x %d budgets)",
        problem.name,
        len(todo),
        len(settings["tasks"]),
        n_configs,
        len(budget_list),
    )
    failures = _run_tasks(problem, todo, configs, budget_list, out, jobs)
    if failures:
        raise MetadataBuildError(
            f"{len(failures)} of {len(settings['tasks'])} tasks failed ({', '.join(sorted(failures))}); "
            f"the finished tasks are kept in {out / PARTS} and a new call resumes. First error: "
            f"{next(iter(failures.values()))}"
        )
    names = (
        descriptor_names
        if descriptor_names is not None
        else getattr(problem, "descriptor_names", None)
    )
    _write_final(problem, out, settings, configs, command, names)
    return out


def _build_settings(
    problem: Problem,
    n_configs: int,
    budgets: Sequence[float],
    tasks: Sequence[str] | None,
    seed: int,
) -> dict[str, Any]:
    if isinstance(n_configs, bool) or not isinstance(n_configs, int) or n_configs < 1:
        raise InvalidParameterError(
            f"The 'n_configs' parameter of build_metadata must be an int >= 1. Got {describe(n_configs)} instead."
        )
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidParameterError(
            f"The 'seed' parameter of build_metadata must be an int. Got {describe(seed)} instead."
        )
    if not budgets:
        raise InvalidParameterError(
            "The 'budgets' parameter of build_metadata must not be empty. Got [] instead."
        )
    checked = []
    for budget in budgets:
        value = problem._check_budget(budget)
        if value is None:
            raise InvalidParameterError(
                f"The 'budgets' parameter of build_metadata must hold numbers; {problem.name} "
                f"has no fidelity. Got {describe(budget)} instead."
            )
        checked.append(value)
    if len(set(checked)) != len(checked):
        raise InvalidParameterError(
            f"The 'budgets' parameter of build_metadata must not repeat a budget. Got {list(budgets)} instead."
        )
    chosen = list(problem.tasks) if tasks is None else list(tasks)
    unknown = [task for task in chosen if task not in problem.tasks]
    if unknown or not chosen or len(set(chosen)) != len(chosen):
        raise InvalidParameterError(
            f"The 'tasks' parameter of build_metadata must be distinct tasks of {problem.name} "
            f"(e.g. {list(problem.tasks)[:3]}). Got {describe(list(chosen))} instead."
        )
    for task in chosen:
        if not task or "/" in task or "\\" in task or task.startswith("."):
            raise InvalidParameterError(f"Task names must be usable as file names. Got {task!r}.")
    return {
        "format_version": BUILD_VERSION,
        "problem": problem.name,
        "space_fingerprint": problem.space.fingerprint(),
        "n_configs": n_configs,
        "budgets": sorted(checked),
        "seed": seed,
        "tasks": chosen,
    }


def _check_or_write_build_file(path: Path, settings: dict[str, Any]) -> None:
    if path.exists():
        previous = json.loads(path.read_text(encoding="utf-8"))
        same = {k: v for k, v in previous.items() if k != "tasks"} == {
            k: v for k, v in settings.items() if k != "tasks"
        }
        if not same:
            raise InvalidParameterError(
                f"The directory {path.parent} holds a build with other settings ({previous}); "
                f"got {settings}. Use a new directory or remove it."
            )
    _atomic_write(path, json.dumps(settings, indent=2).encode("utf-8"))


def _run_tasks(
    problem: Problem,
    todo: list[str],
    configs: list[dict[str, Any]],
    budgets: list[float],
    out: Path,
    jobs: int | None,
) -> dict[str, str]:
    failures: dict[str, str] = {}
    n_jobs = (os.cpu_count() or 1) if jobs is None else jobs
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs < 1:
        raise InvalidParameterError(
            f"The 'jobs' parameter of build_metadata must be an int >= 1 or None. Got {describe(jobs)} instead."
        )
    if n_jobs == 1 or len(todo) <= 1:
        for task in todo:
            try:
                _save_part(out, task, *_evaluate_task(problem, task, configs, budgets))
            except Exception as exc:  # a failing task must not lose the others
                logger.exception("task %s failed", task)
                failures[task] = f"{type(exc).__name__}: {exc}"
        return failures
    # "spawn": each worker sets its thread limits before it loads OpenMP or torch.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=n_jobs, mp_context=context, initializer=_worker_init
    ) as pool:
        pending: dict[Future[tuple[list[list[float]], float, list[float] | None]], str] = {
            pool.submit(_evaluate_task, problem, task, configs, budgets): task for task in todo
        }
        try:
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    task = pending.pop(future)
                    try:
                        _save_part(out, task, *future.result())
                    except Exception as exc:  # a failing task must not lose the others
                        logger.error("task %s failed: %s: %s", task, type(exc).__name__, exc)
                        failures[task] = f"{type(exc).__name__}: {exc}"
        except BaseException:
            # Interrupted (Ctrl-C): do not start the queued tasks; finished parts are kept.
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return failures


def _worker_init() -> None:
    # One OpenMP/BLAS thread per worker: the pool already uses the cores. The variables
    # must be set before the libraries load; threadpoolctl's runtime limit on OpenMP made
    # scikit-learn's gradient boosting about 20x slower here (measured), the variable does not.
    for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"


def _evaluate_task(
    problem: Problem, task: str, configs: list[dict[str, Any]], budgets: list[float]
) -> tuple[list[list[float]], float, list[float] | None]:
    """Losses ``[config][budget]``, the wall time in seconds and the task's descriptor."""
    start = time.perf_counter()
    losses = []
    for config in configs:
        if isinstance(problem, StagedProblem):
            row = list(problem.evaluate_budgets(task, config, budgets))
        else:
            row = [problem.evaluate(task, config, budget) for budget in budgets]
        for budget, loss in zip(budgets, row, strict=True):
            if not math.isfinite(loss):
                raise MetahpoError(
                    f"{problem.name} returned a non-finite loss {loss!r} for task {task!r} "
                    f"at budget {budget} with config {config}"
                )
        losses.append([float(loss) for loss in row])
    descriptor = problem.descriptor(task)
    seconds = time.perf_counter() - start
    return losses, seconds, None if descriptor is None else [float(v) for v in descriptor]


def _save_part(
    out: Path, task: str, losses: list[list[float]], seconds: float, descriptor: list[float] | None
) -> None:
    settings = json.loads((out / BUILD).read_text(encoding="utf-8"))
    budgets = settings["budgets"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(LOSS_COLUMNS)
    for config_id, row in enumerate(losses):
        for budget, loss in zip(budgets, row, strict=True):
            writer.writerow([task, config_id, _format_number(budget), repr(loss)])
    meta = {"task": task, "seconds": round(seconds, 3), "descriptor": descriptor}
    # The JSON goes first: a part counts as done only once its CSV exists.
    _atomic_write(out / PARTS / f"{task}.json", json.dumps(meta).encode("utf-8"))
    _atomic_write(out / PARTS / f"{task}.csv", buffer.getvalue().encode("utf-8"))
    logger.info("task %s done in %.1f s", task, seconds)


def _part_done(out: Path, task: str, n_configs: int, budgets: list[float]) -> bool:
    path = out / PARTS / f"{task}.csv"
    if not path.exists() or not (out / PARTS / f"{task}.json").exists():
        return False
    try:
        rows = list(_read_loss_rows(path, path.read_text(encoding="utf-8")))
        _check_grid(path.name, rows, [task], n_configs, budgets)
    except MetadataFormatError as exc:
        # Parts are written atomically, so this is a hand-edited file: evaluate again.
        logger.warning("evaluating task %s again: %s", task, exc)
        return False
    return True


def _write_final(
    problem: Problem,
    out: Path,
    settings: dict[str, Any],
    configs: list[dict[str, Any]],
    command: str,
    descriptor_names: Sequence[str] | None,
) -> None:
    """The parts as one metahpo knowledge directory (manifest.json, evaluations-0.parquet)."""
    from metahpo import __version__
    from metahpo.knowledge import KnowledgeBase, Task, harmonise_descriptor

    tasks = []
    seconds: dict[str, float] = {}
    for task in settings["tasks"]:
        path = out / PARTS / f"{task}.csv"
        rows = list(_read_loss_rows(path, path.read_text(encoding="utf-8")))
        meta = json.loads((out / PARTS / f"{task}.json").read_text(encoding="utf-8"))
        seconds[task] = meta["seconds"]
        values = meta["descriptor"]
        descriptor = None
        if values is not None:
            names = (
                list(descriptor_names)
                if descriptor_names
                else [f"d{i}" for i in range(len(values))]
            )
            # In metahpo's names (n_train -> n_samples...), as Task.from_data describes a study.
            descriptor = harmonise_descriptor(dict(zip(names, values, strict=True)))
        tasks.append(
            Task(
                name=task,
                space=problem.space,
                configs=[configs[config_id] for _, config_id, _, _ in rows],
                losses=[loss for _, _, _, loss in rows],
                budgets=[budget for _, _, budget, _ in rows],
                descriptor=descriptor,
                source=f"problem:{problem.name}",
            )
        )
    provenance = {
        "problem": problem.name,
        "n_configs": settings["n_configs"],
        "budgets": settings["budgets"],
        "loss": getattr(problem, "loss_name", "loss"),
        "seed": settings["seed"],
        "design": "scipy.stats.qmc.Sobol(scramble=True, seed=seed), first n_configs points",
        "descriptor_names": None if descriptor_names is None else list(descriptor_names),
        "metahpo_version": __version__,
        "command": command,
        "task_seconds": seconds,
        "total_task_seconds": round(sum(seconds.values()), 3),
    }
    held_out = getattr(problem, "held_out", None)
    if held_out is not None:
        provenance["held_out"] = list(held_out)
    KnowledgeBase(tasks).save(out, provenance=provenance)


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes the file private; the outputs are shared data
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


