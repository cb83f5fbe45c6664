"""The knowledge base in pictures: the task map, why a trial was suggested, meta-model versions."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from metahpo.exceptions import InvalidParameterError, MetahpoError
from metahpo.knowledge import KnowledgeBase, Task, task_map
from metahpo.space import Space
from metahpo.storage import Storage, artefacts_of, existing_storage
from metahpo.study import knowledge_update_label, study_knowledge
from metahpo.visualization._data import StudyData, empty_figure, read_study, text

logger = logging.getLogger("metahpo.visualization")

__all__ = [
    "knowledge_updates",
    "plot_knowledge_map",
    "plot_knowledge_updates",
    "plot_why",
    "tasks_by_space",
]

_CLUSTER_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
)


def tasks_by_space(knowledge: KnowledgeBase) -> list[dict[str, Any]]:
    """One row per search space and source kind: parameters, source, tasks (names)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for task in knowledge:
        fingerprint = task.space.fingerprint() if task.space is not None else "-"
        kind = task.source.split(":", 1)[0]
        row = rows.setdefault(
            (fingerprint, kind),
            {
                "space": fingerprint[:10],
                "parameters": ", ".join(task.space.names) if task.space is not None else "-",
                "source": kind,
                "tasks": [],
            },
        )
        row["tasks"].append(task.name)
    return sorted(rows.values(), key=lambda r: (-len(r["tasks"]), r["space"], r["source"]))


def _study_task(data: StudyData) -> Task | None:
    done = data.complete()
    if len(done) < 3:
        return None
    raw = [t.budget for t in done]
    budgets = None
    if any(b is not None for b in raw):
        full = max(float(b) for b in raw if b is not None)
        budgets = np.array([full if b is None else float(b) for b in raw])
    return Task(
        data.name,
        data.space,
        [dict(t.config) for t in done],
        np.array([data.sign * float(t.value) for t in done]),  # type: ignore[arg-type]
        budgets=budgets,
        source=f"study:{data.name}",
    )


def _learned_from(data: StudyData | None, storage: Storage) -> KnowledgeBase | None:
    """The knowledge ``data``'s study learns from, or ``None`` (no study, none stored, or
    a source that cannot be opened now: the map then shows the storage's studies)."""
    if data is None:
        return None
    try:
        return study_knowledge(data.optimizer, data.user_attrs, storage, data.name)
    except (MetahpoError, OSError) as exc:  # a server gone, a directory moved: the storage's map still helps
        logger.warning("The knowledge of study %r could not be opened (%s); mapping the storage's studies.",
                       data.name, exc)
        return None


def plot_knowledge_map(
    storage: Storage | str | None = None,
    study: Any = None,
    knowledge: KnowledgeBase | None = None,
    space: Space | None = None,
) -> Any:
    """The tasks of one search space in 2-D, coloured by cluster, with ``study`` among them.

    ``knowledge`` defaults to what ``study`` learns from (its optimizer's knowledge, a
    preset's bundle among it; :func:`~metahpo.study.study_knowledge`), else to the
    storage's studies (:meth:`KnowledgeBase.from_storage`).
    The space is ``study``'s, else ``space``, else the one with the most tasks. Positions
    and clusters come from :func:`~metahpo.knowledge.task_map` (MDS on one minus the
    similarity of descriptors and response surfaces, and the meta-clustering clusters).
    A study that is not yet a task (running, or fewer than five trials) is placed from its
    COMPLETE trials when it has at least three.
    """
    import plotly.graph_objects as go

    data = read_study(study, storage) if study is not None else None
    if knowledge is None:
        if storage is None:
            raise InvalidParameterError(
                "plot_knowledge_map needs a storage or a knowledge base: pass storage= or knowledge=."
            )
        store = existing_storage(storage)
        knowledge = _learned_from(data, store) or KnowledgeBase.from_storage(store)
    if data is not None:
        space = data.space
    if space is None:
        groups = tasks_by_space(knowledge)
        space = next((knowledge[r["tasks"][0]].space for r in groups if r["space"] != "-"), None)
    tasks = knowledge.tasks(space) if space is not None else []
    if data is not None and data.name not in {t.name for t in tasks}:
        extra = _study_task(data)
        tasks = tasks + ([extra] if extra is not None else [])
    title = "Knowledge map" + (f": tasks of the space of {text(data.name)}" if data is not None else "")
    if not tasks:
        return empty_figure(title, "The knowledge holds no task of this space")
    embedded = task_map(tasks)
    coords, labels = embedded.xy, embedded.labels
    fig = go.Figure()
    for label in sorted(set(labels)):
        idx = [i for i, lab in enumerate(labels) if lab == label]
        fig.add_trace(
            go.Scatter(
                x=coords[idx, 0],
                y=coords[idx, 1],
                mode="markers+text",
                name=f"cluster {label}",
                text=[text(tasks[i].name) for i in idx],
                textposition="top center",
                marker={"size": 12, "color": _CLUSTER_COLOURS[label % len(_CLUSTER_COLOURS)]},
                customdata=[[text(tasks[i].source), tasks[i].n_evaluations] for i in idx],
                hovertemplate="%{text}<br>%{customdata[0]}<br>%{customdata[1]} evaluations<extra></extra>",
            )
        )
    if data is not None and data.name in {t.name for t in tasks}:
        i = [t.name for t in tasks].index(data.name)
        fig.add_trace(
            go.Scatter(
                x=[coords[i, 0]],
                y=[coords[i, 1]],
                mode="markers",
                name=f"this study ({text(data.name)})",
                marker={
                    "symbol": "star",
                    "size": 22,
                    "color": "rgba(0,0,0,0)",
                    "line": {"color": "black", "width": 2},
                },
            )
        )
    fig.update_layout(
        title=title, xaxis_title="map axis 1", yaxis_title="map axis 2", legend_title="cluster"
    )
    return fig


