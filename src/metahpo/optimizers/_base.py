"""The optimizer protocol: what to try next, given the history."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

from metahpo._validation import init_params
from metahpo.history import History
from metahpo.space import Config


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

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        del state

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"
