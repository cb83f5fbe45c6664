"""One benchmark evaluation as a frozen record, and its JSON-lines file format."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError

__all__ = ["Record", "read_records", "write_records"]

# Keys a results line may lack: fields added after results files were first written.
_OPTIONAL = ("sim_time", "parent_budget", "distinct_configs")


@dataclass(frozen=True)
class Record:
    """One evaluation of one optimizer on one task, as a line of the results file.

    Attributes:
        problem: the benchmark problem's name.
        task: the task evaluated.
        optimizer: the optimizer's benchmark name (``"random"``, ``"optuna-tpe"``, ...).
        seed: the repetition's seed.
        trial: the evaluation's index in the run, from 0.
        budget: the budget of this evaluation (``None`` for problems without fidelity).
        loss: the loss the problem returned.
        cum_budget: the budget spent so far, this evaluation included. Under restart
            accounting (the default) each evaluation counts its full budget; under
            continuation accounting a promotion counts ``budget - parent_budget``. For
            problems without fidelity every evaluation counts 1.
        wall_time: seconds spent on this evaluation: the optimizer's own time since the
            previous evaluation ended plus the evaluation itself.
        sim_time: for runs with simulated parallel workers, the simulated clock when this
            evaluation completed, in budget units (an evaluation at budget ``b`` takes
            ``b``); ``None`` for serial runs, and then left out of the JSON line, so
            files written before the field existed read unchanged.
        parent_budget: under continuation accounting, the budget of the evaluation this
            one continues (it was charged ``budget - parent_budget``); ``None``, and left
            out of the JSON line, for every evaluation of a restart-accounted run and for
            evaluations that continue nothing.
        distinct_configs: how many distinct configs the run has evaluated so far, this
            evaluation included (a config evaluated at several budgets counts once; on a
            pool problem, suggestions that snap to the same pool config are one config).
            ``None`` in files written before the field existed, and then left out.
    """

    problem: str
    task: str
    optimizer: str
    seed: int
    trial: int
    budget: float | None
    loss: float
    cum_budget: float
    wall_time: float
    sim_time: float | None = None
    parent_budget: float | None = None
    distinct_configs: int | None = None

    def to_json(self) -> str:
        data = asdict(self)
        for key in _OPTIONAL:
            if data[key] is None:
                del data[key]
        return json.dumps(data, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_dict(cls, data: Any) -> Record:
        names = [f.name for f in fields(cls)]
        required = [name for name in names if name not in _OPTIONAL]
        if not isinstance(data, dict) or not set(required) <= set(data) <= set(names):
            raise InvalidParameterError(
                f"A benchmark record must be an object with exactly the keys {required} "
                f"(and optionally {list(_OPTIONAL)}). Got {describe(data)} instead."
            )
        record = cls(**data)
        if not math.isfinite(record.loss):
            raise InvalidParameterError(
                f"A benchmark record's loss must be finite. Got {record.loss!r} instead."
            )
        return record


def write_records(path: Path, records: Iterable[Record]) -> int:
    """Append ``records`` to the JSON-lines file ``path``; return how many were written."""
    count = 0
    with path.open("a", encoding="utf-8") as handle:
        for record in records:
            handle.write(record.to_json() + "\n")
            count += 1
    return count


def read_records(path: Path) -> Iterator[Record]:
    """The records of a JSON-lines results file, in file order."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidParameterError(f"{path}:{number} is not valid JSON: {exc}") from exc
            yield Record.from_dict(data)
