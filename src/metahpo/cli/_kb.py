"""``metahpo kb``: list, show, import, export, cluster and map the knowledge base."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from metahpo.cli._app import STORAGE_HELP, app
from metahpo.cli._studies import console, storage_url, writable_storage_url
from metahpo.exceptions import MetahpoError
from metahpo.knowledge import MIN_TASK_TRIALS, TASK_TYPES, KnowledgeBase, Task, bundled_names
from metahpo.space import Categorical, Float, Int, Space
from metahpo.storage import check_existing_sqlite

kb_app = typer.Typer(
    name="kb",
    help="The knowledge base: the tasks (finished studies, knowledge directories, bundled "
    "meta-data, Optuna studies) metahpo learns from.",
    no_args_is_help=True,
)
app.add_typer(kb_app, name="kb")


KNOWLEDGE_HELP = (
    "Read this knowledge instead of the storage: 'bundled:NAME', a storage URL or a knowledge "
    "directory (repeat to merge several)."
)
BUNDLED_HELP = "Add the bundled knowledge to the storage's tasks."
BAD_INPUT = 2


class BadInput(Exception):
    """What a kb command reports as a one-line error with exit code 2."""


def _fail(message: str) -> NoReturn:
    from metahpo.storage import mask_passwords_in

    # Messages may quote a URL the user typed; its password is never printed.
    Console(stderr=True, soft_wrap=True).print(
        f"[bold red]error:[/] {escape(mask_passwords_in(message))}", highlight=False
    )
    raise typer.Exit(code=BAD_INPUT)


@contextmanager
def _one_line_errors() -> Iterator[None]:
    """Bad input of any kind becomes one line on stderr and exit code 2, not a traceback."""
    try:
        yield
    except (BadInput, MetahpoError, ImportError, OSError, KeyError) as exc:
        text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
        _fail(" ".join(text.split()))


def _open(storage: str | None, knowledge: list[str] | None, bundled: bool) -> KnowledgeBase:
    """The knowledge a read-only command shows: --knowledge specs, else the storage."""
    if storage is not None:
        # Unread with --knowledge, but refused as everywhere when empty ("--storage $DB"
        # with DB unset) or malformed: the user meant some storage.
        storage_url(storage)
    specs = list(knowledge) if knowledge else [storage_url(storage)]
    for spec in specs:
        check_existing_sqlite(spec)  # reading creates nothing, changes no other program's file
    if bundled:
        specs += [f"bundled:{name}" for name in bundled_names() if f"bundled:{name}" not in specs]
    return KnowledgeBase.open(specs)


def _origins(storage: str | None, knowledge: list[str] | None) -> dict[str, str]:
    """Where the storage's imported studies came from (``kb import`` keeps the task's source
    in the study's ``user_attrs["task"]``), by study name; empty with --knowledge."""
    if knowledge:
        return {}
    from metahpo.storage import get_storage

    out = {}
    store = get_storage(storage_url(storage))
    try:
        for record in store.list_studies():
            task = record.user_attrs.get("task")
            origin = task.get("source") if isinstance(task, dict) else None
            if isinstance(origin, str) and origin not in ("memory", "study", "data"):
                out[record.name] = origin
    finally:
        store.close()
    return out


def _source(task: Task, origins: dict[str, str]) -> str:
    origin = origins.get(task.name) if task.source.startswith("study:") else None
    return task.source if origin is None else f"{task.source} (from {origin})"


def _where(storage: str | None, knowledge: list[str] | None) -> str:
    from metahpo.storage import mask_password

    return ", ".join(map(mask_password, knowledge or [storage_url(storage)]))


def _spaces(tasks: list[Task]) -> list[tuple[Space, list[Task]]]:
    """Tasks with evaluations grouped by space, the largest group first."""
    groups: dict[str, tuple[Space, list[Task]]] = {}
    for task in tasks:
        if task.space is not None and task.has_evaluations:
            groups.setdefault(task.space.fingerprint(), (task.space, []))[1].append(task)
    return sorted(groups.values(), key=lambda group: (-len(group[1]), group[0].fingerprint()))


