"""Heartbeats: a RUNNING trial proves its process is alive, so dead ones can be failed."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator

from metahpo.exceptions import StorageError
from metahpo.storage import Storage

logger = logging.getLogger("metahpo.study")


@contextlib.contextmanager
def heartbeat(storage: Storage, study_id: int, number: int) -> Iterator[None]:
    """Stamp the trial's heartbeat every ``storage.heartbeat_interval`` seconds while inside."""
    interval = storage.heartbeat_interval
    if interval is None:
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while True:
            try:
                storage.heartbeat(study_id, number)
            except StorageError as exc:  # A missed beat is retried next interval.
                logger.warning("Heartbeat of trial %d failed: %s", number, exc)
            if stop.wait(interval):
                return

    thread = threading.Thread(target=beat, name=f"metahpo-heartbeat-{number}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
