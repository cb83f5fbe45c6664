"""How the objective depends on the parameters: parallel coordinates, slices and contours."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.space import Categorical, Float, Int, Space
from metahpo.storage import Storage
from metahpo.visualization._data import empty_figure, read_study, text

__all__ = ["plot_contour", "plot_parallel_coordinate", "plot_slice"]


def _axis_type(param: Any) -> str:
    if isinstance(param, Categorical):
        return "category"
    return "log" if getattr(param, "log", False) else "linear"


def plot_parallel_coordinate(study: Any, storage: Storage | str | None = None) -> Any:
    """One line per COMPLETE trial through every parameter and the value."""
    import plotly.graph_objects as go

    data = read_study(study, storage)
    title = f"Parallel coordinates of {text(data.name)}"
    done = data.complete()
    if not done:
        return empty_figure(title, "No COMPLETE trial yet")
    dimensions = [_dimension(name, param, [t.config for t in done]) for name, param in data.space.items()]
    objective = [float(t.value) for t in done]  # type: ignore[arg-type]
    dimensions.append({"label": "value", "values": objective})
    fig = go.Figure(go.Parcoords(
        dimensions=dimensions,
        line={"color": objective, "colorscale": "Viridis",
              "reversescale": data.direction != "maximize", "showscale": True},
    ))
    fig.update_layout(title=title)
    return fig


def _dimension(name: str, param: Any, configs: list[Any]) -> dict[str, Any]:
    """One parallel-coordinates axis; the trials a condition leaves without ``name`` (it
    was inactive) sit on an "inactive" tick below its range.

    Its label is Plotly markup, escaped; its tick texts are not: plotly.js draws a
    parallel-coordinates tick as plain text, where ``&lt;`` would show as typed."""
    inactive = [name not in config for config in configs]
    values = [config.get(name) for config in configs]
    if isinstance(param, Categorical):
        choices = list(param.choices)
        # -1 also for a stored value the choices no longer hold (a tuple read back as a list).
        codes = [choices.index(v) if not off and v in choices else -1
                 for v, off in zip(values, inactive, strict=True)]
        ticks = list(range(len(choices)))
        labels = [str(c) for c in choices]
        if any(inactive):
            ticks, labels = [-1, *ticks], ["inactive", *labels]
        return {"label": text(name), "values": codes, "tickvals": ticks, "ticktext": labels,
                "range": [ticks[0], ticks[-1]]}
    log = bool(getattr(param, "log", False))
    low, high = (np.log10(param.low), np.log10(param.high)) if log else (float(param.low), float(param.high))
    marks = [float(v) for v in np.linspace(low, high, 5)]
    texts = [f"{10 ** v:.3g}" if log else f"{v:.3g}" for v in marks]
    below = low - 0.15 * (high - low or 1.0)
    shown = [below if off else (np.log10(float(v)) if log else float(v)) for v, off in zip(values, inactive, strict=True)]
    if any(inactive):
        marks, texts, low = [below, *marks], ["inactive", *texts], below
    return {"label": text(name), "values": shown, "range": [low, high], "tickvals": marks, "ticktext": texts}


def plot_slice(study: Any, storage: Storage | str | None = None) -> Any:
    """The value against each parameter, one panel per parameter, coloured by trial number."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    data = read_study(study, storage)
    title = f"Slices of {text(data.name)}"
    done = data.complete()
    if not done:
        return empty_figure(title, "No COMPLETE trial yet")
    names = list(data.space)
    fig = make_subplots(rows=1, cols=len(names), shared_yaxes=True, subplot_titles=[text(n) for n in names])
    for column, name in enumerate(names, start=1):
        fig.add_trace(go.Scatter(
            # Categorical choices are the axis's tick texts, which Plotly draws as markup.
            x=[_shown(t.config.get(name)) for t in done], y=[t.value for t in done], mode="markers",
            name=text(name), showlegend=False,
            marker={"color": [t.number for t in done], "colorscale": "Blues",
                    "showscale": column == len(names), "colorbar": {"title": "trial"}},
        ), row=1, col=column)
        fig.update_xaxes(type=_axis_type(data.space[name]), row=1, col=column)
    fig.update_yaxes(title_text="value", row=1, col=1)
    fig.update_layout(title=title)
    return fig


def _shown(value: Any) -> Any:
    """A parameter's value as a slice plot's x: a string escaped (it is a tick text)."""
    return text(value) if isinstance(value, str) else value


