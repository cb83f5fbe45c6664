"""Read a study's trials incrementally: finished trials are kept, the rest re-read."""

from __future__ import annotations

import threading
import time

from metahpo.storage._base import Storage, is_stale_failure, reads_from_number
from metahpo.trial import FrozenTrial, TrialState

# Up to this many kept stale failures are re-read one by one (one small read each); more
# are re-read with one read of the study's FAILED trials from the oldest of them on.
_STALE_ONE_BY_ONE = 8


class TrialCache:
    """The trials of one study, each read re-fetching only what may have changed.

    A finished trial never changes (storages refuse to change one), so the cache keeps
    every trial below the smallest number that was not finished at the last read and
    asks the storage only for the trials from that number on: the RUNNING ones (which
    may have finished, reported or changed their ``user_attrs`` since), the reserved
    ones still waiting for their config, and every trial created since, by this process
    or any other. A read therefore returns what the storage holds at that moment, at
    the cost of the trials still open rather than of the whole study.

    The one exception is a trial FAILED because its heartbeat stopped
    (:func:`~metahpo.storage.is_stale_failure`): its process may still tell it late.
    The kept trials that are such failures are re-read too, at most once per heartbeat
    interval, until they are finished for good; they are few (one per process taken for
    dead) and do not hold back the numbers from which the rest is read.

    Thread-safe: reads are serialised by a lock, so that threads sharing a study (as
    ``optimize(n_jobs=k)`` does) see one consistent list. The records returned are
    shared between reads; like every record they must not be changed.

    A storage whose ``get_trials`` has no ``min_number`` parameter (written before the
    protocol had it) is read whole every time.

    Example:
        >>> from metahpo.storage import InMemoryStorage, TrialCache
        >>> from metahpo.trial import TrialState
        >>> storage = InMemoryStorage()
        >>> study = storage.create_study("demo", space={}, direction="minimize", seed=0,
        ...                              optimizer={}, scheduler={})
        >>> cache = TrialCache(storage, study.study_id)
        >>> first = storage.create_trial(study.study_id, config={"x": 0.5})
        >>> _ = storage.finish_trial(study.study_id, first.number, TrialState.COMPLETE, 1.0)
        >>> second = storage.create_trial(study.study_id, config={"x": 0.1})
        >>> [t.state.value for t in cache.read()]
        ['COMPLETE', 'RUNNING']
        >>> cache.first_open  # the next read asks the storage for trials 1, 2, ...
        1
    """

    def __init__(self, storage: Storage, study_id: int) -> None:
        self.storage = storage
        self.study_id = study_id
        self._incremental = reads_from_number(storage)
        self._lock = threading.Lock()
        self._trials: list[FrozenTrial] = []
        self._configured: list[FrozenTrial] = []  # the finished trials that have a config
        self._first_open = 0
        self._stale: list[int] = []  # numbers of the kept trials that may still be told late
        self._stale_read_at = -float("inf")

    @property
    def first_open(self) -> int:
        """The smallest trial number that was not finished at the last read."""
        return self._first_open

    def read(self) -> list[FrozenTrial]:
        """Every trial of the study, in number order, as the storage holds them now."""
        return self.read_with_configured()[0]

    def read_with_configured(self) -> tuple[list[FrozenTrial], tuple[FrozenTrial, ...]]:
        """Every trial (as :meth:`read`) and, from the same read, those that have a config.

        The second is what an optimizer's history holds (reserved trials still waiting
        for their config are left out); the finished part of it is kept too, so that
        neither costs a pass over the whole study in Python.
        """
        with self._lock:
            if not self._incremental:
                trials = self.storage.get_trials(self.study_id)
                return trials, tuple(t for t in trials if t.config)
            start = self._first_open
            trials = self._trials[:start]
            if self._reread_stale(trials):
                self._configured = [t for t in trials if t.config]
            trials.extend(self.storage.get_trials(self.study_id, min_number=start))
            first_open = start
            while first_open < len(trials) and trials[first_open].state.is_finished:
                first_open += 1
            self._configured.extend(t for t in trials[start:first_open] if t.config)
            self._stale.extend(t.number for t in trials[start:first_open] if is_stale_failure(t))
            self._trials, self._first_open = trials, first_open
            configured = (*self._configured, *(t for t in trials[first_open:] if t.config))
            return list(trials), configured

    def clear(self) -> None:
        """Forget every kept trial: the next read fetches the whole study."""
        with self._lock:
            self._trials, self._configured, self._first_open, self._stale = [], [], 0, []

    def _reread_stale(self, kept: list[FrozenTrial]) -> bool:
        """Put the stored version of each kept stale failure into ``kept``; whether one changed."""
        if not self._stale:
            return False
        # A process that really died never tells its trial: re-read such trials once per
        # heartbeat interval, not on every read, which would cost every ask for good.
        now = time.monotonic()
        if now - self._stale_read_at < (getattr(self.storage, "heartbeat_interval", None) or 0.0):
            return False
        self._stale_read_at = now
        if len(self._stale) <= _STALE_ONE_BY_ONE:
            fresh = {n: self.storage.get_trial(self.study_id, n) for n in self._stale}
        else:
            # A late FAILED keeps the trial FAILED; one told COMPLETE or PRUNED is missing
            # here and read alone, which happens once per such trial.
            fresh = {t.number: t for t in self.storage.get_trials(
                self.study_id, states=[TrialState.FAILED], min_number=self._stale[0])}
            fresh = {n: fresh.get(n) or self.storage.get_trial(self.study_id, n) for n in self._stale}
        changed = False
        for number, trial in fresh.items():
            if trial != kept[number]:
                kept[number], changed = trial, True
        self._stale = [n for n in self._stale if is_stale_failure(kept[n])]
        return changed