def plot_why(study: Any, storage: Storage | str | None = None, trial: int | None = None) -> Any:
    """Why one trial was suggested: its source and the past tasks that shaped it.

    A surrogate's trial shows the similar tasks with their weights; a portfolio's trial
    the tasks its config was chosen for (``why["tasks"]``: those whose best regret in the
    portfolio it lowered, most lowered first). ``trial`` defaults to the latest trial the
    knowledge shaped, one of those two (not a trial MetaBO suggested with a GP on the
    study alone); else the latest trial.
    """
    import plotly.graph_objects as go

    data = read_study(study, storage)
    if not data.trials:
        return empty_figure(f"Why trials of {text(data.name)} were suggested", "No trial yet")
    if trial is None:
        shaped = [t for t in data.trials if _shaped_by_knowledge(t.user_attrs.get("why"))]
        chosen = (shaped or list(data.trials))[-1]
    else:
        matches = [t for t in data.trials if t.number == trial]
        if not matches:
            raise InvalidParameterError(
                f"The 'trial' parameter of plot_why must be a trial number of study {data.name!r} "
                f"(0 to {len(data.trials) - 1}). Got {trial!r} instead."
            )
        chosen = matches[0]
    why = chosen.user_attrs.get("why")
    source = why.get("source", "unknown") if isinstance(why, Mapping) else "unknown"
    title = f"Why trial {chosen.number} of {text(data.name)}: suggested by {text(source)}"
    if isinstance(why, Mapping) and _study_alone(why):
        # MetaBO's check chose the GP fitted on the study alone: the similar tasks it lists
        # are the nearest ones, but none of them shaped this suggestion.
        found = why.get("loo_nll")
        scores: Mapping[str, Any] = found if isinstance(found, Mapping) else {}
        return empty_figure(
            f"{title} (a GP on this study alone)",
            "A GP fitted on this study alone predicted its trials better than the meta-learned "
            f"surrogate (leave-one-out NLL {text(scores.get('study GP', '?'))} against "
            f"{text(scores.get('meta-learned', '?'))}): no past task shaped this suggestion",
        )
    if isinstance(why, Mapping) and why.get("model") == "meta-learned":
        title += " (meta-learned)"
    similar = _similar(why)
    if similar:
        similar = sorted(similar, key=lambda nw: nw[1])
        fig = go.Figure(
            go.Bar(
                x=[w for _, w in similar],
                y=[text(n) for n, _ in similar],
                orientation="h",
                marker={"color": "#d62728"},
                hovertemplate="%{y}: %{x:.3f}<extra></extra>",
            )
        )
        fig.update_layout(
            title=title, xaxis_title="weight (similarity to this study)", yaxis_title="task"
        )
        return fig
    tasks = _chosen_for(why)
    if tasks and isinstance(why, Mapping):
        return _portfolio_figure(title, why, tasks)
    return empty_figure(title, "This trial names no past task")


