"""``metahpo studies``, ``metahpo show`` and ``metahpo delete``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from metahpo.cli._app import STORAGE_HELP, app
from metahpo.exceptions import InvalidParameterError, MetahpoError, StorageError, StudyNotFoundError
from metahpo.storage import CLI_DEFAULT_URL, ENV_VAR, StudyRecord, is_memory_sqlite
from metahpo.trial import FrozenTrial


def console() -> Console:
    """Standard output, as wide as the terminal (or ``COLUMNS``) is when a command runs."""
    return Console()


def storage_url(storage: str | None) -> str:
    """The storage URL a command uses: the flag, else $METAHPO_STORAGE, else the SQLite file."""
    if storage is not None and not storage.strip():
        # Not the default: an empty variable in `--storage "$DB"` would write somewhere else.
        raise InvalidParameterError(
            f"--storage must be a database URL such as {CLI_DEFAULT_URL}. Got {storage!r}; leave "
            f"--storage out to use ${ENV_VAR} or {CLI_DEFAULT_URL}."
        )
    url = storage or os.environ.get(ENV_VAR) or CLI_DEFAULT_URL
    if "://" not in url and not Path(url).is_dir():  # a knowledge directory is read by kb
        # A file path typed where a URL goes: the storage's own error speaks of Python objects.
        raise InvalidParameterError(
            f"--storage (or ${ENV_VAR}) must be a database URL: sqlite:///PATH for a SQLite file, "
            f"postgresql+psycopg://USER:PASSWORD@HOST/DB for PostgreSQL. Got {url!r}; for that "
            f"file, give sqlite:///{url}."
        )
    if is_memory_sqlite(url):
        # `sqlite://` is a typo of `sqlite:///` away: a study would vanish when the command exits.
        raise InvalidParameterError(
            f"--storage (or ${ENV_VAR}) must name a database that outlives the command. Got "
            f"{url!r}, an in-memory SQLite database: what a command writes there is gone when it "
            "exits, and a command that reads finds nothing. Give a file: sqlite:///metahpo.db "
            "(three slashes, then the path)."
        )
    return url


def stored_study(url: str, name: str) -> StudyRecord | None:
    """The study ``name`` stored at ``url``, or ``None`` when there is none (no database file
    yet, or no study of that name). Reads only: nothing is created."""
    from metahpo.storage import existing_storage, missing_sqlite_file

    if missing_sqlite_file(url) is not None:
        return None  # Nothing stored yet; the command creates the file.
    try:
        store = existing_storage(url)
    except StorageError:
        # A file without metahpo's tables (an empty one, say) holds no study: create_study
        # sets it up, or says what is wrong with it.
        return None
    try:
        return store.get_study(name)
    except StudyNotFoundError:
        return None
    finally:
        store.close()


def check_optimizer_option(optimizer: str) -> None:
    """Refuse an unknown --optimizer by the option's name, before anything is read or stored."""
    from metahpo.optimizers import optimizer_names

    if optimizer not in optimizer_names():
        raise fail(f"--optimizer must be one of {', '.join(optimizer_names())}. Got {optimizer!r}.")


def existing_storage_url(storage: str | None) -> str:
    """:func:`storage_url` for commands that only read or delete: a SQLite file that does
    not exist, or is not metahpo's, is an error, not a new or changed database."""
    from metahpo.storage import check_existing_sqlite

    url = storage_url(storage)
    check_existing_sqlite(url)
    return url


def writable_storage_url(storage: str | None) -> str:
    """:func:`storage_url` for commands that store studies: a SQLite file of another
    program's is an error, not a database to add metahpo's tables to."""
    from metahpo.storage import check_not_foreign_sqlite

    url = storage_url(storage)
    check_not_foreign_sqlite(url)
    return url


def fail(message: str) -> typer.Exit:
    # Escaped: rich would take "[lightgbm]" in "pip install 'metahpo[lightgbm]'" for a tag and drop it.
    Console(stderr=True).print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code=1)


def best_or_fail(study: Any) -> FrozenTrial:
    """The best trial of a study a command ran, or the error that none completed."""
    try:
        return study.best_trial
    except MetahpoError:
        if not study.trials:  # `metahpo show` would have no failed trial to show
            raise fail(f"no trial of study {study.name!r} ran: --timeout ended the run before its "
                       "first trial, or it was stopped.") from None
        raise fail(f"no trial of study {study.name!r} completed; see `metahpo show {study.name}`.") from None


def finish_and_say(study: Any) -> None:
    """Finish a study a command ran, saying what the knowledge learned: a meta-training
    takes tens of seconds, which would otherwise pass in silence."""
    with console().status("learning from the study for the next ones..."):
        update = study.finish()
    if not update:
        return
    from metahpo.study import knowledge_update_label

    console().print(f"knowledge: {knowledge_update_label(update)}", markup=False)


@app.command()
def studies(storage: str | None = typer.Option(None, help=STORAGE_HELP)) -> None:
    """List the studies in the storage."""
    from metahpo.storage import get_storage
    from metahpo.study import optimizer_label

    try:
        url = existing_storage_url(storage)
        records = get_storage(url).list_studies()
        # A name is what `show`, `plot` and `delete` take: folded over lines, never cut, and
        # the best value is never cut either. Only those two: every column that may not wrap
        # is one rich cannot narrow, and on a narrow terminal the name's would go to nothing.
        table = Table(Column("name", overflow="fold"), "direction", "optimizer", "trials",
                      Column("best", no_wrap=True), "created")
        for record in records:
            data, best_trial = _stored(record.name, url)
            best = "-" if best_trial is None else f"{best_trial.value:.6g}"
            # Stored in UTC; shown in the terminal's own time zone, as the user reads clocks.
            created = record.created_at.astimezone().strftime("%Y-%m-%d %H:%M") if record.created_at else "-"
            # As `show` names it, without auto's reason (a sentence; `show` prints it).
            optimizer = optimizer_label(record.optimizer, record.user_attrs, reason=False)
            table.add_row(escape(record.name), record.direction, escape(optimizer), str(len(data.trials)),
                          best, created)
    except MetahpoError as exc:
        raise fail(str(exc)) from exc
    console().print(table)


