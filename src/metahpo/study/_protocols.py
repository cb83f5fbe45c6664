"""What ``optimize``, its executors, its progress display and a trial's run need of a study.

:class:`~metahpo.study.Study` satisfies :class:`RunnableStudy` and :class:`TrialRunner`;
the helpers are typed
against the protocol so that they do not import the study module that imports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from typing_extensions import Self

    from metahpo.storage import Storage
    from metahpo.study._handle import Objective, TrialHandle
    from metahpo.trial import FrozenTrial, TrialState


class RunnableStudy(Protocol):
    """A study that runs trials: ask, evaluate and tell one, and report its state."""

    @property
    def name(self) -> str: ...

    @property
    def study_id(self) -> int: ...

    @property
    def direction(self) -> str: ...

    @property
    def storage(self) -> Storage: ...

    @property
    def optimizer(self) -> Any: ...

    @property
    def scheduler(self) -> Any: ...

    @classmethod
    def load(cls, name: str, storage: Any = None, knowledge: Any = None, scheduler: Any = None) -> Self:
        """The stored study ``name``, opened from ``storage`` (a URL in another process),
        with ``knowledge`` for its optimizer and the ``scheduler`` instance when given."""
        ...

    def run_trial(
        self, objective: Objective, catch: tuple[type[BaseException], ...], retries: int = 0,
        dispatch: str | None = None,
    ) -> FrozenTrial: ...

    def converged(self) -> bool: ...

    def finish(self) -> dict[str, Any] | None: ...


class TrialRunner(Protocol):
    """What running a trial needs of its study (:class:`~metahpo.study.Study` is one)."""

    @property
    def storage(self) -> Storage: ...

    @property
    def study_id(self) -> int: ...

    @property
    def trials(self) -> list[FrozenTrial]: ...

    def _ask(self, retries: int, beating: bool) -> TrialHandle:
        """``ask``, with the new trial's heartbeat running during the suggestion when ``beating``."""
        ...

    def tell(
        self,
        trial: TrialHandle | FrozenTrial | int,
        value: float | None = None,
        state: TrialState | str | None = None,
        error: str | None = None,
    ) -> FrozenTrial: ...
