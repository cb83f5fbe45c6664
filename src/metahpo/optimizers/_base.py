"""The optimizer protocol: what to try next, given the history."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from metahpo._validation import init_params
from metahpo.history import History
from metahpo.space import Config

# MetaBO (and "auto" choosing it) transfers from at least this many related tasks. Here,
# not in MetaBO's module, so that deciding does not import torch.
MIN_RELATED_TASKS = 3


@dataclass(frozen=True)
class Suggestion:
    """A proposed config and why it was proposed (stored as the trial's ``why`` attribute).

    ``why`` is JSON: e.g. ``{"source": "portfolio", "tasks": [...]}`` or
    ``{"source": "surrogate", "observations": 12, "similar_tasks": [...]}``.
    """

    config: Config
    why: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Optimizer(Protocol):
    """Proposes configurations; holds no storage reference.

    ``suggest`` may be called from several processes at once for the same study;
    it must depend only on the history it is given and the optimizer's own
    parameters and state. ``get_params`` returns the constructor arguments and
    ``state_dict`` any learned state, both JSON-able, so a study can be reloaded
    in another process with an equivalent optimizer.
    """

    name: ClassVar[str]

    def suggest(self, history: History, n: int = 1) -> list[Config]: ...

    def get_params(self) -> dict[str, Any]: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class BaseOptimizer:
    """Shared plumbing: scikit-learn style ``get_params`` and an empty state."""

    name: ClassVar[str] = ""

    def get_params(self) -> dict[str, Any]:
        return init_params(self)

    def suggest_explained(self, history: History, n: int = 1) -> list[Suggestion]:
        """Like :meth:`suggest`, with the reason for each config; override to say more."""
        return [Suggestion(c, {"source": self.name}) for c in self.suggest(history, n)]  # type: ignore[attr-defined]

    def on_study_end(self, history: History) -> dict[str, Any] | None:
        """Called by ``Study.finish``; an optimizer that learns across studies
        updates its knowledge here and returns a JSON summary of what it did."""
        del history
        return None

    def converged(self, history: History) -> bool:
        """Whether the study may stop early (e.g. a plateau); ``optimize`` asks before each trial."""
        del history
        return False

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        del state

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