def _budgets(task: Task) -> str:
    levels = task.budget_levels()
    if levels == [None] or not levels:
        return "full"
    low, high = levels[0], levels[-1]
    return f"{low:g}" if len(levels) == 1 else f"{low:g}..{high:g} ({len(levels)})"


def _param_text(param: Any) -> tuple[str, str]:
    if isinstance(param, Float):
        return "float" + (" log" if param.log else ""), f"[{param.low:g}, {param.high:g}]"
    if isinstance(param, Int):
        return "int" + (" log" if param.log else ""), f"[{param.low}, {param.high}]"
    if isinstance(param, Categorical):
        return "categorical", ", ".join(json.dumps(c) for c in param.choices)
    return type(param).__name__, str(param)


def _space_of(kb: KnowledgeBase, task_name: str | None) -> Space | None:
    if task_name is None:
        return None
    if task_name not in kb:
        raise BadInput(f"No task named {task_name!r}; `metahpo kb list` shows the tasks.")
    space = kb[task_name].space
    if space is None:
        raise BadInput(f"Task {task_name!r} has no evaluations, so no space.")
    return space


def _empty(where: str) -> str:
    return (
        f"No tasks in {where} (a study becomes a task once it has 5 COMPLETE trials; "
        "--bundled adds the bundled knowledge)."
    )


# Commands -----------------------------------------------------------------------------------
StorageOption = typer.Option(None, help=STORAGE_HELP)
KnowledgeOption = typer.Option(None, "--knowledge", "-k", help=KNOWLEDGE_HELP)
BundledOption = typer.Option(False, "--bundled", help=BUNDLED_HELP)


@kb_app.command("list")
def list_tasks(
    storage: str | None = StorageOption,
    knowledge: list[str] | None = KnowledgeOption,
    bundled: bool = BundledOption,
) -> None:
    """List the tasks, by space and source."""
    with _one_line_errors():
        kb = _open(storage, knowledge, bundled)
        origins = _origins(storage, knowledge)
    if not len(kb):
        console().print(_empty(_where(storage, knowledge)))
        return
    table = Table(
        Column("task", overflow="fold"),
        Column("source", overflow="fold"),
        Column("space", no_wrap=True),
        Column("#params", justify="right"),
        Column("#evals", justify="right"),
        Column("budgets", no_wrap=True),
        Column("descriptor", no_wrap=True),
        Column("kind", no_wrap=True),
        title=f"{len(kb)} tasks",
    )
    rows = sorted(
        kb, key=lambda t: ("" if t.space is None else t.space.fingerprint(), t.source, t.name)
    )
    for task in rows:
        space = "-" if task.space is None else task.space.fingerprint()[:8]
        params = "-" if task.space is None else str(len(task.space))
        # Names and sources as they are: markup would drop "[final]" from "run[final]".
        table.add_row(
            escape(task.name),
            escape(_source(task, origins)),
            space,
            params,
            str(task.n_evaluations),
            _budgets(task) if task.has_evaluations else "-",
            "yes" if task.descriptor else "no",
            task.task_type or "-",  # tasks of another kind of problem are never related
        )
    console().print(table)
    spaces = {t.space.fingerprint(): t.space for t in kb if t.space is not None}
    for fingerprint in sorted(spaces):
        k = kb.portfolio_neighbours(spaces[fingerprint])
        if k is not None:
            console().print(f"portfolio of space {fingerprint[:8]}: chosen on the {k} nearest tasks")


