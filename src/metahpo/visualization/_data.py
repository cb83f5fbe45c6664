"""What the figures read: a study's record and trials, taken from the storage without writing."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError, StudyNotFoundError
from metahpo.space import Space
from metahpo.storage import Storage, existing_storage, stored_names
from metahpo.study import study_state
from metahpo.trial import FrozenTrial, TrialState

__all__ = ["SOURCE_COLOURS", "StudyData", "read_studies", "read_study", "source_of"]

# One colour per way a trial was suggested (``user_attrs["why"]["source"]``).
SOURCE_COLOURS: dict[str, str] = {
    "portfolio": "#1f77b4",
    "surrogate": "#d62728",
    "promotion": "#2ca02c",
    "random": "#7f7f7f",
    "sobol": "#9467bd",
    "gpbo": "#ff7f0e",
    "unknown": "#bcbd22",
}


@dataclass(frozen=True)
class StudyData:
    """A study as the figures see it: its stored record and its trials, read once.

    Reading through the storage (not :func:`~metahpo.load_study`) opens no optimizer and
    no knowledge, and writes nothing.
    """

    name: str
    direction: str
    space: Space
    optimizer: Mapping[str, Any]
    scheduler: Mapping[str, Any]
    user_attrs: Mapping[str, Any]
    trials: tuple[FrozenTrial, ...]

    @property
    def sign(self) -> float:
        """``1`` for a minimised study, ``-1`` for a maximised one (best = smallest sign * value)."""
        return -1.0 if self.direction == "maximize" else 1.0

    def complete(self) -> list[FrozenTrial]:
        """The COMPLETE trials with a value, in number order."""
        return [t for t in self.trials if t.state is TrialState.COMPLETE and t.value is not None]

    def best(self) -> FrozenTrial | None:
        """The best COMPLETE trial at the largest budget reached (the study's own rule: a
        trial at a lower budget is not comparable, however low its loss)."""
        done = self.complete()
        if not done:
            return None
        top = max(_budget(t) for t in done)
        return min((t for t in done if _budget(t) == top), key=lambda t: self.sign * float(t.value))  # type: ignore[arg-type]

    def best_so_far(self, trials: list[FrozenTrial]) -> list[float | None]:
        """After each of ``trials`` (in order), the value :meth:`best` would give then; ``None``
        before the first COMPLETE one. A trial at a larger budget starts the comparison anew."""
        top, best, out = -math.inf, math.inf, []
        for trial in trials:
            if trial.state is TrialState.COMPLETE and trial.value is not None:
                budget, loss = _budget(trial), self.sign * float(trial.value)
                if budget > top:
                    top, best = budget, loss
                elif budget == top:
                    best = min(best, loss)
            out.append(None if math.isinf(best) else self.sign * best)
        return out

    @property
    def state(self) -> str:
        """``"running"``, ``"finished"`` (by :meth:`~metahpo.Study.finish`), ``"idle"`` or
        ``"empty"``: see :func:`~metahpo.study.study_state`."""
        return study_state(self.trials, self.user_attrs)


def source_of(trial: FrozenTrial) -> str:
    """Where a trial came from: ``why["source"]`` (``"unknown"`` when not recorded)."""
    why = trial.user_attrs.get("why")
    if isinstance(why, Mapping) and isinstance(why.get("source"), str):
        return str(why["source"])
    return "unknown"


def read_study(study: Any, storage: Storage | str | None = None) -> StudyData:
    """The :class:`StudyData` of ``study``: a name (with ``storage``), a Study or a StudyData.

    Example:
        >>> import metahpo as mh
        >>> from metahpo.visualization import read_study
        >>> s = mh.create_study(space=mh.Space({"x": mh.Float(0, 1)}), optimizer="random", seed=0)
        >>> s.optimize(lambda t: t.config["x"], n_trials=3, show_progress=False)
        >>> len(read_study(s).trials)
        3
    """
    if isinstance(study, StudyData):
        return study
    if isinstance(study, str):
        if storage is None:
            raise InvalidParameterError(
                f"A study given by name needs its storage: pass storage= with the name {study!r}."
            )
        store = existing_storage(storage)
        name = study
    elif hasattr(study, "storage") and hasattr(study, "name"):
        store, name = study.storage, study.name
    else:
        raise InvalidParameterError(
            "The 'study' parameter of metahpo.visualization must be a study name, a Study or a "
            f"StudyData. Got {describe(study)} instead."
        )
    try:
        record = store.get_study(name)
    except StudyNotFoundError as exc:
        raise StudyNotFoundError(f"{exc} {stored_names(store)}".rstrip()) from exc
    trials = tuple(store.get_trials(record.study_id))
    return StudyData(
        name=record.name,
        direction=record.direction,
        space=Space.from_dict(record.space),
        optimizer=dict(record.optimizer),
        scheduler=dict(record.scheduler),
        user_attrs=dict(record.user_attrs),
        trials=trials,
    )


def read_studies(studies: Sequence[Any] | Any, storage: Storage | str | None = None) -> list[StudyData]:
    """:func:`read_study` of each of ``studies`` (one study is taken as a list of one)."""
    if isinstance(studies, (str, StudyData)) or hasattr(studies, "storage"):
        studies = [studies]
    return [read_study(s, storage) for s in studies]


def text(value: Any) -> str:
    """``value`` as text for a Plotly title, name, tick, annotation or hover label.

    Plotly draws a subset of HTML in those (``<b>``, ``<a href>``, ``<br>``...): a study,
    parameter or task name holding markup would be drawn as markup, a link included.
    Escaped, it shows as typed. Quotes are left as they are: plotly.js decodes ``&lt;``,
    ``&gt;``, ``&amp;`` and numeric entities but shows ``&quot;`` literally.
    """
    return html.escape(str(value), quote=False)


def empty_figure(title: str, message: str) -> Any:
    """A figure with only a title and a centred message (when there is nothing to draw).

    Both are Plotly markup: user strings in them go through :func:`text`."""
    import plotly.graph_objects as go

    fig = go.Figure()
    fig.update_layout(title=title, xaxis={"visible": False}, yaxis={"visible": False},
                      annotations=[{"text": message, "showarrow": False, "font": {"size": 14},
                                    "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}])
    return fig


def _budget(trial: FrozenTrial) -> float:
    return math.inf if trial.budget is None else float(trial.budget)
