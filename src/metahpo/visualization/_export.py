"""Figures by kind name (what ``metahpo plot`` and the dashboard ask for) and file export."""

from __future__ import annotations

import os
import secrets
import shutil
import stat
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError, MetahpoError
from metahpo.storage import Storage
from metahpo.visualization._budgets import plot_brackets, plot_learning_curves
from metahpo.visualization._history import plot_optimization_history, plot_studies
from metahpo.visualization._importance import plot_param_importances
from metahpo.visualization._knowledge import plot_knowledge_map, plot_why
from metahpo.visualization._params import plot_contour, plot_parallel_coordinate, plot_slice

__all__ = ["KINDS", "plot", "write_figure"]

_STUDY_FIGURES: dict[str, Callable[..., Any]] = {
    "history": plot_optimization_history,
    "parallel": plot_parallel_coordinate,
    "slice": plot_slice,
    "contour": plot_contour,
    "importance": plot_param_importances,
    "learning-curves": plot_learning_curves,
    "brackets": plot_brackets,
}
# Every kind of figure of a study, in the order the dashboard shows them.
KINDS: tuple[str, ...] = (*_STUDY_FIGURES, "knowledge-map", "why", "compare")
_FORMATS = (".html", ".png")
# How an HTML page gets plotly.js: the ``include_plotlyjs`` of ``Figure.write_html``.
_PLOTLYJS: dict[str, bool | str] = {"inline": True, "directory": "directory", "cdn": "cdn"}


def plot(
    study: Any,
    kind: str,
    storage: Storage | str | None = None,
    *,
    trial: int | None = None,
    others: Sequence[Any] = (),
    params: Sequence[str] | None = None,
) -> Any:
    """The figure ``kind`` (one of :data:`KINDS`) of ``study``.

    ``trial`` is the trial of ``"why"``; ``others`` the studies ``"compare"`` draws beside
    ``study``; ``params`` the two parameters of ``"contour"`` (see :func:`plot_contour`).

    Example:
        >>> import metahpo as mh
        >>> from metahpo.visualization import plot
        >>> s = mh.create_study(space=mh.Space({"x": mh.Float(0, 1)}), optimizer="random", seed=0)
        >>> s.optimize(lambda t: t.config["x"], n_trials=5, show_progress=False)
        >>> plot(s, "history").layout.title.text.startswith("Optimization history")
        True
    """
    if kind not in KINDS:
        raise InvalidParameterError(
            f"The 'kind' parameter of plot (`metahpo plot KIND`) must be one of {list(KINDS)}. Got {kind!r} instead."
        )
    # Silently drawing another figure than the one asked for would hide the mistake.
    for name, option, given, only in (
        ("params", "--param", params is not None, "contour"),
        ("trial", "--trial", trial is not None, "why"),
        ("others", "--with", bool(others), "compare"),
    ):
        if given and kind != only:
            value = {"params": params, "trial": trial, "others": others}[name]
            raise InvalidParameterError(
                f"The '{name}' parameter of plot (`metahpo plot {option}`) is for a {only!r} "
                f"figure only. Got {name}={describe(value)} with kind {kind!r} instead."
            )
    if kind == "contour":
        return plot_contour(study, storage, params=params)
    if kind in _STUDY_FIGURES:
        return _STUDY_FIGURES[kind](study, storage)
    if kind == "why":
        return plot_why(study, storage, trial=trial)
    if kind == "compare":
        return plot_studies([study, *others], storage)
    if storage is None and hasattr(study, "storage"):
        storage = study.storage
    return plot_knowledge_map(storage, study=study)