def _portfolio_figure(title: str, why: Mapping[str, Any], tasks: list[str]) -> Any:
    """The tasks a portfolio config was chosen for, in the order stored (most helped first)."""
    import plotly.graph_objects as go

    rank, named, among = why.get("rank"), why.get("n_tasks"), why.get("chosen_among")
    if isinstance(rank, int):
        title += f" (config {rank + 1} of the portfolio)"
    places = [str(i) for i in range(1, len(tasks) + 1)]
    names = [text(t) for t in tasks]
    if isinstance(named, int) and named > len(tasks):  # at most 10 are named
        places.append("")
        names.append(f"and {named - len(tasks)} more")
    header = "the tasks this config was chosen for (its best regret lowered most first)"
    if isinstance(among, int):
        header += f", among the {among} tasks the portfolio was chosen on"
    fig = go.Figure(
        go.Table(
            columnwidth=[1, 12],
            header={"values": ["", header], "align": "left"},
            cells={"values": [places, names], "align": "left"},
        )
    )
    fig.update_layout(title=title)
    return fig


def _shaped_by_knowledge(why: Any) -> bool:
    """Whether the knowledge shaped the trial: it names similar tasks a surrogate learned
    from, or the tasks its portfolio config was chosen for."""
    return bool((_similar(why) and not _study_alone(why)) or _chosen_for(why))


def _study_alone(why: Any) -> bool:
    """Whether MetaBO suggested the trial with the GP on the study alone (its check chose it)."""
    return isinstance(why, Mapping) and why.get("model") == "study GP"


def _chosen_for(why: Any) -> list[str]:
    """The tasks a portfolio config was chosen for (``why["tasks"]``), as stored."""
    if not isinstance(why, Mapping) or not isinstance(why.get("tasks"), (list, tuple)):
        return []
    return [str(task) for task in why["tasks"]]


def _similar(why: Any) -> list[tuple[str, float]]:
    if not isinstance(why, Mapping):
        return []
    out = []
    for item in why.get("similar_tasks") or []:
        if isinstance(item, (list, tuple)) and len(item) == 2:
            try:
                out.append((str(item[0]), float(item[1])))
            except (TypeError, ValueError):
                continue
    return out


def knowledge_updates(storage: Storage | str) -> list[dict[str, Any]]:
    """Every stored meta-model version, with the update that made it when a study recorded one.

    Rows: ``key``, ``version``, ``created``, ``study`` (the study whose end made it),
    ``before`` and ``after`` (the meta-test loss on old tasks around the update),
    ``outcome`` (a meta-training, or a continual update kept or discarded and why; ``"-"``
    when no study recorded the update), ``info``.
    Keys are those named by studies' ``user_attrs["knowledge_update"]``.
    """
    store = existing_storage(storage)
    updates: dict[tuple[str, int], tuple[str, Mapping[str, Any]]] = {}
    for record in store.list_studies():
        update = record.user_attrs.get("knowledge_update")
        if isinstance(update, Mapping) and isinstance(update.get("meta_model"), str):
            version = update.get("version")
            updates[(update["meta_model"], int(version) if isinstance(version, int) else -1)] = (
                record.name,
                update,
            )
    artefacts = artefacts_of(store)
    rows = []
    for key in sorted({k for k, _ in updates}):
        versions = artefacts.versions(key) if artefacts is not None else []
        for version in versions or [v for k, v in updates if k == key]:
            saved = artefacts.load(key, version) if artefacts is not None and version > 0 else None
            study_name, update = updates.get((key, version), ("-", {}))
            rows.append(
                {
                    "key": key,
                    "version": version,
                    "created": saved.created_at.strftime("%Y-%m-%d %H:%M UTC")
                    if saved and saved.created_at
                    else "-",
                    "study": study_name,
                    "before": update.get("old_tasks_meta_test_loss_before"),
                    "after": update.get("old_tasks_meta_test_loss_after"),
                    "outcome": knowledge_update_label(update) if update else "-",
                    "info": dict(saved.info) if saved is not None else {},
                }
            )
    return rows


def plot_knowledge_updates(storage: Storage | str) -> Any:
    """The meta-test loss on old tasks before and after each meta-model update."""
    import plotly.graph_objects as go

    rows = [r for r in knowledge_updates(storage) if r["before"] is not None]
    title = "Meta-model updates: meta-test loss on old tasks"
    if not rows:
        return empty_figure(title, "No meta-model update recorded")
    labels = [text(f"{r['key'][:12]} v{r['version']} ({r['study']})") for r in rows]
    fig = go.Figure(
        [
            go.Bar(x=labels, y=[r["before"] for r in rows], name="before"),
            go.Bar(x=labels, y=[r["after"] for r in rows], name="after"),
        ]
    )
    fig.update_layout(
        title=title, barmode="group", yaxis_title="meta-test loss", xaxis_title="version"
    )
    return fig
