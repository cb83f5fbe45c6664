"""Multi-fidelity views: learning curves per rung and bracket, and the Hyperband bracket chart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from metahpo.storage import Storage
from metahpo.trial import FrozenTrial, lineage_parent, resumed
from metahpo.visualization._data import StudyData, empty_figure, read_study, text

__all__ = ["plot_brackets", "plot_learning_curves"]

_RUNG_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


def lineages(data: StudyData) -> dict[int, list[FrozenTrial]]:
    """The trials of each configuration, by the number of its first trial, in budget order.

    A promotion (and a promotion's retry: :func:`~metahpo.trial.lineage_parent`) continues
    its parent's configuration at a larger budget.
    """
    by_number = {t.number: t for t in data.trials}
    roots: dict[int, list[FrozenTrial]] = {}
    for trial in data.trials:
        root = trial
        seen = {root.number}
        while (parent := lineage_parent(root)) is not None and parent in by_number and parent not in seen:
            root = by_number[parent]
            seen.add(root.number)
        roots.setdefault(root.number, []).append(trial)
    for trials in roots.values():
        trials.sort(key=lambda t: (t.budget or 0.0, t.number))
    return roots


def plot_learning_curves(study: Any, storage: Storage | str | None = None) -> Any:
    """The value of each configuration against the budget, one panel per bracket.

    Each line is one configuration through its rungs (and any intermediate values it
    reported); markers are coloured by rung. A promotion that counts its reported steps
    from its parent's checkpoint (from 1 again) is drawn after its parent, its steps
    shifted by the parent's budget; one whose steps would then pass its own budget
    counted them from scratch, and its curve is drawn where its steps are, not joined to
    its parent's. A study without a scheduler has one panel,
    and its trials, which have no budget, are drawn as Optuna's intermediate-values plot
    draws them: each trial's reports against their step. A final value that is not the
    last report is a diamond at the last step; a trial that reported nothing is not drawn.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    data = read_study(study, storage)
    title = f"Learning curves of {text(data.name)}"
    groups = lineages(data)
    if not any(t.value is not None or t.intermediate for ts in groups.values() for t in ts):
        return empty_figure(title, "No trial has reported a value yet")
    curves = {root: _lineage_curve(trials) for root, trials in groups.items()}
    if not any(curves.values()):
        return empty_figure(title, "No trial ran at a budget or reported an intermediate value "
                                   "(trial.report): there is no curve to draw")
    log_x = any(t.budget is not None for ts in groups.values() for t in ts)
    axis = "budget" if log_x else "step"
    brackets = sorted({ts[0].bracket if ts[0].bracket is not None else -1 for ts in groups.values()})
    fig = make_subplots(rows=1, cols=len(brackets), shared_yaxes=True,
                        subplot_titles=[("bracket " + str(b)) if b >= 0 else "all trials" for b in brackets])
    shown_rungs: set[int] = set()
    finals_apart = False
    for root, trials in sorted(groups.items()):
        points = curves[root]
        if not points:
            continue
        bracket = trials[0].bracket if trials[0].bracket is not None else -1
        column = brackets.index(bracket) + 1
        drawn = [p for p in points if p is not None]
        finals_apart = finals_apart or any(p.final_apart for p in drawn)
        fig.add_trace(go.Scatter(
            # None breaks the line: a promotion trained from scratch is not joined to its parent.
            x=[None if p is None else p.x for p in points], y=[None if p is None else p.y for p in points],
            mode="lines+markers", name=f"config of trial {root}", showlegend=False,
            line={"color": "rgba(100,100,100,0.4)", "width": 1},
            marker={"color": [_RUNG_COLOURS[(0 if p is None else p.rung) % len(_RUNG_COLOURS)] for p in points],
                    "size": 7, "symbol": ["diamond" if p is not None and p.final_apart else "circle" for p in points]},
            text=["<br>final value" if p is not None and p.final_apart else "" for p in points],
            hovertemplate=f"config of trial {root}<br>{axis} %{{x}}<br>value %{{y:.6g}}%{{text}}<extra></extra>",
        ), row=1, col=column)
        shown_rungs.update(p.rung for p in drawn)
    for rung in sorted(shown_rungs):  # A legend for the rung colours.
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=f"rung {rung}",
                                 marker={"color": _RUNG_COLOURS[rung % len(_RUNG_COLOURS)]}))
    if finals_apart:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="final value, not the last report",
                                 marker={"color": "#7f7f7f", "symbol": "diamond"}))
    fig.update_xaxes(title_text=axis, type="log" if log_x else "linear")
    fig.update_yaxes(title_text="value", row=1, col=1)
    fig.update_layout(title=title)
    return fig


@dataclass(frozen=True)
class _Point:
    x: float
    y: float
    rung: int
    final_apart: bool  # a final value drawn beside the last report it differs from


def _lineage_curve(trials: list[FrozenTrial]) -> list[_Point | None]:
    """A configuration's points through its rungs; ``None`` breaks the line."""
    by_number = {t.number: t for t in trials}
    points: list[_Point | None] = []
    for trial in trials:
        parent = by_number.get(number) if (number := lineage_parent(trial)) is not None else None
        shift, joined = _continuation(trial, parent)
        if points and not joined:
            points.append(None)
        points += _curve(trial, shift)
    return points


