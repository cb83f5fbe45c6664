"""``metahpo presets``: list the presets and tune one on a data file."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer
from rich import box
from rich.table import Column, Table

from metahpo.cli._app import STORAGE_HELP, app
from metahpo.cli._resume import check_same_optimizer, check_same_seed
from metahpo.cli._studies import (
    best_or_fail,
    check_optimizer_option,
    console,
    fail,
    finish_and_say,
    stored_study,
    writable_storage_url,
)
from metahpo.exceptions import MetahpoError

presets_app = typer.Typer(
    name="presets",
    help="The model families with bundled knowledge: list them, or tune one on a data file.",
    no_args_is_help=True,
)
app.add_typer(presets_app, name="presets")

DATA_SUFFIXES = (".csv", ".parquet")
# The study attribute recording what a `presets tune` study's values measure, checked on resume.
OBJECTIVE_KEY = "presets_tune"


@presets_app.command("list")
def list_command() -> None:
    """Every preset, its task type and budget, and the size of its bundled knowledge."""
    from metahpo.presets import list_presets

    # Narrow enough for an 80-column terminal; the family and budget unit go below.
    table = Table(Column("preset", no_wrap=True), Column("task", no_wrap=True),
                  Column("tasks", justify="right"), Column("configs", justify="right"),
                  Column("budgets", no_wrap=True), box=box.SIMPLE, pad_edge=False)
    infos = list_presets()
    for info in infos:
        table.add_row(info.name, info.task_type, str(info.tasks), str(info.configs),
                      ", ".join(f"{b:g}" for b in info.budgets) or "-")
    console().print("Bundled knowledge of each preset: tasks (datasets) x configs per task, "
                    "evaluated at each budget.", highlight=False)
    console().print(table)
    for info in infos:
        console().print(f"{info.name}: {info.family}; budget in {info.budget_unit}; "
                        f"{info.evaluations} evaluations", highlight=False)


@presets_app.command("tune")
def tune_command(
    preset: str = typer.Argument(..., help="The preset's name (see `metahpo presets list`)."),
    data: Path = typer.Option(..., help="A CSV or Parquet file: one row per example."),
    target: str = typer.Option(..., help="The column to predict; every other column is a feature."),
    trials: int = typer.Option(30, help="Number of trials to run."),
    cv: int | None = typer.Option(
        None, help="Cross-validation folds of each trial (default 5; a resumed study keeps its own)."),
    scoring: str | None = typer.Option(
        None, help="Classifiers: log_loss (default) or error; regressors: 1-r2 (default) or rmse. "
                   "A resumed study keeps its own."),
    name: str | None = typer.Option(None, help="Study name (resumed if it exists)."),
    storage: str | None = typer.Option(None, help=STORAGE_HELP),
    optimizer: str = typer.Option("auto", help="random, sobol, gpbo, portfolio, metabo or auto."),
    seed: int | None = typer.Option(None, help="Master seed of the study."),
    timeout: float | None = typer.Option(None, help="Stop starting trials after this many seconds."),
) -> None:
    """Tune PRESET on a data file: `metahpo presets tune lightgbm-classifier --data d.csv --target y`.

    Text, category and boolean feature columns are one-hot encoded; missing feature values
    are left to the model (the tree and boosting presets handle them). Each trial's value is
    the mean validation loss over --cv folds; the study is finished when its trials are
    done, so the next study learns from it.
    """
    from metahpo.knowledge import Task
    from metahpo.presets import get
    from metahpo.study import create_study

    if trials < 1:
        raise fail(f"--trials must be at least 1. Got {trials}.")
    if timeout is not None and not 0 < timeout < math.inf:
        raise fail(f"--timeout must be a positive, finite number of seconds. Got {timeout}.")
    check_optimizer_option(optimizer)
    try:
        chosen = get(preset)
        X, y, encoded = _read_data(data, target)
        study_name = name or f"{chosen.name}-{data.stem}"
        url = writable_storage_url(storage)
        stored = stored_study(url, study_name)
        if stored is not None:
            # Before the stored scoring and folds are read: another preset's may not apply.
            _check_same_preset(stored, chosen.name)
        recorded = stored.user_attrs.get(OBJECTIVE_KEY) if stored is not None else None
        # A resumed study's new trials are scored on the folds its earlier trials were
        # (--seed, when given, must be the study's: checked below).
        fold_seed = _recorded(recorded, "fold_seed", seed if seed is not None else 0)
        # Left out, --cv and --scoring are the resumed study's own (given, they must be).
        cv = cv if cv is not None else _recorded(recorded, "cv", 5)
        if scoring is None and isinstance(recorded, dict) and isinstance(recorded.get("scoring"), str):
            scoring = recorded["scoring"]
        # The objective checks the target and --cv first: its errors name the options.
        objective = chosen.objective(X, y, cv=cv, scoring=scoring, seed=fold_seed)
        task = Task.from_data(X, y, task_type=chosen.task_type)
        measured = {"scoring": scoring or chosen.loss_name, "data": _digest(X, y), "cv": cv,
                    "fold_seed": fold_seed}
        if stored is not None:
            # Before create_study: other data make another task, which it would refuse naming
            # its own 'task' parameter rather than --data; another optimizer or seed, naming
            # its own parameters and load_if_exists.
            _check_same_objective(recorded, study_name, measured, data)
            check_same_optimizer(stored, optimizer)
            check_same_seed(stored, seed)
        study = create_study(
            name=study_name, preset=chosen.name, task=task,
            storage=url, optimizer=optimizer, seed=seed, load_if_exists=True,
        )
        if not isinstance(study.user_attrs.get(OBJECTIVE_KEY), dict):
            study.set_user_attr(OBJECTIVE_KEY, measured)
        if encoded:
            console().print(f"one-hot encoded: {', '.join(encoded)}", markup=False)
        study.optimize(objective, n_trials=trials, timeout=timeout, show_progress=True)
        finish_and_say(study)
    except (MetahpoError, ImportError) as exc:  # ImportError: the preset's extra is missing
        raise fail(str(exc)) from exc
    best = best_or_fail(study)
    console().print(
        f"study {study.name!r} ({study.optimizer.name}): best {scoring or chosen.loss_name} "
        f"{best.value:.6g} at trial {best.number}", markup=False,
    )
    console().print(dict(best.config))


def _check_same_preset(stored: Any, preset: str) -> None:
    """Refuse to resume a study of another preset's search space (or of none) under
    --name: create_study would refuse it naming its own 'space' parameter and load_if_exists,
    which the command's user never wrote."""
    from metahpo.exceptions import InvalidParameterError
    from metahpo.presets import get, names
    from metahpo.space import Space

    fingerprint = Space.from_dict(stored.space).fingerprint()
    if fingerprint == get(preset).space.fingerprint():
        return
    owners = [other for other in names() if get(other).space.fingerprint() == fingerprint]
    if owners:
        raise InvalidParameterError(
            f"PRESET must be {owners[0]!r} to resume study {stored.name!r} (--name), a study of "
            f"that preset. Got {preset!r}: give {owners[0]}, or another --name for a new study."
        )
    raise InvalidParameterError(
        f"--name {stored.name!r} names a stored study of no preset (its parameters: "
        f"{list(stored.space)}), which PRESET {preset!r} cannot resume. Give another --name "
        "for a new study."
    )


