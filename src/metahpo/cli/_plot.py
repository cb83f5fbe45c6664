"""``metahpo plot`` and ``metahpo dashboard``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from metahpo.cli._app import STORAGE_HELP, app
from metahpo.cli._studies import fail, storage_url
from metahpo.exceptions import MetahpoError

_KINDS_HELP = ("history, parallel, slice, contour, importance, learning-curves, brackets, "
               "knowledge-map, why, compare")


@app.command("plot")
def plot_command(
    study: str = typer.Argument(..., help="The study's name."),
    kind: str = typer.Argument(..., help=f"The figure: {_KINDS_HELP}."),
    out: Path = typer.Option(..., "--out", "-o", help="The file to write: .html or .png."),
    storage: str | None = typer.Option(None, help=STORAGE_HELP),
    trial: int | None = typer.Option(None, help="The trial of 'why' (default: the latest the knowledge shaped)."),
    others: list[str] = typer.Option([], "--with", help="Another study for 'compare' (repeatable)."),
    params: list[str] = typer.Option(
        [], "--param", help="A parameter of 'contour', given twice: x then y (default: the first two numeric ones)."),
    plotlyjs: str | None = typer.Option(
        None, "--plotlyjs", help="How an .html file gets plotly.js: inline (embedded, about 4.8 MB, opens offline; "
        "the default), directory (plotly.min.js written beside it, shared by a folder's pages) or cdn "
        "(loaded from cdn.plot.ly: a few kB, needs the internet)."),
) -> None:
    """Draw one figure of a study and write it as HTML or PNG."""
    from metahpo.visualization import plot, write_figure

    try:
        url = storage_url(storage)
        _check_exists(url)
        figure = plot(study, kind, url, trial=trial, others=others, params=params or None)
        written = write_figure(figure, out, plotlyjs=plotlyjs)
    except (MetahpoError, ImportError) as exc:  # ImportError: an extra not installed, named
        raise fail(str(exc)) from exc
    Console().print(f"wrote {written}", markup=False)


@app.command("dashboard")
def dashboard_command(
    storage: str | None = typer.Option(None, help=STORAGE_HELP),
    host: str = typer.Option("127.0.0.1", help="The address to listen on (loopback by default)."),
    port: int = typer.Option(8080, help="The port to listen on (0: a free one, printed)."),
) -> None:
    """Serve the read-only web dashboard of a storage."""
    from metahpo.dashboard import serve

    try:
        url = storage_url(storage)
        _check_exists(url)
    except MetahpoError as exc:
        raise fail(str(exc)) from exc
    err = Console(stderr=True)
    # A host other than loopback is warned about by serve() itself (logged).
    try:
        serve(url, host=host, port=port,
              on_start=lambda address: err.print(f"metahpo dashboard on {address} (read-only; Ctrl+C stops it)"))
    except (MetahpoError, ImportError) as exc:  # ImportError: the extra not installed, named
        raise fail(str(exc)) from exc


def _check_exists(url: str) -> None:
    """Refuse a SQLite file that does not exist (opening it would create an empty one)."""
    from metahpo.storage import missing_sqlite_file

    missing = missing_sqlite_file(url)  # any driver's spelling
    if missing is not None:
        raise MetahpoError(f"No database at {missing!r}: check --storage (or $METAHPO_STORAGE).")
