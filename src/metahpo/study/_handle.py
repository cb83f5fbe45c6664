"""The handle an objective receives: the config to evaluate and a way to report progress."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from metahpo._validation import check_finite_number
from metahpo.exceptions import InvalidParameterError
from metahpo.storage import check_objective_value
from metahpo.study._state import RESERVED_USER_ATTRS
from metahpo.trial import FrozenTrial

if TYPE_CHECKING:
    from metahpo.history import History
    from metahpo.schedulers import Scheduler
    from metahpo.storage import Storage


class TrialOwner(Protocol):
    """What a handle needs of its study (:class:`~metahpo.study.Study` is one)."""

    @property
    def storage(self) -> Storage: ...

    @property
    def scheduler(self) -> Scheduler: ...

    @property
    def study_id(self) -> int: ...

    def history(self) -> History: ...


class TrialHandle:
    """One running evaluation, as the objective sees it.

    Attributes:
        number: the trial number in its study.
        config: the configuration to evaluate (a dict of parameter values).
        budget: the budget to train for (epochs, rounds, data fraction), or ``None``
            for a study without budgets.
        parent_number, parent_budget: for a promotion, the trial it continues and the
            budget that trial reached — resume from its checkpoint if you keep one.
        bracket, rung: where the scheduler placed the trial.
    """

    def __init__(self, study: TrialOwner, record: FrozenTrial, parent: FrozenTrial | None = None) -> None:
        self._study = study
        self._record = record
        self.number = record.number
        self.config: dict[str, Any] = dict(record.config)
        self.budget = record.budget
        self.bracket = record.bracket
        self.rung = record.rung
        self.parent_number = record.parent
        self.parent_budget = None if parent is None else parent.budget
        self._intermediate: dict[float, float] = {}

    def report(self, step: float, value: float) -> None:
        """Store an intermediate value (e.g. validation loss after ``step`` epochs)."""
        step = check_finite_number(step, "step", "TrialHandle.report")
        value = check_report_value(value)
        self._study.storage.report(self._study.study_id, self.number, step, value)
        self._intermediate[step] = value

    def should_stop(self) -> bool:
        """Whether the scheduler would stop this trial given what it reported so far."""
        record = self._record.evolve(intermediate=dict(self._intermediate))
        return self._study.scheduler.should_stop(record, self._study.history())

    def set_user_attr(self, key: str, value: Any) -> None:
        """Attach a JSON-able value to the trial (shown by ``metahpo show``)."""
        if key in RESERVED_USER_ATTRS:
            raise InvalidParameterError(
                f"The 'key' parameter of set_user_attr must not be one of {sorted(RESERVED_USER_ATTRS)} "
                f"(the study stores the optimizer's state there). Got {key!r} instead."
            )
        self._study.storage.set_trial_user_attrs(self._study.study_id, self.number, {key: value})

    @property
    def user_attrs(self) -> Mapping[str, Any]:
        return self._study.storage.get_trial(self._study.study_id, self.number).user_attrs

    def __repr__(self) -> str:
        return f"TrialHandle(number={self.number}, budget={self.budget}, config={self.config})"


Objective = Callable[[TrialHandle], float]


def check_report_value(value: Any) -> float:
    """An intermediate value: a number, numpy scalar, 0-d array or 0-d tensor."""
    try:
        return check_objective_value(value)
    except InvalidParameterError as exc:
        raise InvalidParameterError(
            f"The 'value' parameter of TrialHandle.report must be a finite number. {exc}"
        ) from exc