def _check_same_objective(stored: Any, name: str, objective: dict[str, Any], path: Path) -> None:
    """Refuse to resume a study on another scoring or other data than it recorded: trials
    of two metrics or datasets in one study do not compare, and the finished study would
    teach the knowledge a task that never existed."""
    from metahpo.exceptions import InvalidParameterError

    if not isinstance(stored, dict):
        return
    if stored.get("scoring") != objective["scoring"]:
        raise InvalidParameterError(
            f"--scoring must be {stored.get('scoring')!r} to resume study {name!r}, which "
            f"was tuned with it. Got {objective['scoring']!r}: give another --name for a new study."
        )
    if "cv" in stored and stored["cv"] != objective["cv"]:
        raise InvalidParameterError(
            f"--cv must be {stored['cv']} to resume study {name!r}, which was tuned with it. "
            f"Got {objective['cv']}: give --cv {stored['cv']}, or another --name for a new study."
        )
    if stored.get("data") != objective["data"]:
        raise InvalidParameterError(
            f"--data must hold the data study {name!r} was tuned on to resume it. Got "
            f"{str(path)!r}, whose rows or --target differ: give another --name for a new study."
        )


def _recorded(record: Any, key: str, default: int) -> int:
    """An int the study recorded about its objective, or ``default`` (studies tuned before it
    was recorded have none: their folds were shuffled with --seed, or 0 without it)."""
    value = record.get(key) if isinstance(record, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _digest(X: Any, y: Any) -> str:
    """A fingerprint of the encoded features and the target."""
    import hashlib
    import json

    import numpy as np

    features = np.ascontiguousarray(X, dtype=float)
    digest = hashlib.sha256(json.dumps(features.shape).encode())
    digest.update(features.tobytes())
    digest.update(json.dumps([str(v) for v in y]).encode())
    return digest.hexdigest()[:16]


def _read_data(path: Path, target: str) -> tuple[Any, Any, list[str]]:
    """Features (numbers, one-hot encoded where they were not), the target, and the encoded columns."""
    import pandas as pd

    from metahpo.exceptions import InvalidParameterError

    if path.suffix.lower() not in DATA_SUFFIXES:
        raise InvalidParameterError(
            f"--data must be a {' or '.join(DATA_SUFFIXES)} file. Got {str(path)!r}."
        )
    if not path.is_file():
        raise InvalidParameterError(f"--data must be an existing file. There is no file at {str(path)!r}.")
    try:
        frame = pd.read_csv(path) if path.suffix.lower() == ".csv" else pd.read_parquet(path)
    except (ValueError, OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        # pandas' and pyarrow's parse errors (ArrowInvalid is a ValueError), unreadable files.
        raise InvalidParameterError(f"--data {str(path)!r} could not be read: {exc}") from None
    if target not in frame.columns:
        raise InvalidParameterError(
            f"--target must be a column of {path.name}. Got {target!r}; the columns are "
            f"{list(map(str, frame.columns))}."
        )
    y = frame[target]
    if y.isna().any():
        raise InvalidParameterError(
            f"--target column {target!r} has {int(y.isna().sum())} missing values: drop those rows first."
        )
    features = frame.drop(columns=[target])
    if features.shape[1] == 0:
        raise InvalidParameterError(f"{path.name} has no feature column besides --target {target!r}.")
    encoded = [str(c) for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])
               or pd.api.types.is_bool_dtype(features[c])]
    if encoded:
        features = pd.get_dummies(features, columns=encoded, dtype=float)
    return features.to_numpy(dtype=float), y.to_numpy(), encoded