@kb_app.command("show")
def show_task(
    task: str = typer.Argument(..., help="The task's name (see `metahpo kb list`)."),
    storage: str | None = StorageOption,
    knowledge: list[str] | None = KnowledgeOption,
    bundled: bool = BundledOption,
) -> None:
    """Show one task: its space, source, descriptor and evaluations."""
    with _one_line_errors():
        kb = _open(storage, knowledge, bundled)
        if task not in kb:
            raise BadInput(
                f"No task named {task!r} in {_where(storage, knowledge)}; "
                "`metahpo kb list` shows the tasks."
            )
        origins = _origins(storage, knowledge)
    record = kb[task]
    console().print(
        f"[bold]task[/] {escape(record.name)}   [bold]source[/] {escape(_source(record, origins))}",
        highlight=False,
    )
    # Sources that name a task alike are told apart as "NAME (SOURCE)": say which others exist.
    namesakes = [t.name for t in kb if t.name == f"{task} ({t.source})"]
    if namesakes:
        console().print(f"also named {task!r} in other sources: " + ", ".join(namesakes),
                        highlight=False, markup=False)
    if record.space is not None:
        space = Table(
            "parameter", "type", "range / choices", title=f"space {record.space.fingerprint()[:8]}"
        )
        for name, param in record.space.items():
            space.add_row(escape(name), *map(escape, _param_text(param)))
        console().print(space)
    if record.descriptor:
        console().print(
            "descriptor: " + ", ".join(f"{k}={v:.4g}" for k, v in sorted(record.descriptor.items())),
            markup=False,
        )
    else:
        console().print("descriptor: none")
    console().print(f"kind of problem: {record.task_type or 'not recorded'}", highlight=False)
    if not record.has_evaluations:
        console().print("no evaluations")
        return
    budgets = Table("budget", "evaluations", "best loss", "worst loss", title="evaluations")
    for level in record.budget_levels():
        rows = record.at_budget(level)
        budgets.add_row(
            "full" if level is None else f"{level:g}",
            str(rows.n_evaluations),
            f"{rows.losses.min():.6g}",
            f"{rows.losses.max():.6g}",
        )
    console().print(budgets)
    final = record.at_budget(None)
    console().print(
        f"{record.n_evaluations} evaluations; losses {record.losses.min():.6g} .. "
        f"{record.losses.max():.6g}"
    )
    console().print(
        f"best at the largest budget: loss {final.losses.min():.6g}  "
        f"config {json.dumps(record.best_config())}",
        markup=False,
    )


def _import(build: Callable[[], KnowledgeBase], storage: str | None, what: str) -> None:
    with _one_line_errors():
        kb = build()
        if not len(kb):
            raise BadInput(f"{what} holds no task to import.")
        url = writable_storage_url(storage)
        names = kb.to_storage(url)
    from metahpo.storage import mask_password

    console().print(
        f"imported {len(names)} tasks from {mask_password(what)} into {mask_password(url)}: " + ", ".join(names),
        markup=False,
    )
    # Stored, but the storage's knowledge would not learn from them: say so, not "imported".
    short = [t.name for t in kb if t.name in names and t.n_evaluations < MIN_TASK_TRIALS]
    if short:
        Console(stderr=True, soft_wrap=True).print(
            f"warning: {len(short)} of them have fewer than {MIN_TASK_TRIALS} evaluations, and a "
            f"study is a task of the storage's knowledge from {MIN_TASK_TRIALS} COMPLETE trials: "
            "studies learn nothing from " + ", ".join(short) + ".",
            highlight=False, markup=False,
        )


@kb_app.command("import")
def import_knowledge(
    source: str | None = typer.Argument(
        None, help="A knowledge directory, 'bundled:NAME' or another metahpo storage URL."
    ),
    optuna: str | None = typer.Option(
        None, "--optuna", help="An Optuna storage URL to import instead."
    ),
    study: list[str] | None = typer.Option(
        None, "--study", help="With --optuna: the studies to import (default: all)."
    ),
    prefix: str = typer.Option("", help="Put before each imported task's name."),
    min_trials: int | None = typer.Option(
        None, help="With --optuna: the fewest usable trials a study needs (default 5)."
    ),
    storage: str | None = StorageOption,
) -> None:
    """Import knowledge into the storage as finished studies (files, bundled, or Optuna)."""
    if (source is None) == (optuna is None):
        _fail(
            "give either a SOURCE (a knowledge directory, 'bundled:NAME', a storage URL) or --optuna URL."
        )
    if source is not None and (study or min_trials is not None):
        # Ignored, every task of SOURCE would be written, not the studies asked for.
        given = "--study" if study else "--min-trials"
        _fail(f"{given} applies to --optuna URL, choosing among its studies. Got {given} with "
              f"SOURCE {source!r}, all of whose tasks would be imported.")
    if optuna is not None:
        _import_optuna(optuna, study, prefix, 5 if min_trials is None else min_trials, storage)
    elif source is not None:
        _import_spec(source, prefix, storage)


