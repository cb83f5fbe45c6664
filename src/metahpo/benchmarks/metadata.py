"""The tabular meta-dataset: one fixed Sobol design evaluated on every task at every budget.

:func:`build_metadata` writes, into one directory:

- ``parts/<task>.csv`` — the losses of one task, written atomically (temporary file,
  then rename) as soon as the task is done, so an interrupted build restarts where it
  stopped and never duplicates rows; ``parts/<task>.json`` holds the task's descriptor
  and wall time. ``build.json`` records the settings, and a restart with other settings
  is refused instead of mixing designs.
- ``configs.csv`` — ``config_id`` and one column per parameter (the design).
- ``losses.csv.gz`` — the long table ``task, config_id, budget, loss``.
- ``manifest.json`` — problem, space (JSON and fingerprint), configs count, budgets,
  tasks, loss name, seed, metahpo version, command and per-task descriptors.

:func:`load_metadata` reads the three final files back into a :class:`MetaDataset` and
refuses a malformed file with a message naming the file, the row and the field. No
pickle anywhere: CSV and JSON only.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import math
import multiprocessing
import os
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from metahpo._validation import describe
from metahpo.benchmarks._problem import Problem
from metahpo.exceptions import InvalidParameterError, MetahpoError
from metahpo.space import Categorical, Space

__all__ = [
    "MetaDataset",
    "MetadataBuildError",
    "MetadataFormatError",
    "StagedProblem",
    "build_metadata",
    "load_metadata",
]

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CONFIGS = "configs.csv"
LOSSES = "losses.csv.gz"
BUILD = "build.json"
PARTS = "parts"
LOSS_COLUMNS = ("task", "config_id", "budget", "loss")


class MetadataFormatError(MetahpoError, ValueError):
    """A meta-dataset file is malformed; the message names the file, row and field."""


class MetadataBuildError(MetahpoError):
    """Some tasks failed during a build; the finished tasks are kept in ``parts/``."""


@runtime_checkable
class StagedProblem(Protocol):
    """A problem that gives the losses at several budgets from one run (nested budgets)."""

    def evaluate_budgets(
        self, task: str, config: Mapping[str, Any], budgets: Sequence[float]
    ) -> list[float]: ...


@dataclass(frozen=True)
class MetaDataset:
    """A loaded meta-dataset: every config of one design on every task at every budget.

    Attributes:
        problem: the problem's name.
        space: the search space of the configs.
        tasks: task names, in the order of the first axis of :meth:`loss_array`.
        budgets: budgets, ascending.
        configs: the design, ``configs[i]`` has ``config_id == i``.
        losses: the long table with columns ``task, config_id, budget, loss``.
        manifest: the parsed ``manifest.json``.
    """

    problem: str
    space: Space
    tasks: tuple[str, ...]
    budgets: tuple[float, ...]
    configs: tuple[dict[str, Any], ...]
    losses: Any  # pandas.DataFrame; pandas is imported lazily
    manifest: dict[str, Any] = field(repr=False)

    @property
    def configs_unit(self) -> np.ndarray:
        """The design encoded in the unit cube, shape ``(n_configs, n_params)``."""
        return self.space.to_unit(list(self.configs))

    def loss_array(self) -> np.ndarray:
        """Losses as an array of shape ``(n_tasks, n_configs, n_budgets)``."""
        task_index = {task: i for i, task in enumerate(self.tasks)}
        budget_index = {budget: k for k, budget in enumerate(self.budgets)}
        out = np.full((len(self.tasks), len(self.configs), len(self.budgets)), np.nan)
        frame = self.losses
        rows = frame["task"].map(task_index).to_numpy()
        cols = frame["budget"].map(budget_index).to_numpy()
        out[rows, frame["config_id"].to_numpy(), cols] = frame["loss"].to_numpy()
        return out

    def descriptor(self, task: str) -> dict[str, float]:
        """The task's meta-features as recorded by the build (empty when the problem has none)."""
        return dict(self.manifest["descriptors"].get(task) or {})


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
        >>> from metahpo.benchmarks.training import SklearnHGB
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
        "format_version": FORMAT_VERSION,
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
    from metahpo import __version__

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["config_id", *problem.space.names])
    for config_id, config in enumerate(configs):
        writer.writerow([config_id, *(_format_value(config[name]) for name in problem.space.names)])
    _atomic_write(out / CONFIGS, buffer.getvalue().encode("utf-8"))

    body = io.StringIO()
    body.write(",".join(LOSS_COLUMNS) + "\n")
    descriptors: dict[str, dict[str, float] | None] = {}
    seconds: dict[str, float] = {}
    for task in settings["tasks"]:
        text = (out / PARTS / f"{task}.csv").read_text(encoding="utf-8")
        body.write(text.split("\n", 1)[1])
        meta = json.loads((out / PARTS / f"{task}.json").read_text(encoding="utf-8"))
        seconds[task] = meta["seconds"]
        values = meta["descriptor"]
        if values is None:
            descriptors[task] = None
        else:
            names = (
                list(descriptor_names)
                if descriptor_names
                else [f"d{i}" for i in range(len(values))]
            )
            descriptors[task] = dict(zip(names, values, strict=True))
    # mtime=0: the same losses give the same bytes, so a rebuilt file diffs clean.
    _atomic_write(out / LOSSES, gzip.compress(body.getvalue().encode("utf-8"), mtime=0))

    manifest = {
        "format_version": FORMAT_VERSION,
        "problem": problem.name,
        "space": problem.space.to_dict(),
        "space_fingerprint": problem.space.fingerprint(),
        "n_configs": settings["n_configs"],
        "budgets": settings["budgets"],
        "tasks": settings["tasks"],
        "loss": getattr(problem, "loss_name", "loss"),
        "seed": settings["seed"],
        "design": "scipy.stats.qmc.Sobol(scramble=True, seed=seed), first n_configs points",
        "metahpo_version": __version__,
        "command": command,
        "files": {"configs": CONFIGS, "losses": LOSSES},
        "descriptors": descriptors,
        "task_seconds": seconds,
        "total_task_seconds": round(sum(seconds.values()), 3),
    }
    _atomic_write(out / MANIFEST, (json.dumps(manifest, indent=2) + "\n").encode("utf-8"))


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


