"""Parameter importance: permutation importance of a random forest fitted on the trials."""

from __future__ import annotations

from typing import Any

import numpy as np

from metahpo.storage import Storage
from metahpo.visualization._data import empty_figure, read_study, text

__all__ = ["param_importances", "plot_param_importances"]

_MIN_TRIALS = 4


def param_importances(study: Any, storage: Storage | str | None = None, seed: int = 0) -> dict[str, float]:
    """How much each parameter explains the values of the COMPLETE trials, summing to 1.

    The measure: a random forest (scikit-learn, 50 trees) is fitted on the trials'
    configs in the unit cube (categorical choices by index) plus, when the trials ran at
    several budgets, the log budget as one more input; each input's importance is the mean
    increase of the forest's squared error on the trials when that input's column is
    shuffled (permutation importance, 5 repeats), clipped at 0 and normalised. It is a
    property of the forest, not of the study's surrogate, and it is the same for every
    optimizer. Empty when there are fewer than 4 COMPLETE trials; every share 0 when no
    input explains the values (they are all equal, or the forest finds no input that
    matters), which equal shares would misreport as a result.

    Example:
        >>> import metahpo as mh
        >>> from metahpo.visualization import param_importances
        >>> space = mh.Space({"x": mh.Float(0, 1), "y": mh.Float(0, 1)})
        >>> s = mh.create_study(space=space, optimizer="random", seed=0)
        >>> s.optimize(lambda t: t.config["x"] + 0.01 * t.config["y"], n_trials=30, show_progress=False)
        >>> max(param_importances(s).items(), key=lambda kv: kv[1])[0]
        'x'
    """
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.inspection import permutation_importance

    data = read_study(study, storage)
    done = data.complete()
    if len(done) < _MIN_TRIALS:
        return {}
    names = list(data.space)
    features = data.space.to_unit([t.config for t in done])
    budgets = [t.budget for t in done]
    if len({b for b in budgets if b is not None}) > 1:
        full = max(float(b) for b in budgets if b is not None)
        column = np.log([full if b is None else float(b) for b in budgets])
        features = np.column_stack([features, column])
        names = [*names, "budget"]
    target = np.array([float(t.value) for t in done])  # type: ignore[arg-type]
    # Values near float's limit overflow the forest's squared errors. Scaling every value
    # by one power of two is exact, so the forest, and the shares, are those of the values.
    largest = float(np.max(np.abs(target)))
    if largest > 0:
        target = np.ldexp(target, -int(np.frexp(largest)[1]))
    forest = RandomForestRegressor(n_estimators=50, random_state=seed, n_jobs=1)
    forest.fit(features, target)
    result = permutation_importance(forest, features, target, n_repeats=5, random_state=seed, n_jobs=1)
    raw = np.clip(result.importances_mean, 0.0, None)
    total = float(raw.sum())
    shares = raw / total if total > 0 else np.zeros(len(names))
    return {name: float(share) for name, share in zip(names, shares, strict=True)}


def plot_param_importances(study: Any, storage: Storage | str | None = None, seed: int = 0) -> Any:
    """:func:`param_importances` as horizontal bars, most important on top."""
    import plotly.graph_objects as go

    data = read_study(study, storage)
    title = f"Parameter importance in {text(data.name)} (random-forest permutation importance)"
    importances = param_importances(data, seed=seed)
    if not importances:
        return empty_figure(title, f"Parameter importance needs at least {_MIN_TRIALS} COMPLETE trials")
    if not any(importances.values()):
        return empty_figure(title, "No parameter explains the values: they do not vary with the parameters")
    ranked = sorted(importances.items(), key=lambda kv: kv[1])
    fig = go.Figure(go.Bar(x=[v for _, v in ranked], y=[text(k) for k, _ in ranked], orientation="h",
                           marker={"color": "#1f77b4"}, hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="share of the importance", yaxis_title="parameter")
    return fig
