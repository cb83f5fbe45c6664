"""What the dashboard shows, read from the storage (it never writes)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from typing import Any

from metahpo.exceptions import StudyNotFoundError
from metahpo.storage import Storage, StudyRecord, storage_fingerprint, study_fingerprint
from metahpo.study import optimizer_label
from metahpo.trial import lineage_parent
from metahpo.visualization import StudyData, read_study, source_of

__all__ = [
    "TRIAL_COLUMNS", "StudiesList", "StudyVersions", "study_facts", "study_snapshot", "study_summaries",
    "study_summary", "summaries_version", "trial_rows", "why_text",
]

# The trials table: (header, key of a trial_rows row), in the order the page shows them.
TRIAL_COLUMNS = (
    ("#", "number"), ("state", "state"), ("value", "value"), ("budget", "budget"),
    ("bracket", "bracket"), ("rung", "rung"), ("parent", "parent"), ("config", "config"),
    ("why suggested", "why"), ("error", "error"),
)


def _spec_text(spec: Mapping[str, Any]) -> str:
    params = {k: v for k, v in dict(spec.get("params") or {}).items() if k != "knowledge" and v is not None}
    inside = ", ".join(f"{k}={v}" for k, v in params.items())
    return f"{spec.get('name', '-')}({inside})" if inside else str(spec.get("name", "-"))


def study_summaries(storage: Storage) -> list[dict[str, Any]]:
    """One JSON-able row per study: name, state, best value, trial counts, optimizer, scheduler.

    The state is ``"finished"`` only for a study :meth:`~metahpo.Study.finish` was called
    on (``"idle"`` for one whose trials merely all ended); the optimizer is its class name,
    with ``"auto"``'s choice and reason.
    """
    rows = []
    for record in storage.list_studies():
        try:
            data = read_study(record.name, storage)
        except StudyNotFoundError:
            continue  # deleted since the list was read (`metahpo delete` while the page is open)
        rows.append(study_summary(record, data))
    return rows


def study_summary(record: StudyRecord, data: StudyData) -> dict[str, Any]:
    """The row of :func:`study_summaries` of the study ``record``, read as ``data``.

    Its ``user_attrs`` are ``data``'s, read with the trials (and after the fingerprint the
    row is kept with), not the listed record's, which may be older.
    """
    best = data.best()
    counts: dict[str, int] = {}
    for trial in data.trials:
        counts[trial.state.value] = counts.get(trial.state.value, 0) + 1
    return {
        "name": record.name,
        "state": data.state,
        "direction": record.direction,
        "best": None if best is None else best.value,
        "trials": len(data.trials),
        "counts": counts,
        "optimizer": optimizer_label(data.optimizer, data.user_attrs),
        "scheduler": _spec_text(data.scheduler),
        # Readers of a served page may be in any time zone: it says which one it uses.
        "created": record.created_at.strftime("%Y-%m-%d %H:%M UTC") if record.created_at else "-",
    }


def summaries_version(summaries: list[dict[str, Any]]) -> str:
    """A version of the studies list that changes whenever any of :func:`study_summaries`'s
    rows does (a study added or deleted, its state, best value or trial counts).

    A hash of the rows themselves, made when they are read (:class:`StudiesList` reads them
    only when the storage's fingerprint changed): a trial's report, which changes its
    study's version but nothing the list shows, leaves it unchanged.
    """
    text = json.dumps(summaries, default=str, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class StudiesList:
    """:func:`study_summaries` and their :func:`summaries_version`, read again only when the
    storage's fingerprint (:func:`~metahpo.storage.storage_fingerprint`) changed, and then
    only for the studies whose own fingerprint (:func:`~metahpo.storage.study_fingerprint`)
    changed.

    The studies page asks for the list every few seconds; while nothing changed, an answer
    costs one small query instead of reading every trial of every study, and a change to
    one study reads that study's trials alone. Keeps one list (the last read) and its row
    of each study; a storage without fingerprints is read whole every time. Threads may
    share it: what it keeps is replaced whole, never changed.
    """

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self._kept: tuple[str, list[dict[str, Any]], str] | None = None  # fingerprint, list, version
        self._rows: dict[str, tuple[str, dict[str, Any]]] = {}  # by name: study fingerprint, row

    def read(self) -> tuple[list[dict[str, Any]], str]:
        """The list as stored now and its version (the caller must not change the list)."""
        before = storage_fingerprint(self.storage)
        kept = self._kept  # one read of the attribute: threads may replace it meanwhile
        if before is not None and kept is not None and kept[0] == before:
            return kept[1], kept[2]
        summaries = self._summaries()
        version = summaries_version(summaries)
        # Kept only when the fingerprint is the same after the read as before it: the list
        # kept is then the one of that fingerprint, not one a write made meanwhile changed.
        if before is not None and storage_fingerprint(self.storage) == before:
            self._kept = (before, summaries, version)
        return summaries, version

    def _summaries(self) -> list[dict[str, Any]]:
        """:func:`study_summaries`, reading only the studies whose fingerprint changed."""
        kept, rows = self._rows, []
        fresh: dict[str, tuple[str, dict[str, Any]]] = {}
        for record in self.storage.list_studies():
            try:
                before = study_fingerprint(self.storage, record.study_id)
                same = kept.get(record.name)
                if before is not None and same is not None and same[0] == before:
                    fresh[record.name] = same
                    rows.append(same[1])
                    continue
                row = study_summary(record, read_study(record.name, self.storage))
                # Kept only when no write came during the read (as for the whole list).
                if before is not None and study_fingerprint(self.storage, record.study_id) == before:
                    fresh[record.name] = (before, row)
            except StudyNotFoundError:
                continue  # deleted since the list was read (`metahpo delete` while the page is open)
            rows.append(row)
        self._rows = fresh
        return rows


class StudyVersions:
    """The version of each study's :func:`study_snapshot` and the study it was drawn from,
    kept with the study's fingerprint (:func:`~metahpo.storage.study_fingerprint`) read
    before and after it was read.

    A study page asks ``/api/study`` every few seconds whether its study changed, sending
    the version it drew. While the study's fingerprint is the one kept, that version is
    still the study's: the answer (an empty 304) costs the study's record and fingerprint,
    a few small queries, instead of reading every trial and report. The page's figures
    (``/api/figure``) are drawn from the study kept (:meth:`data`) the same way, so opening
    a page, or drawing it again after a change, reads the study's trials once, not once per
    figure. Keeps the ``size`` studies read last; a storage without study fingerprints is
    read whole at every question, as before it had them. Threads may share it: what it
    keeps is replaced whole, never changed.
    """

    # Each study kept is held whole (its trials and reports) in the server's memory: as many
    # as a few people keep pages open for, not every study ever opened.
    def __init__(self, storage: Storage, size: int = 32) -> None:
        self.storage = storage
        self.size = size
        self._lock = threading.Lock()
        self._kept: dict[str, tuple[str, str, StudyData]] = {}  # by name: study fingerprint, version, study

    def current(self, name: str) -> str | None:
        """The version of study ``name`` as stored now, when it is known without reading its
        trials (``None`` otherwise); raises StudyNotFoundError for a study that is gone."""
        with self._lock:
            kept = self._kept.get(name)
        if kept is None:
            return None
        return kept[1] if self._fingerprint(name) == kept[0] else None

    def read(self, name: str) -> dict[str, Any]:
        """The :func:`study_snapshot` of study ``name``, read whole; its version is kept."""
        return self._read(name, self._fingerprint(name))[0]

    def data(self, name: str) -> StudyData:
        """Study ``name`` as stored now: the one kept while its fingerprint is the one kept
        (its trials unread), else read whole and kept; raises StudyNotFoundError for a study
        that is gone. The caller must not change it (threads share it)."""
        before = self._fingerprint(name)
        with self._lock:
            kept = self._kept.get(name)
        if before is not None and kept is not None and kept[0] == before:
            return kept[2]
        return self._read(name, before)[1]

    def _read(self, name: str, before: str | None) -> tuple[dict[str, Any], StudyData]:
        """Study ``name`` read whole and its snapshot, kept when ``before``, its fingerprint
        read before, is still its fingerprint after the read."""
        data = read_study(name, self.storage)
        snapshot = study_snapshot(data)
        try:
            unchanged = before is not None and self._fingerprint(name) == before
        except StudyNotFoundError:
            unchanged = False  # deleted since: what was read is sent, and not kept
        if unchanged:
            with self._lock:
                self._kept.pop(name, None)  # the latest read goes last, the first to drop is first
                self._kept[name] = (str(before), snapshot["version"], data)
                while len(self._kept) > self.size:
                    del self._kept[next(iter(self._kept))]
        return snapshot, data

    def _fingerprint(self, name: str) -> str | None:
        if not callable(getattr(self.storage, "study_fingerprint", None)):
            return None
        return study_fingerprint(self.storage, self.storage.get_study(name).study_id)


def why_text(why: Any) -> str:
    """A one-line account of ``user_attrs["why"]``: the source, then the similar tasks."""
    if not isinstance(why, Mapping):
        return ""
    parts = [str(why.get("source", "unknown"))]
    similar = why.get("similar_tasks") or []
    if similar:
        parts.append("similar: " + ", ".join(
            f"{item[0]} ({item[1]})" for item in similar if isinstance(item, (list, tuple)) and len(item) == 2))
    rest = {k: v for k, v in why.items() if k not in ("source", "similar_tasks", "tasks")}
    if rest:
        parts.append(json.dumps(rest, default=str))
    if why.get("tasks"):
        tasks = list(why["tasks"])
        parts.append("tasks: " + ", ".join(map(str, tasks[:5])) + (" ..." if len(tasks) > 5 else ""))
    return "; ".join(parts)


def trial_rows(data: StudyData) -> list[dict[str, Any]]:
    """One row per trial for the trials table (plain strings: the page escapes them)."""
    rows = []
    for trial in data.trials:
        rows.append({
            "number": str(trial.number),
            "state": trial.state.value,
            "value": "-" if trial.value is None else f"{trial.value:.6g}",
            "budget": "-" if trial.budget is None else f"{trial.budget:g}",
            "bracket": "-" if trial.bracket is None else str(trial.bracket),
            "rung": "-" if trial.rung is None else str(trial.rung),
            "parent": "-" if (parent := lineage_parent(trial)) is None else str(parent),
            "config": json.dumps(dict(trial.config), default=str),
            "source": source_of(trial),
            "why": why_text(trial.user_attrs.get("why")),
            "error": trial.error or "",
        })
    return rows


def study_facts(data: StudyData) -> str:
    """The line above a study's figures: direction, state, trials and best value (plain text)."""
    best = data.best()
    shown = "-" if best is None else f"{best.value:.6g}"
    return f"direction {data.direction} · state {data.state} · {len(data.trials)} trials · best {shown}"


def study_snapshot(data: StudyData) -> dict[str, Any]:
    """What an open study page shows, JSON-able: ``state``, ``facts``, the trials table's
    ``rows`` (cells in :data:`TRIAL_COLUMNS` order) and a ``version`` that changes whenever
    any of it or a figure of the study's trials would (a trial added, ended, or reporting)."""
    rows = [[row[key] for _, key in TRIAL_COLUMNS] for row in trial_rows(data)]
    facts = study_facts(data)
    # The last report too, not only how many: a report may replace the value at its step.
    reports = [[t.number, len(t.intermediate), max(t.intermediate.items(), default=None), t.user_attrs.get("why")]
               for t in data.trials]
    text = json.dumps([facts, rows, reports], default=str, sort_keys=True)
    version = hashlib.sha256(text.encode()).hexdigest()[:16]
    return {"state": data.state, "facts": facts, "version": version, "rows": rows}