def _import_spec(source: str, prefix: str, storage: str | None) -> None:
    def build() -> KnowledgeBase:
        if "://" not in source and not source.startswith("bundled:") and not Path(source).is_dir():
            raise BadInput(
                f"{source!r} is not a knowledge directory, 'bundled:NAME' or a storage URL."
            )
        check_existing_sqlite(source)
        kb = KnowledgeBase.open(source)
        return KnowledgeBase([t.renamed(prefix + t.name) for t in kb]) if prefix else kb

    _import(build, storage, source)


@kb_app.command("import-optuna")
def import_optuna(
    url: str = typer.Argument(..., help="The Optuna storage URL, e.g. sqlite:///optuna.db."),
    study: list[str] | None = typer.Option(
        None, "--study", help="The studies to import (default: all)."
    ),
    prefix: str = typer.Option("", help="Put before each study's name to make the task name."),
    min_trials: int = typer.Option(
        5,
        help="The fewest usable trials (COMPLETE, or PRUNED with intermediate values) a study needs.",
    ),
    storage: str | None = StorageOption,
) -> None:
    """Import Optuna studies into the storage as finished studies (same as import --optuna)."""
    _import_optuna(url, study, prefix, min_trials, storage)


def _import_optuna(
    url: str, study: list[str] | None, prefix: str, min_trials: int, storage: str | None
) -> None:
    from metahpo.storage import mask_password

    _import(
        lambda: KnowledgeBase.from_optuna(url, study or None, min_trials=min_trials, prefix=prefix),
        storage,
        f"Optuna storage {mask_password(url)}",
    )


@kb_app.command("export")
def export_knowledge(
    out: Path = typer.Argument(
        ..., help="The knowledge directory to write (replaced if it exists)."
    ),
    storage: str | None = StorageOption,
    knowledge: list[str] | None = KnowledgeOption,
    bundled: bool = BundledOption,
    kind: str | None = typer.Option(
        None,
        "--kind",
        help="Only the knowledge a study of this kind of problem learns from: 'classification' "
        "or 'regression' (the kinds `kb list` shows); tasks that record no kind are kept.",
    ),
) -> None:
    """Write the knowledge to a knowledge directory (manifest.json + Parquet tables)."""
    with _one_line_errors():
        if kind is not None and kind not in TASK_TYPES:
            raise BadInput(
                "--kind must be 'classification' or 'regression', the kinds of problem `metahpo kb "
                f"list` shows. Got {kind!r} instead."
            )
        kb = _open(storage, knowledge, bundled)
        if not len(kb):
            raise BadInput(_empty(_where(storage, knowledge)) + " Nothing was written.")
        # What KnowledgeBase.of_task_type(kind).save(out) writes from Python.
        chosen = kb.of_task_type(kind)
        if not len(chosen):
            raise BadInput(
                f"All {len(kb)} tasks in {_where(storage, knowledge)} are of another kind of problem "
                f"than {kind!r}. Nothing was written."
            )
        if out.exists() and not out.is_dir():
            raise BadInput(f"{str(out)!r} is a file; give a directory to write the knowledge to.")
        written = chosen.save(out)
    message = f"wrote {len(chosen)} tasks of {len(_spaces(list(chosen)))} spaces to {written}"
    if kind is not None:
        unrecorded = sum(t.task_type is None for t in chosen)
        message += (f" ({len(kb) - len(chosen)} tasks of another kind of problem left out, "
                    f"{unrecorded} that record no kind kept)")
    console().print(message, markup=False)


