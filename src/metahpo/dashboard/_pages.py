"""The dashboard's pages: studies, one study, studies compared, the knowledge."""

from __future__ import annotations

from collections.abc import Sequence

from metahpo.dashboard._html import escape, link, plot_div, table, url
from metahpo.dashboard._reader import TRIAL_COLUMNS, StudiesList, StudyVersions
from metahpo.exceptions import StudyNotFoundError
from metahpo.knowledge import KnowledgeBase
from metahpo.storage import Storage
from metahpo.visualization import KINDS, knowledge_updates, tasks_by_space

__all__ = ["compare_body", "knowledge_body", "studies_body", "study_body"]

_STUDY_KINDS = [k for k in KINDS if k not in ("compare", "knowledge-map")]


def studies_body(storage: Storage, studies: StudiesList | None = None) -> str:
    """The studies table; ``app.js`` refreshes it from ``/api/studies`` while the page is open.

    The table carries the version of the list it was drawn at: ``app.js`` sends it as
    ``If-None-Match``, and an unchanged list is an empty 304. It also says whether a study
    runs (``data-running``): while none does, ``app.js`` asks less and less often.
    ``studies`` is the list ``/api/studies`` keeps (a page opened while nothing changed
    reads no study); without it, every study is read.
    """
    summaries, version = (studies or StudiesList(storage)).read()
    rows = [
        [link(s["name"], "/study", name=s["name"]), escape(s["state"]), escape(s["best"]),
         escape(s["trials"]), escape(s["optimizer"]), escape(s["scheduler"]), escape(s["created"])]
        for s in summaries
    ]
    running = any(s["state"] == "running" for s in summaries)
    return (
        '<p>Refreshed every few seconds while a study runs, less often while none does.</p>'
        + table(["study", "state", "best", "trials", "optimizer", "scheduler", "created"], rows,
                ident="studies", raw_columns=range(7))
        .replace('<table id="studies">', '<table id="studies" data-src="/api/studies" '
                 f'data-version="{escape(version)}" '
                 f'data-running="{str(running).lower()}">')
    )


def study_body(storage: Storage, name: str, versions: StudyVersions | None = None) -> str:
    """The figures of one study and its trials table.

    ``app.js`` asks ``/api/study`` whether the study changed, every few seconds while it
    runs and less often while it does not (its trials may start later), sending the
    version it drew as ``If-None-Match``: an unchanged study is an empty 304. When it
    changed, the facts, the table and the figures are drawn again. ``versions`` is where
    ``/api/study`` keeps the versions it knows: the study read here is kept there, so that
    its page's questions are answered without reading it again while it is unchanged.
    """
    snapshot = (versions or StudyVersions(storage)).read(name)
    plots = "".join(
        f'<section><h2>{escape(kind)}</h2>'
        + plot_div("/api/figure", f"plot-{kind}", study=name, kind=kind)
        + "</section>"
        for kind in [*_STUDY_KINDS, "knowledge-map"]
    )
    return (
        f'<div id="study" data-src="{url("/api/study", name=name)}" '
        f'data-version="{escape(snapshot["version"])}" data-state="{escape(snapshot["state"])}">'
        f'<p id="facts" class="facts">{escape(snapshot["facts"])}</p><div class="plots">{plots}</div><h2>Trials</h2>'
        + table([header for header, _ in TRIAL_COLUMNS], snapshot["rows"], ident="trials")
        + "</div>"
    )


def compare_body(storage: Storage, names: Sequence[str], versions: StudyVersions | None = None) -> str:
    """A form to pick studies, the chosen studies' facts, and their best values on one axis.

    Each chosen study carries the version of ``/api/study`` it was drawn at, as a study
    page does (and kept in ``versions`` as :func:`study_body` keeps it): ``app.js`` asks
    about each the same way and draws the figures again when one changed.
    """
    versions = versions or StudyVersions(storage)
    known = [record.name for record in storage.list_studies()]
    boxes = "".join(
        f'<label><input type="checkbox" name="name" value="{escape(n)}"'
        f'{" checked" if n in names else ""}> {escape(n)}</label> ' for n in known)
    form = f'<form method="get" action="/compare">{boxes}<button type="submit">Compare</button></form>'
    items, chosen = [], []
    for name in dict.fromkeys(n for n in names if n in known):
        try:
            snapshot = versions.read(name)
        except StudyNotFoundError:
            continue  # deleted since the list was read
        items.append(
            f'<li data-src="{url("/api/study", name=name)}" data-version="{escape(snapshot["version"])}" '
            f'data-state="{escape(snapshot["state"])}">{link(name, "/study", name=name)}: '
            f'<span class="facts">{escape(snapshot["facts"])}</span></li>')
        chosen.append(name)
    if not chosen:
        return form + "<p>Pick studies to compare.</p>"
    return (form + f'<div id="compare"><ul>{"".join(items)}</ul>'
            + plot_div("/api/compare", "plot-compare", name=chosen, x="trial")
            + plot_div("/api/compare", "plot-compare-budget", name=chosen, x="budget") + "</div>")


def knowledge_body(storage: Storage) -> str:
    """Tasks by space and source, clusters, the map and the meta-model versions."""
    knowledge = KnowledgeBase.from_storage(storage)
    groups = tasks_by_space(knowledge)
    rows = [[g["space"], g["parameters"], g["source"], len(g["tasks"]), ", ".join(g["tasks"])] for g in groups]
    parts = ["<h2>Tasks by space and source</h2>",
             table(["space", "parameters", "source", "tasks", "names"], rows, ident="tasks")]
    parts.append("<h2>Clusters</h2>")
    seen: set[str] = set()
    cluster_rows = []
    for group in groups:
        if group["space"] in seen or group["space"] == "-":
            continue
        seen.add(group["space"])
        space = knowledge[group["tasks"][0]].space
        clustering = knowledge.clusters(space)
        for label, members in enumerate(clustering.clusters()):
            cluster_rows.append([group["space"], label, ", ".join(members)])
    parts.append(table(["space", "cluster", "tasks"], cluster_rows, ident="clusters"))
    parts.append("<h2>Map</h2>" + plot_div("/api/knowledge/map", "plot-knowledge-map"))
    updates = knowledge_updates(storage)
    update_rows = [[u["key"], u["version"], u["created"], u["study"], u["outcome"], u["before"], u["after"]]
                   for u in updates]
    parts.append("<h2>Meta-model versions</h2>")
    parts.append(table(["meta-model", "version", "created", "made by study", "update", "meta-test loss before",
                        "meta-test loss after"], update_rows, ident="versions"))
    if updates:
        parts.append(plot_div("/api/knowledge/updates", "plot-knowledge-updates"))
    return "".join(parts)