def _continuation(trial: FrozenTrial, parent: FrozenTrial | None) -> tuple[float, bool]:
    """How far to shift ``trial``'s reported steps, and whether its curve joins its parent's.

    A promotion continued from its parent's checkpoint may count its steps on from the
    parent's (drawn as they are) or from 1 again, as a training loop over the epochs it
    lacks does: then step 1 is the parent's budget plus 1, so the steps are shifted by the
    parent's budget (the steps its checkpoint holds), else the curve would go back on the
    x axis. Whether it continued at all is what the trial recorded when its objective asked
    for the parent's checkpoint (:func:`~metahpo.trial.resumed`); handed none, it trained
    from scratch and is drawn apart. An objective that never asked is judged by its steps:
    steps that, shifted, would pass the trial's own budget counted a training from scratch.
    """
    if parent is None:
        return 0.0, True
    if resumed(trial) is False:
        return 0.0, False
    if not trial.intermediate:
        return 0.0, True
    if parent.budget is not None:
        parent_end = float(parent.budget)
    elif parent.intermediate:
        parent_end = float(max(parent.intermediate))
    else:
        return 0.0, True
    first, last = float(min(trial.intermediate)), float(max(trial.intermediate))
    if first > parent_end:
        return 0.0, True
    if resumed(trial) or trial.budget is None or parent_end + last <= float(trial.budget) * (1 + 1e-9):
        return parent_end, True
    return 0.0, False


def _curve(trial: FrozenTrial, shift: float = 0.0) -> list[_Point]:
    """One trial's points: its reports by step (plus ``shift``), then its final value at its budget.

    A trial without a budget ends at its last reported step, so its final value is drawn
    there, and only when it is not that report's value (the usual objective returns its
    last report). A trial without a budget that reported nothing has no step to draw at.
    """
    rung = trial.rung or 0
    points = [_Point(shift + float(step), float(value), rung, False)
              for step, value in sorted(trial.intermediate.items())]
    if trial.value is None:
        return points
    final = float(trial.value)
    if trial.budget is not None:
        at = float(trial.budget)
    elif points:
        at = points[-1].x
    else:
        return points
    if points and points[-1].x == at and points[-1].y == final:
        return points
    return [*points, _Point(at, final, rung, trial.budget is None)]


def plot_brackets(study: Any, storage: Storage | str | None = None) -> Any:
    """The Hyperband bracket chart: configurations × budgets, one panel per bracket.

    Each row is one configuration, each marker one trial at its budget, coloured by its
    value (crosses for trials without a value); a line joins a trial to the promotion
    that continued it. Rows are ordered by the best value the configuration reached.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    data = read_study(study, storage)
    title = f"Brackets of {text(data.name)}"
    groups = lineages(data)
    if not any(t.budget is not None for ts in groups.values() for t in ts):
        return empty_figure(title, "This study ran every trial at full budget: it has no brackets")
    brackets = sorted({ts[0].bracket if ts[0].bracket is not None else -1 for ts in groups.values()})
    fig = make_subplots(rows=1, cols=len(brackets),
                        subplot_titles=[("bracket " + str(b)) if b >= 0 else "no bracket" for b in brackets])
    values = [float(t.value) for t in data.trials if t.value is not None]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    for column, bracket in enumerate(brackets, start=1):
        members = [ts for ts in groups.values() if (ts[0].bracket if ts[0].bracket is not None else -1) == bracket]
        members.sort(key=lambda ts: min((data.sign * float(t.value) for t in ts if t.value is not None),
                                        default=float("inf")))
        xs_line: list[float | None] = []
        ys_line: list[float | None] = []
        points: list[tuple[float, int, FrozenTrial]] = []
        for row, trials in enumerate(members):
            by_number = {t.number: t for t in trials}
            for trial in trials:
                budget = float(trial.budget) if trial.budget is not None else 1.0
                points.append((budget, row, trial))
                number = lineage_parent(trial)
                parent = by_number.get(number) if number is not None else None
                if parent is not None:
                    xs_line += [float(parent.budget or 1.0), budget, None]
                    ys_line += [row, row, None]
        fig.add_trace(go.Scatter(x=xs_line, y=ys_line, mode="lines", name="promotion",
                                 line={"color": "#2ca02c", "width": 2}, showlegend=column == 1,
                                 hoverinfo="skip"), row=1, col=column)
        with_value = [p for p in points if p[2].value is not None]
        without = [p for p in points if p[2].value is None]
        fig.add_trace(go.Scatter(
            x=[p[0] for p in with_value], y=[p[1] for p in with_value], mode="markers", name="trial",
            showlegend=False,
            marker={"color": [p[2].value for p in with_value], "colorscale": "Viridis",
                    "reversescale": data.direction == "maximize", "cmin": low, "cmax": high,
                    "size": 9, "showscale": column == len(brackets), "colorbar": {"title": "value"}},
            text=[f"trial {p[2].number} ({p[2].state.value})" for p in with_value],
            hovertemplate="%{text}<br>budget %{x}<br>value %{marker.color:.6g}<extra></extra>",
        ), row=1, col=column)
        if without:
            fig.add_trace(go.Scatter(
                x=[p[0] for p in without], y=[p[1] for p in without], mode="markers",
                name="no value", showlegend=False, marker={"symbol": "x", "color": "#d62728", "size": 8},
                text=[f"trial {p[2].number} ({p[2].state.value})" for p in without],
                hovertemplate="%{text}<br>budget %{x}<extra></extra>",
            ), row=1, col=column)
        fig.update_yaxes(showticklabels=False, row=1, col=column)
    fig.update_xaxes(title_text="budget", type="log")
    fig.update_yaxes(title_text="configuration (best first)", row=1, col=1)
    fig.update_layout(title=title)
    return fig
