"""The optimization history of one study, and several studies compared on one axis."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from metahpo.exceptions import InvalidParameterError
from metahpo.storage import Storage
from metahpo.visualization._data import (
    SOURCE_COLOURS,
    empty_figure,
    read_studies,
    read_study,
    source_of,
    text,
)

__all__ = ["plot_optimization_history", "plot_studies"]

_COMPARE_AXES = ("trial", "budget")


def plot_optimization_history(study: Any, storage: Storage | str | None = None) -> Any:
    """Each COMPLETE trial's value by trial number, coloured by where the trial came from
    (portfolio, surrogate, promotion, random, ...), with the best value so far as a line.

    Example:
        >>> import metahpo as mh
        >>> from metahpo.visualization import plot_optimization_history
        >>> s = mh.create_study(space=mh.Space({"x": mh.Float(0, 1)}), optimizer="random", seed=0)
        >>> s.optimize(lambda t: t.config["x"], n_trials=5, show_progress=False)
        >>> len(plot_optimization_history(s).data)
        2
    """
    import plotly.graph_objects as go

    data = read_study(study, storage)
    title = f"Optimization history of {text(data.name)}"
    done = data.complete()
    if not done:
        return empty_figure(title, "No COMPLETE trial yet")
    fig = go.Figure()
    by_source: dict[str, list[Any]] = {}
    for trial in done:
        by_source.setdefault(source_of(trial), []).append(trial)
    for source, trials in sorted(by_source.items()):
        fig.add_trace(go.Scatter(
            x=[t.number for t in trials], y=[t.value for t in trials], mode="markers",
            name=text(source), marker={"color": SOURCE_COLOURS.get(source, SOURCE_COLOURS["unknown"])},
            customdata=[[t.budget if t.budget is not None else "-"] for t in trials],
            hovertemplate="trial %{x}<br>value %{y:.6g}<br>budget %{customdata[0]}<extra>%{fullData.name}</extra>",
        ))
    # The study's best as it stood after each trial: at the largest budget reached so far.
    fig.add_trace(go.Scatter(
        x=[t.number for t in done], y=data.best_so_far(done), mode="lines",
        name="best so far", line={"color": "black", "shape": "hv"},
    ))
    fig.update_layout(title=title, xaxis_title="trial", yaxis_title="value", legend_title="suggested by")
    return fig


def plot_studies(
    studies: Sequence[Any], storage: Storage | str | None = None, x: str = "trial"
) -> Any:
    """The best value so far of several studies on one axis.

    ``x="trial"`` counts trials; ``x="budget"`` sums the budgets spent (a trial without
    a budget counts 1), which compares Hyperband studies fairly with full-budget ones.
    """
    import plotly.graph_objects as go

    if x not in _COMPARE_AXES:
        raise InvalidParameterError(
            f"The 'x' parameter of plot_studies must be one of {list(_COMPARE_AXES)}. Got {x!r} instead."
        )
    datas = read_studies(studies, storage)
    title = "Studies compared"
    if not datas:
        return empty_figure(title, "No study to compare")
    fig = go.Figure()
    for data in datas:
        finished = [t for t in data.trials if t.state.is_finished]
        if x == "trial":
            axis = [t.number for t in finished]
        else:
            axis = list(np.cumsum([1.0 if t.budget is None else float(t.budget) for t in finished]))
        xs, ys = [], []
        for position, best in zip(axis, data.best_so_far(finished), strict=True):
            if best is not None:
                xs.append(position)
                ys.append(best)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=text(data.name), line={"shape": "hv"}))
    fig.update_layout(title=title, xaxis_title="trial" if x == "trial" else "budget spent",
                      yaxis_title="best value so far")
    return fig