def _format_value(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


# --------------------------------------------------------------------------------------
# Read
# --------------------------------------------------------------------------------------


def load_metadata(directory: str | os.PathLike[str]) -> MetaDataset:
    """Read and validate the meta-dataset written by :func:`build_metadata` in ``directory``.

    Raises:
        MetadataFormatError: a file is missing or malformed; the message names the file,
            and for a bad value the row (1 = first data row) and the field.
    """
    import pandas as pd

    base = Path(directory)
    manifest = _read_manifest(base / MANIFEST)
    space = manifest["_space"]
    configs = _read_configs(base / manifest["files"]["configs"], space, manifest["n_configs"])
    losses_path = base / manifest["files"]["losses"]
    if not losses_path.exists():
        raise MetadataFormatError(f"{losses_path}: the losses file is missing.")
    try:
        text = gzip.decompress(losses_path.read_bytes()).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise MetadataFormatError(
            f"{losses_path}: not a gzip-compressed UTF-8 CSV file ({exc})."
        ) from exc
    rows = list(_read_loss_rows(losses_path, text))
    budgets = [float(b) for b in manifest["budgets"]]
    _check_grid(losses_path.name, rows, manifest["tasks"], manifest["n_configs"], budgets)
    frame = pd.DataFrame(rows, columns=list(LOSS_COLUMNS))
    public = {k: v for k, v in manifest.items() if k != "_space"}
    return MetaDataset(
        problem=manifest["problem"],
        space=space,
        tasks=tuple(manifest["tasks"]),
        budgets=tuple(budgets),
        configs=tuple(configs),
        losses=frame,
        manifest=public,
    )


_MANIFEST_FIELDS: dict[str, type | tuple[type, ...]] = {
    "format_version": int,
    "problem": str,
    "space": dict,
    "space_fingerprint": str,
    "n_configs": int,
    "budgets": list,
    "tasks": list,
    "loss": str,
    "seed": int,
    "metahpo_version": str,
    "command": str,
    "files": dict,
    "descriptors": dict,
}


def _read_manifest(path: Path) -> dict[str, Any]:
    if not path.exists():
        raise MetadataFormatError(f"{path}: the manifest is missing.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MetadataFormatError(f"{path}: not valid JSON ({exc}).") from exc
    if not isinstance(manifest, dict):
        raise MetadataFormatError(
            f"{path}: must hold a JSON object. Got {describe(manifest)} instead."
        )
    for name, kind in _MANIFEST_FIELDS.items():
        if name not in manifest:
            raise MetadataFormatError(f"{path}: field {name!r} is missing.")
        value = manifest[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise MetadataFormatError(
                f"{path}: field {name!r} must be a {getattr(kind, '__name__', kind)}. Got {describe(value)} instead."
            )
    if manifest["format_version"] != FORMAT_VERSION:
        raise MetadataFormatError(
            f"{path}: field 'format_version' must be {FORMAT_VERSION}. Got {manifest['format_version']!r} instead."
        )
    try:
        space = Space.from_dict(manifest["space"])
    except InvalidParameterError as exc:
        raise MetadataFormatError(f"{path}: field 'space' is not a valid space ({exc}).") from exc
    if space.fingerprint() != manifest["space_fingerprint"]:
        raise MetadataFormatError(
            f"{path}: field 'space_fingerprint' does not match field 'space'."
        )
    if manifest["n_configs"] < 1:
        raise MetadataFormatError(
            f"{path}: field 'n_configs' must be >= 1. Got {manifest['n_configs']!r} instead."
        )
    budgets = manifest["budgets"]
    if not budgets or not all(_is_number(b) for b in budgets) or sorted(set(budgets)) != budgets:
        raise MetadataFormatError(
            f"{path}: field 'budgets' must be a non-empty ascending list of distinct numbers. Got {describe(budgets)} instead."
        )
    tasks = manifest["tasks"]
    if (
        not tasks
        or not all(isinstance(t, str) and t for t in tasks)
        or len(set(tasks)) != len(tasks)
    ):
        raise MetadataFormatError(
            f"{path}: field 'tasks' must be a non-empty list of distinct task names. Got {describe(tasks)} instead."
        )
    for key in ("configs", "losses"):
        name = manifest["files"].get(key)
        if (
            not isinstance(name, str)
            or not name
            or "/" in name
            or "\\" in name
            or name.startswith(".")
        ):
            raise MetadataFormatError(
                f"{path}: field 'files.{key}' must be a file name in the same directory. Got {describe(name)} instead."
            )
    manifest["_space"] = space
    return manifest


def _read_configs(path: Path, space: Space, n_configs: int) -> list[dict[str, Any]]:
    if not path.exists():
        raise MetadataFormatError(f"{path}: the configs file is missing.")
    reader = csv.reader(io.StringIO(path.read_text(encoding="utf-8")))
    header = next(reader, None)
    expected = ["config_id", *space.names]
    if header != expected:
        raise MetadataFormatError(f"{path}: the header must be {expected}. Got {header!r} instead.")
    configs: list[dict[str, Any]] = []
    for row_number, row in enumerate(reader, start=1):
        if len(row) != len(expected):
            raise MetadataFormatError(
                f"{path}: row {row_number} must have {len(expected)} fields. Got {len(row)} instead."
            )
        if row[0] != str(row_number - 1):
            raise MetadataFormatError(
                f"{path}: row {row_number}, field 'config_id' must be {row_number - 1}. Got {row[0]!r} instead."
            )
        config: dict[str, Any] = {}
        for name, text in zip(space.names, row[1:], strict=True):
            param = space[name]
            value = _parse_param(param, text)
            if value is None or not param.contains(value):
                raise MetadataFormatError(
                    f"{path}: row {row_number}, field {name!r} must be a value of {param}. Got {text!r} instead."
                )
            config[name] = value
        configs.append(config)
    if len(configs) != n_configs:
        raise MetadataFormatError(
            f"{path}: must hold {n_configs} configs (manifest 'n_configs'). Got {len(configs)} instead."
        )
    return configs


def _parse_param(param: Any, text: str) -> Any:
    if isinstance(param, Categorical):
        for choice in param.choices:
            if str(choice) == text:
                return choice
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    if param.contains(value):
        return value
    if value.is_integer() and param.contains(int(value)):
        return int(value)
    return None


def _read_loss_rows(path: Path, text: str) -> Iterator[tuple[str, int, float, float]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header != list(LOSS_COLUMNS):
        raise MetadataFormatError(
            f"{path}: the header must be {list(LOSS_COLUMNS)}. Got {header!r} instead."
        )
    for row_number, row in enumerate(reader, start=1):
        if len(row) != len(LOSS_COLUMNS):
            raise MetadataFormatError(
                f"{path}: row {row_number} must have {len(LOSS_COLUMNS)} fields. Got {len(row)} instead."
            )
        task, config_text, budget_text, loss_text = row
        try:
            config_id = int(config_text)
        except ValueError:
            config_id = -1
        if config_id < 0:
            raise MetadataFormatError(
                f"{path}: row {row_number}, field 'config_id' must be an int >= 0. Got {config_text!r} instead."
            )
        budget = _parse_float(budget_text)
        if budget is None:
            raise MetadataFormatError(
                f"{path}: row {row_number}, field 'budget' must be a finite number. Got {budget_text!r} instead."
            )
        loss = _parse_float(loss_text)
        if loss is None:
            raise MetadataFormatError(
                f"{path}: row {row_number}, field 'loss' must be a finite number. Got {loss_text!r} instead."
            )
        yield task, config_id, budget, loss


def _check_grid(
    name: str | Path,
    rows: list[tuple[str, int, float, float]],
    tasks: Sequence[str],
    n_configs: int,
    budgets: Sequence[float],
) -> None:
    """Every (task, config, budget) exactly once, nothing else."""
    known_tasks = set(tasks)
    known_budgets = set(budgets)
    seen: set[tuple[str, int, float]] = set()
    for row_number, (task, config_id, budget, _) in enumerate(rows, start=1):
        if task not in known_tasks:
            raise MetadataFormatError(
                f"{name}: row {row_number}, field 'task' must be one of the manifest's tasks. Got {task!r} instead."
            )
        if config_id >= n_configs:
            raise MetadataFormatError(
                f"{name}: row {row_number}, field 'config_id' must be < {n_configs}. Got {config_id} instead."
            )
        if budget not in known_budgets:
            raise MetadataFormatError(
                f"{name}: row {row_number}, field 'budget' must be one of {list(budgets)}. Got {budget!r} instead."
            )
        key = (task, config_id, budget)
        if key in seen:
            raise MetadataFormatError(
                f"{name}: row {row_number} repeats task {task!r}, config_id {config_id}, budget {budget!r}."
            )
        seen.add(key)
    expected = len(tasks) * n_configs * len(budgets)
    if len(seen) != expected:
        raise MetadataFormatError(
            f"{name}: must hold {expected} rows ({len(tasks)} tasks x {n_configs} configs x "
            f"{len(budgets)} budgets). Got {len(seen)} instead."
        )


def _parse_float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