@app.command()
def show(
    study: str = typer.Argument(..., help="The study's name."),
    storage: str | None = typer.Option(None, help=STORAGE_HELP),
    limit: int = typer.Option(50, help="Show at most this many trials (the last ones)."),
    explain: bool = typer.Option(False, help="Show why each trial was suggested."),
) -> None:
    """Show a study's trials and its best configuration."""
    from metahpo.study import optimizer_label

    if limit < 1:
        # trials[-0:] is every trial and trials[-(-2):] drops the first two: neither is asked for.
        raise fail(f"--limit must be at least 1. Got {limit}.")
    try:
        loaded, best = _stored(study, existing_storage_url(storage))
        trials = loaded.trials
    except MetahpoError as exc:
        raise fail(str(exc)) from exc
    names = list(loaded.space)
    shown = trials[-limit:]
    # The scheduler's columns only for a study that has one: on 80 columns every column
    # taken from the parameters cuts their values short.
    scheduled = any(t.budget is not None or t.bracket is not None for t in shown)
    # Said when trials are left out: a table of 50 rows reads as a study of 50 trials.
    cut = f"the last {len(shown)} of {len(trials)} trials (--limit {len(trials)} shows all)"
    # Names and values as stored: markup would drop "[final]" from a study named "run[final]".
    table = Table("#", "state", "value", *(["budget", "bracket", "rung"] if scheduled else []),
                  *map(escape, names), title=escape(f"study {loaded.name!r} ({loaded.direction})"),
                  caption=cut if len(shown) < len(trials) else None)
    for t in shown:
        value = "-" if t.value is None else f"{t.value:.6g}"
        budget = "-" if t.budget is None else f"{t.budget:g}"
        schedule = [budget, "-" if t.bracket is None else str(t.bracket),
                    "-" if t.rung is None else str(t.rung)] if scheduled else []
        table.add_row(str(t.number), t.state.value, value, *schedule, *[escape(_fmt(t.config.get(n))) for n in names])
    console().print(table)
    # Below the table, whole: a column would be squeezed to nothing on a narrow terminal.
    for t in shown:
        if explain and t.user_attrs.get("why"):
            console().print(f"trial {t.number} why: {json.dumps(t.user_attrs['why'], default=str)}",
                            markup=False, highlight=False, soft_wrap=True)
        if t.error:
            console().print(f"trial {t.number} {t.state.value}: {_indented(t.error)}", markup=False,
                          highlight=False, soft_wrap=True)
        attrs_shown = _own_attrs(t.user_attrs)
        if attrs_shown:
            console().print(f"trial {t.number} attributes: {json.dumps(attrs_shown, default=str)}",
                            markup=False, highlight=False, soft_wrap=True)
    attrs = loaded.user_attrs
    console().print(f"optimizer: {optimizer_label(loaded.optimizer, attrs)}", markup=False)
    update = attrs.get("knowledge_update")
    if isinstance(update, dict):
        console().print(f"knowledge update: {json.dumps(update)}", markup=False)
    if best is None:
        console().print("no COMPLETE trial yet")
        return
    console().print(f"best trial {best.number}: value {best.value:.6g}  config {json.dumps(dict(best.config))}",
                    markup=False)


@app.command()
def delete(
    study: str = typer.Argument(..., help="The study's name."),
    storage: str | None = typer.Option(None, help=STORAGE_HELP),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a study and all its trials."""
    from metahpo.study import delete_study

    if not yes and not typer.confirm(f"Delete study {study!r} and all its trials?"):
        raise typer.Exit(code=1)
    try:
        delete_study(study, existing_storage_url(storage))
    except MetahpoError as exc:
        raise fail(str(exc)) from exc
    console().print(f"deleted {study!r}", markup=False)


def _stored(name: str, url: str) -> tuple[Any, FrozenTrial | None]:
    """A study as stored, and its best trial (at the largest budget reached), read through
    the storage: listing trials builds no optimizer, imports no torch and opens no
    knowledge (which took seconds per study)."""
    from metahpo.history import History
    from metahpo.visualization import read_study

    data = read_study(name, url)
    history = History(space=data.space, trials=tuple(t for t in data.trials if t.config),
                      direction=data.direction)
    return data, history.best()


def _own_attrs(attrs: Any) -> dict[str, Any]:
    """A trial's attributes the user (or the command `tune` ran) set: not metahpo's own
    state, nor the reason for the suggestion (`--explain` shows that)."""
    from metahpo.study import public_user_attrs

    return {k: v for k, v in public_user_attrs(attrs).items() if k != "why"}


def _indented(error: str) -> str:
    """A stored error whole, its lines after the first indented under the trial's line.

    Whole, because no one line says what went wrong for every error: a traceback says it
    last, a command that failed says it first ("The command exited with status 4"), before
    its stderr's tail."""
    lines = error.strip("\n").splitlines()
    return "\n".join([lines[0], *(f"    {line}" for line in lines[1:])]) if lines else ""


def _fmt(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