@kb_app.command("clusters")
def clusters(
    storage: str | None = StorageOption,
    knowledge: list[str] | None = KnowledgeOption,
    bundled: bool = BundledOption,
    space_of: str | None = typer.Option(None, "--space-of", help="Only the space of this task."),
    method: str = typer.Option(
        "meta",
        "--method",
        help="'meta' (meta-clustering: the consensus of many clusterings) or 'average-linkage' (one clustering).",
    ),
) -> None:
    """Show the clusters of the tasks of each space (descriptors and response similarity)."""
    with _one_line_errors():
        if method not in ("meta", "average-linkage"):
            raise BadInput(f"--method must be 'meta' or 'average-linkage'. Got {method!r} instead.")
        kb = _open(storage, knowledge, bundled)
        chosen = _space_of(kb, space_of)
        groups = _spaces(list(kb))
        spaces = [chosen] if chosen is not None else [space for space, _ in groups]
        if not spaces:
            console().print(_empty(_where(storage, knowledge)))
            return
        results = [(space, kb.clusters(space, method=method)) for space in spaces]
    for space, clustering in results:
        score = "" if clustering.silhouette is None else f", silhouette {clustering.silhouette:.2f}"
        if clustering.support is not None and clustering.agreement is not None:
            score += (
                f", chosen by {clustering.support:.0%} of {clustering.n_base} clusterings"
                f" (agreement {clustering.agreement:.2f})"
            )
        console().print(
            f"[bold]space {space.fingerprint()[:8]}[/] ({escape(', '.join(space.names))}): "
            f"{len(clustering.names)} tasks, {clustering.k} clusters{score}",
            highlight=False,
        )
        table = Table("cluster", "tasks", "members")
        for label, members in enumerate(clustering.clusters()):
            table.add_row(str(label), str(len(members)), escape(", ".join(members)))
        console().print(table)


@kb_app.command("map")
def task_map_command(
    out: Path = typer.Option(..., "--out", help="The picture to write: FILE.png or FILE.html."),
    storage: str | None = StorageOption,
    knowledge: list[str] | None = KnowledgeOption,
    bundled: bool = BundledOption,
    space_of: str | None = typer.Option(
        None,
        "--space-of",
        help="Map the tasks of this task's space (default: the space with the most tasks).",
    ),
    seed: int = typer.Option(0, help="The embedding's seed."),
) -> None:
    """Draw the tasks of one space on a 2-D map, coloured by cluster (PNG or HTML)."""
    from metahpo.cli._kb_map import write_map
    from metahpo.knowledge import task_map

    with _one_line_errors():
        suffix = out.suffix.lower()
        if suffix not in (".png", ".html"):
            raise BadInput(f"--out must end in .png or .html. Got {str(out)!r} instead.")
        if not out.parent.is_dir():
            raise BadInput(f"The folder of --out, {str(out.parent)!r}, does not exist.")
        kb = _open(storage, knowledge, bundled)
        space = _space_of(kb, space_of)
        if space is None:
            groups = _spaces(list(kb))
            if not groups:
                raise BadInput(_empty(_where(storage, knowledge)) + " Nothing was drawn.")
            space = groups[0][0]
        # The tasks MetaBO learns from for this space: its own and those of related spaces.
        tasks = kb.tasks(space)
        # Counted on the tasks as stored: kb.tasks gives every task mapped onto the space.
        exact = sum(t.space is not None and t.space.fingerprint() == space.fingerprint() for t in kb)
        mapped = task_map(tasks, seed=seed)
        title = (
            f"{len(tasks)} tasks related to space {space.fingerprint()[:8]} "
            f"({', '.join(space.names)}; {exact} of exactly this space), {mapped.k} clusters"
        )
        sources = {t.name: kb[t.name].source if t.name in kb else t.source for t in tasks}
        write_map(mapped, out, title=title, sources=sources)
    console().print(f"wrote {out} ({len(tasks)} tasks related to the space, {exact} of exactly it; "
                    f"{mapped.k} clusters)", markup=False)
