"""A study's trials as a table, and the trial states a reader asks for."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.space import Space
from metahpo.study._state import public_user_attrs
from metahpo.trial import FrozenTrial, TrialState, lineage_parent

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["trial_states", "trials_dataframe"]

_FIELDS = ("number", "state", "value", "budget", "bracket", "rung", "parent",
           "started_at", "finished_at", "duration", "error")


def trials_dataframe(trials: Iterable[FrozenTrial], space: Space) -> pd.DataFrame:
    """What :meth:`Study.trials_dataframe <metahpo.study.Study.trials_dataframe>` returns
    for ``trials`` of a study of ``space``."""
    import pandas as pd

    rows = []
    for t in trials:
        row: dict[str, Any] = {field: getattr(t, field) for field in _FIELDS}
        row["parent"] = lineage_parent(t)
        row["state"] = t.state.value
        row.update({f"config_{k}": t.config.get(k) for k in space})
        row.update({f"user_attrs_{k}": v for k, v in public_user_attrs(t.user_attrs).items()})
        rows.append(row)
    # A study without trials yet has the columns too: scripts select them from the start.
    columns = [*_FIELDS, *(f"config_{k}" for k in space)]
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=columns)


def trial_states(states: Any) -> set[TrialState]:
    """``states`` as a set of :class:`TrialState` (a single one or name is not split into
    letters, as ``set("COMPLETE")`` would)."""
    items = [states] if isinstance(states, (str, TrialState)) else states
    names = ", ".join(state.name for state in TrialState)
    try:
        return {
            state if isinstance(state, TrialState) else TrialState(str(state).upper())
            for state in items
        }
    except (TypeError, ValueError):
        raise InvalidParameterError(
            f"The 'states' parameter of Study.get_trials must be trial states ({names}) or "
            f"their names. Got {describe(states)} instead."
        ) from None
