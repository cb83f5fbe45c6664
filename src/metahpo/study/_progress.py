"""The progress display of ``optimize``: a rich bar with the best value so far."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

from metahpo.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from metahpo.study._protocols import RunnableStudy


class _Progress:
    def __init__(
        self, study: RunnableStudy, bar: object | None, task: object | None, best: float | None = None
    ) -> None:
        self._study = study
        self._bar = bar
        self._task = task
        self._lock = threading.Lock()
        self._best = best  # a loss: the value, negated when maximising

    def best_text(self) -> str:
        if self._best is None:
            return "-"
        return f"{self._best if self._study.direction == 'minimize' else -self._best:.6g}"

    def advance(self, trial: FrozenTrial) -> None:
        if self._bar is None:
            return
        with self._lock:
            if trial.state is TrialState.COMPLETE and trial.value is not None:
                loss = trial.value if self._study.direction == "minimize" else -trial.value
                if self._best is None or loss < self._best:
                    self._best = loss
            self._bar.update(self._task, advance=1, best=self.best_text())  # type: ignore[attr-defined]


def _stored_best(study: RunnableStudy) -> float | None:
    """The best loss of the trials the study already has: a resumed study's bar shows the
    study's best, not only that of the trials this run adds."""
    done = study.storage.get_trials(study.study_id, [TrialState.COMPLETE])
    losses = [t.value if study.direction == "minimize" else -t.value for t in done if t.value is not None]
    return min(losses, default=None)


@contextlib.contextmanager
def progress_display(
    study: RunnableStudy, n_trials: int | None, timeout: float | None, show: bool | None
) -> Iterator[_Progress]:
    """A rich progress bar on stderr; shown by default when stderr is a terminal."""
    if show is None:
        show = sys.stderr.isatty()
    if not show:
        yield _Progress(study, None, None)
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), TextColumn("best {task.fields[best]}"),
        console=Console(stderr=True),
    )
    with bar:
        # Escaped: the description column reads markup, and "[final]" would vanish from a name.
        task = bar.add_task(escape(study.name), total=n_trials, best="-")
        progress = _Progress(study, bar, task, _stored_best(study))
        bar.update(task, best=progress.best_text())
        yield progress
