"""The handle an objective receives: the config to evaluate and a way to report progress."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from metahpo._validation import check_finite_number, check_string_keys
from metahpo.exceptions import InvalidParameterError, TrialStateError
from metahpo.storage import check_objective_value
from metahpo.study._state import OWN_TRIAL_ATTRS, check_attr_key
from metahpo.trial import RESUMED_KEY, FrozenTrial, lineage_parent

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

    @property
    def checkpoint_dir(self) -> Path: ...

    def history(self) -> History: ...


class TrialHandle:
    """One running evaluation, as the objective sees it.

    Attributes:
        number: the trial number in its study.
        config: the configuration to evaluate (a dict of parameter values).
        budget: the budget to train for (epochs, rounds, data fraction), or ``None``
            for a study without budgets.
        parent_number: for a promotion, the number of the trial it continues (the same
            config at a smaller budget), also for a retry of a promotion whose process
            died (``retries=``); ``None`` otherwise.
        bracket, rung: where the scheduler placed the trial.

    A promotion can continue its parent's training instead of starting over: save the
    model in :attr:`checkpoint_dir`, and when :attr:`parent_checkpoint_dir` is not
    ``None``, load the parent's and train from ``parent.budget`` to ``budget`` (see
    "Continuing promoted trials" in ``docs/schedulers.md``).
    """

    def __init__(
        self, study: TrialOwner, record: FrozenTrial, parent: FrozenTrial | None = None
    ) -> None:
        self._study = study
        self._record = record
        self.number = record.number
        self.config: dict[str, Any] = dict(record.config)
        self.budget = record.budget
        self.bracket = record.bracket
        self.rung = record.rung
        # A retry of a promotion has no ``parent`` of its own but continues the promotion's.
        self.parent_number = lineage_parent(record) if parent is None else parent.number
        self._parent = parent
        self._intermediate: dict[float, float] = {}
        self._resumed: bool | None = None

    @property
    def parent(self) -> FrozenTrial | None:
        """The finished trial this promotion continues, or ``None`` for a new config."""
        if self._parent is None and self.parent_number is not None:
            self._parent = self._study.storage.get_trial(self._study.study_id, self.parent_number)
        return self._parent

    @property
    def parent_budget(self) -> float | None:
        """The budget the parent reached (``parent.budget``), or ``None``."""
        return None if self.parent is None else self.parent.budget

    @property
    def checkpoint_dir(self) -> Path:
        """This trial's own folder for checkpoints, created on first use.

        ``study.checkpoint_dir / str(number)``: unique per trial, and the same in every
        thread, process and Dask worker that opens the study, so a promotion finds it as
        its parent's. metahpo never deletes it (see :attr:`Study.checkpoint_dir`).
        """
        path = self._study.checkpoint_dir / str(self.number)
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def parent_checkpoint_dir(self) -> Path | None:
        """The parent's :attr:`checkpoint_dir` when it holds anything; else ``None``.

        ``None`` for a new config, and for a promotion whose parent saved nothing (it
        then trains from scratch). Read from it; write to :attr:`checkpoint_dir`, so the
        parent's checkpoint stays as the parent left it. A promotion records what it was
        handed (:func:`metahpo.trial.resumed`), which the learning-curve figure draws by.
        """
        if self.parent_number is None:
            return None
        path = self._study.checkpoint_dir / str(self.parent_number)
        found = path if path.is_dir() and any(path.iterdir()) else None
        if self._resumed is not (found is not None):
            # Recorded so that learning curves know a continuation from a fresh start
            # while the trial runs, rather than guessing it from the steps it reports. Only
            # a record: read after the trial ended (told, or taken for dead), it is not one.
            self._resumed = found is not None
            with contextlib.suppress(TrialStateError):
                self._study.storage.set_trial_user_attrs(
                    self._study.study_id, self.number, {RESUMED_KEY: self._resumed}
                )
        return found

    def report(self, step: float, value: float) -> None:
        """Store an intermediate value (e.g. validation loss after ``step`` epochs); the
        last step reported may be reported again, which replaces its value.

        Steps never go back: a step lower than one already reported is refused, since the
        scheduler reads the highest step as how far the run got, and a lower one is a
        mislabelled epoch (or a counter restarted) rather than progress.
        """
        step = check_finite_number(step, "step", "TrialHandle.report")
        if step < 0:
            raise InvalidParameterError(
                f"The 'step' parameter of TrialHandle.report must be >= 0 (an epoch, a budget). Got {step!r} instead."
            )
        last = max(self._intermediate, default=None)
        if last is not None and step < last:
            raise InvalidParameterError(
                f"The 'step' parameter of TrialHandle.report must be >= {last!r}, the highest step "
                f"trial {self.number} reported so far (steps never go back). Got {step!r} instead."
            )
        value = check_report_value(value)
        self._study.storage.report(self._study.study_id, self.number, step, value)
        self._intermediate[step] = value

    def should_stop(self) -> bool:
        """Whether the scheduler would stop this trial given what it reported so far."""
        record = self._record.evolve(intermediate=dict(self._intermediate))
        return self._study.scheduler.should_stop(record, self._study.history())

    def set_user_attr(self, key: str, value: Any) -> None:
        """Attach a JSON-able value (string keys only) to the trial under ``key``, a non-empty
        string (shown by ``metahpo show``)."""
        if check_attr_key(key, "set_user_attr") in OWN_TRIAL_ATTRS:
            raise InvalidParameterError(
                f"The 'key' parameter of set_user_attr must not be one of {sorted(OWN_TRIAL_ATTRS)} "
                f"(the study keeps the trial's own records there: why it was suggested, the "
                f"optimizer's state, its enqueued entry). Got {key!r}; choose another key."
            )
        check_string_keys(value, "value", "set_user_attr")
        self._study.storage.set_trial_user_attrs(self._study.study_id, self.number, {key: value})

    @property
    def user_attrs(self) -> Mapping[str, Any]:
        return self._study.storage.get_trial(self._study.study_id, self.number).user_attrs

    def __repr__(self) -> str:
        return f"TrialHandle(number={self.number}, budget={self.budget}, config={self.config})"


Objective = Callable[[TrialHandle], float]


def check_report_value(value: Any) -> float:
    """An intermediate value: a number, numpy scalar, 0-d array or 0-d tensor."""
    return check_objective_value(
        value, "The 'value' parameter of TrialHandle.report",
        "a run that diverged raises an exception (its trial fails) or mh.TrialPruned instead.",
    )