def write_figure(fig: Any, path: str | os.PathLike[str], *, plotlyjs: str | None = None) -> Path:
    """Write ``fig`` to ``path``: an HTML page or a PNG image, by extension.

    ``plotlyjs`` says how an HTML page gets plotly.js: ``"inline"`` (the default) embeds
    it, about 4.8 MB, and the page opens offline on its own; ``"directory"`` writes
    ``plotly.min.js`` beside the page (once for all the pages of a folder, still offline;
    a regular file, replacing a symlink there rather than writing through it);
    ``"cdn"`` loads it from cdn.plot.ly (a page of a few kB that needs the internet).
    PNG goes through Kaleido, which drives a Chromium already installed on the machine
    (``$BROWSER_PATH``, else ``chromium`` on the ``PATH``); it never downloads one.
    """
    if not all(callable(getattr(fig, method, None)) for method in ("write_html", "write_image")):
        raise InvalidParameterError(
            "The 'fig' parameter of write_figure must be a Plotly figure (what plot() and the "
            f"plot_* functions return). Got {describe(fig)} instead."
        )
    if not isinstance(path, (str, os.PathLike)):
        raise InvalidParameterError(
            "The 'path' parameter of write_figure must be a file path (a str or a Path). "
            f"Got {describe(path)} instead."
        )
    if plotlyjs is not None and plotlyjs not in _PLOTLYJS:
        raise InvalidParameterError(
            f"The 'plotlyjs' parameter of write_figure (`metahpo plot --plotlyjs`) must be one of "
            f"{list(_PLOTLYJS)}. Got {describe(plotlyjs)} instead."
        )
    out = Path(path)
    suffix = out.suffix.lower()
    if suffix not in _FORMATS:
        raise InvalidParameterError(
            f"The 'path' parameter of write_figure (`metahpo plot --out`) must end in one of {list(_FORMATS)}. Got {str(out)!r} instead."
        )
    if plotlyjs is not None and suffix != ".html":
        raise InvalidParameterError(
            f"The 'plotlyjs' parameter of write_figure (`metahpo plot --plotlyjs`) is for an .html file "
            f"only. Got plotlyjs={plotlyjs!r} with {str(out)!r} instead."
        )
    if not out.parent.is_dir():
        raise InvalidParameterError(
            f"The 'path' parameter of write_figure (`metahpo plot --out`) must be a file in an existing folder. Got "
            f"{str(out)!r}, whose folder {str(out.parent)!r} does not exist."
        )
    if out.is_dir():
        raise InvalidParameterError(
            f"The 'path' parameter of write_figure (`metahpo plot --out`) must be a file. Got "
            f"{str(out)!r}, which is a directory."
        )
    if suffix == ".html":
        try:
            if plotlyjs == "directory":
                # plotly leaves a plotly.min.js already there, which may be an older
                # plotly's: the page gets the one its figure was made for.
                _place_plotly_bundle(out.parent / "plotly.min.js")
            fig.write_html(out, include_plotlyjs=_PLOTLYJS[plotlyjs or "inline"], full_html=True)
        except OSError as exc:  # no permission, a full disk: one line, not a traceback
            raise MetahpoError(f"Cannot write the figure to {str(out)!r}: {exc}") from exc
        return out
    browser = os.environ.get("BROWSER_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise MetahpoError(
            "PNG export needs a Chromium browser on this machine (Debian: apt-get install chromium), "
            "or BROWSER_PATH naming one. Write an .html file instead, or install one."
        )
    os.environ.setdefault("BROWSER_PATH", browser)
    try:
        import kaleido  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "PNG export needs kaleido: install the 'dashboard' extra (pip install 'metahpo[dashboard]')."
        ) from exc
    from kaleido.errors import JavascriptError

    for attempt in (1, 2):
        try:
            fig.write_image(out, format="png", width=1100, height=600, scale=1)
            return out
        except JavascriptError as exc:
            # Kaleido's page now and then fails to load its own scripts (kaleido_scopes is
            # not defined, about one export in a dozen here): a second try renders.
            if attempt == 2:
                raise MetahpoError(
                    f"PNG export failed twice in Kaleido's browser ({exc}). Try again, or write "
                    "an .html file instead."
                ) from exc
    return out


def _place_plotly_bundle(target: Path) -> None:
    """Make ``target`` a regular file holding the installed plotly.min.js.

    A symlink at ``target`` is replaced, never written through (that would overwrite the
    file it points to, perhaps the package's own bundle); a symlinked bundle is copied by
    content. An identical regular file already there is left as it is.
    """
    source = _plotly_bundle()
    try:
        there = os.lstat(target)
    except FileNotFoundError:
        there = None
    if there is not None and stat.S_ISREG(there.st_mode) and _same_bytes(source, target):
        return
    # Written beside it, then renamed over it: a rename replaces a symlink, not its target.
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
    # O_EXCL: never opens an existing file or a symlink; 0o666 less the umask, as a copy gets.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with open(descriptor, "wb") as written, open(source, "rb") as read:
            shutil.copyfileobj(read, written)
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _same_bytes(first: Path, second: Path) -> bool:
    """Whether the two files hold the same bytes (read in full: no cache, no timestamps)."""
    if first.stat().st_size != second.stat().st_size:
        return False
    with open(first, "rb") as one, open(second, "rb") as other:
        while True:
            chunk = one.read(1 << 20)
            if chunk != other.read(1 << 20):
                return False
            if not chunk:
                return True


def _plotly_bundle() -> Path:
    """The installed plotly package's plotly.min.js."""
    import plotly

    return Path(plotly.__file__).with_name("package_data") / "plotly.min.js"