def plot_contour(
    study: Any, storage: Storage | str | None = None, params: Sequence[str] | None = None
) -> Any:
    """The value over two numeric parameters, interpolated between the COMPLETE trials.

    ``params`` names the two parameters, x then y (default: the first two numeric ones).
    The surface is a linear interpolation in the unit cube (log parameters on a log
    scale), nearest-neighbour outside the trials' convex hull; the trials are drawn on top.
    A study with fewer than two numeric parameters has no contour: the error says so and
    points to :func:`plot_slice`.
    """
    import plotly.graph_objects as go
    from scipy.interpolate import griddata
    from scipy.spatial import QhullError

    data = read_study(study, storage)
    complete = data.complete()
    pair = _contour_pair(data.space, data.name, params, [t.config for t in complete])
    title = f"Contour of {text(data.name)}: {text(pair[0])} × {text(pair[1])}"
    # A conditional parameter has no value where it is inactive: those trials are not on it.
    done = [t for t in complete if pair[0] in t.config and pair[1] in t.config]
    if len(done) < 4:
        return empty_figure(title, f"A contour needs at least 4 COMPLETE trials with both "
                                   f"{text(pair[0])} and {text(pair[1])} active")
    first, second = (data.space[p] for p in pair)
    unit = np.array([[first.to_unit(t.config[pair[0]]), second.to_unit(t.config[pair[1]])] for t in done])
    values = np.array([float(t.value) for t in done])  # type: ignore[arg-type]
    grid = np.linspace(0.0, 1.0, 60)
    gu, gv = np.meshgrid(grid, grid)
    try:
        z = griddata(unit, values, (gu, gv), method="linear")
    except (QhullError, ValueError):  # degenerate (e.g. collinear) trials: nearest only
        z = np.full(gu.shape, np.nan)
    nearest = griddata(unit, values, (gu, gv), method="nearest")
    z = np.where(np.isnan(z), nearest, z)
    fig = go.Figure(go.Contour(
        x=_from_unit(first, grid), y=_from_unit(second, grid), z=z, colorscale="Viridis",
        reversescale=data.direction == "maximize", colorbar={"title": "value"}, name="interpolated",
    ))
    fig.add_trace(go.Scatter(
        x=[t.config[pair[0]] for t in done], y=[t.config[pair[1]] for t in done], mode="markers",
        marker={"color": "white", "line": {"color": "black", "width": 1}}, name="trials",
        text=[f"trial {t.number}" for t in done],
    ))
    fig.update_xaxes(title_text=text(pair[0]), type=_axis_type(first))
    fig.update_yaxes(title_text=text(pair[1]), type=_axis_type(second))
    fig.update_layout(title=title)
    return fig


def _contour_pair(
    space: Space, study_name: str, params: Sequence[str] | None, configs: Sequence[Any] = ()
) -> list[str]:
    """The two parameters of a contour, or an error that names the study's parameters.

    By default the first two numeric parameters that ``configs`` (the COMPLETE trials')
    have active together in 4 of them, else the first two numeric ones."""
    numeric = [n for n, p in space.items() if isinstance(p, (Float, Int))]
    slice_hint = ("" if len(numeric) >= 2 else
                  " Its slice plot shows one parameter: plot_slice(study), or `metahpo plot STUDY slice`.")
    if params is None:
        if len(numeric) < 2:
            has = f"only {numeric}" if numeric else "none"
            raise InvalidParameterError(
                f"A contour needs two numeric (float or int) parameters; study {study_name!r} has "
                f"{has}, among its parameters {list(space)}.{slice_hint}"
            )
        if not space.conditions:
            return numeric[:2]
        pairs = ([a, b] for i, a in enumerate(numeric) for b in numeric[i + 1:])
        together = next((p for p in pairs if sum(p[0] in c and p[1] in c for c in configs) >= 4), None)
        return together or numeric[:2]
    pair = [params] if isinstance(params, str) else list(params)
    problems = [f"{name!r} is not a parameter of the study" if name not in list(space) else f"{name!r} is categorical"
                for i, name in enumerate(pair) if name not in numeric and name not in pair[:i]]  # said once
    if len(pair) == 2 and pair[0] == pair[1]:
        problems.append("the two are the same")
    if len(pair) != 2 or problems:
        reason = f" ({'; '.join(problems)})" if problems else ""
        raise InvalidParameterError(
            f"The 'params' parameter of plot_contour (`metahpo plot --param`) must name two different "
            f"numeric parameters of study {study_name!r}, among {numeric} (its parameters: "
            f"{list(space)}). Got {describe(params)}{reason} instead.{slice_hint}"
        )
    return pair


def _from_unit(param: Any, unit: np.ndarray) -> np.ndarray:
    """Unit-cube coordinates back to values, continuously (no rounding for integers)."""
    low, high = float(param.low), float(param.high)
    if getattr(param, "log", False):
        return np.asarray(low * (high / low) ** unit)
    return np.asarray(low + unit * (high - low))

