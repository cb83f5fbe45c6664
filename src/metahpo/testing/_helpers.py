"""Helpers of the conformance checks: studies to start from, snapshots, plain assertions."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

from metahpo.storage import Storage, StudyRecord
from metahpo.trial import FrozenTrial

__all__ = ["_NotJSON", "_check", "_in_threads", "_raises", "json_round_trip", "make_study", "snapshot"]


@contextlib.contextmanager
def _raises(expected: type[BaseException], what: str) -> Iterator[None]:
    try:
        yield
    except expected:
        return
    raise AssertionError(f"{what}: expected {expected.__name__}, nothing was raised")


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def json_round_trip(value: Any, what: str) -> Any:
    """``value`` through strict JSON (no NaN, no objects), or AssertionError naming ``what``."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise AssertionError(f"{what} must be JSON (no NaN, numpy types or objects): {exc}") from exc


def make_study(storage: Storage, name: str = "study", **changes: Any) -> StudyRecord:
    """A study with small, valid JSON fields; ``changes`` override any argument."""
    arguments: dict[str, Any] = {
        "space": {"x": {"type": "float", "low": 0.0, "high": 1.0}, "a": {"type": "int"}},
        "direction": "minimize",
        "seed": 7,
        "optimizer": {"name": "random", "state": [1, 2, 3]},
        "scheduler": {"name": "full"},
        "user_attrs": {"owner": "tests"},
    }
    arguments.update(changes)
    return storage.create_study(name, **arguments)


def snapshot(storage: Storage) -> list[tuple[StudyRecord, list[FrozenTrial]]]:
    """Everything in ``storage``, comparable with ``==`` to a later snapshot."""
    return [(study, storage.get_trials(study.study_id)) for study in storage.list_studies()]


class _NotJSON:
    def __repr__(self) -> str:
        return "<not JSON>"


def _in_threads(work: Callable[[int], None], count: int) -> None:
    """Run ``work(i)`` on ``count`` threads at once; the first exception is re-raised here."""
    errors: list[BaseException] = []

    def guarded(index: int) -> None:
        try:
            work(index)
        except BaseException as exc:  # Re-raised in the calling thread below.
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
