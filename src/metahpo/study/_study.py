"""The study: a named optimization over one space, with ask / tell on top of a storage."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metahpo._validation import check_string_keys, describe
from metahpo.exceptions import (
    DuplicatedPromotionError,
    InvalidParameterError,
    MetahpoError,
    TrialStateError,
)
from metahpo.history import History
from metahpo.knowledge import descriptor_of, task_kind, task_type_of
from metahpo.optimizers import BaseOptimizer, Optimizer
from metahpo.schedulers import Scheduler
from metahpo.space import Space
from metahpo.storage import Storage, StudyRecord, TrialCache, is_stale_failure
from metahpo.study._checkpoints import study_checkpoint_dir
from metahpo.study._enqueue import add_to_queue, take_waiting_entry
from metahpo.study._finish import finish_study
from metahpo.study._handle import Objective, TrialHandle
from metahpo.study._heartbeat import heartbeat
from metahpo.study._propose import component_seed, keyed_history, propose_config
from metahpo.study._reopen import reopened_parts, stored_study
from metahpo.study._retry import check_retries, retry_dead_trial
from metahpo.study._run_trial import run_trial
from metahpo.study._state import RESERVED_STUDY_ATTRS, check_attr_key
from metahpo.study._task_type import study_task_type, task_type_with
from metahpo.study._tell import finish_told_trial, storage_key
from metahpo.study._trials_table import trial_states, trials_dataframe
from metahpo.trial import FrozenTrial, TrialState, lineage_parent

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger("metahpo.study")

_PROMOTION_RETRIES = 20


class Study:
    """A study: build it with :func:`create_study` or :func:`load_study`.

    ``optimize`` is a loop over :meth:`ask` and :meth:`tell`; use them directly to
    drive the evaluation yourself.

    Example:
        >>> import metahpo as mh
        >>> study = mh.create_study(space=mh.Space({"x": mh.Float(-1, 1)}), optimizer="sobol", seed=1)
        >>> trial = study.ask()
        >>> _ = study.tell(trial, trial.config["x"] ** 2)
        >>> study.best_trial.number
        0
    """

    def __init__(
        self,
        record: StudyRecord,
        storage: Storage,
        optimizer: Optimizer,
        scheduler: Scheduler,
    ) -> None:
        self._record = record
        self.storage = storage
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.space = Space.from_dict(record.space)
        # Finished trials are kept and only the open ones re-read, so that an ask costs
        # the trials still running rather than the whole study.
        self._trial_cache = TrialCache(storage, record.study_id)
        # The descriptor given to create_study(task=...) is what meta-learning optimizers
        # compare tasks by; they read it from the history.
        self._descriptor = descriptor_of(record.user_attrs.get("task"))
        self._task_type = study_task_type(record)
        # Threads of one process share the optimizer: loading the history's state,
        # suggesting and reading the new state must not interleave.
        self._suggest_lock = threading.Lock()
        # Trials this process found dead (heartbeat stopped) and may run again.
        self._dead_to_retry: list[int] = []

    @classmethod
    def from_record(
        cls, record: StudyRecord, storage: Storage, knowledge: Any = None, scheduler: Scheduler | None = None
    ) -> Study:
        """The study of ``record`` with the optimizer and scheduler it was created with.

        The optimizer's knowledge is opened from the spec it stored, unless ``knowledge``
        (a knowledge base or a spec) is given: knowledge built in memory has no spec. The
        scheduler is rebuilt from its stored spec, unless ``scheduler`` (the instance the
        study was created with, for one that is not built in) is given.
        """
        return cls(record, storage, *reopened_parts(record, storage, knowledge, scheduler))

    @classmethod
    def load(
        cls, name: str, storage: Storage | str | None = None, knowledge: Any = None,
        scheduler: Scheduler | None = None,
    ) -> Study:
        """Open the stored study ``name`` (what :func:`~metahpo.load_study` does); a
        scheduler that is not built in is given again as ``scheduler``."""
        record, store = stored_study(name, storage)
        return cls.from_record(record, store, knowledge, scheduler)

    # Facts -------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._record.name

    @property
    def study_id(self) -> int:
        return self._record.study_id

    @property
    def direction(self) -> str:
        return self._record.direction

    @property
    def seed(self) -> int:
        return self._record.seed

    @property
    def checkpoint_dir(self) -> Path:
        """The folder of this study's checkpoints; trial ``n`` keeps its own in ``n/``.

        Beside a SQLite database (``metahpo.db`` -> ``metahpo-checkpoints/<study>-<key>``),
        else under ``$METAHPO_HOME/checkpoints``. Nothing is created until a trial asks
        for its :attr:`TrialHandle.checkpoint_dir`, and metahpo deletes nothing: the
        checkpoints are yours (``shutil.rmtree(study.checkpoint_dir)`` removes them all).

        Example:
            >>> import tempfile
            >>> import metahpo as mh
            >>> url = f"sqlite:///{tempfile.mkdtemp()}/runs.db"
            >>> study = mh.create_study(name="cp", space=mh.Space({"x": mh.Float(0, 1)}), storage=url)
            >>> trial = study.ask()
            >>> (trial.checkpoint_dir / "model.txt").write_text("weights")
            7
            >>> trial.checkpoint_dir == study.checkpoint_dir / "0"
            True
            >>> study.checkpoint_dir.parent.name
            'runs-checkpoints'
        """
        return study_checkpoint_dir(self.storage, self._record)

    @property
    def user_attrs(self) -> dict[str, Any]:
        return dict(self.storage.get_study(self.name).user_attrs)

    def set_user_attr(self, key: str, value: Any) -> None:
        """Store ``value`` (JSON, string keys only) with the study under ``key``, a non-empty
        string; metahpo's own keys are refused."""
        is_task = check_attr_key(key, "Study.set_user_attr") == "task"
        if is_task:
            # A task descriptor may be given later, checked as at creation (its kind too,
            # against the preset's the study stored).
            where = "'value' parameter of Study.set_user_attr for the key 'task'"
            descriptor, kind = task_kind(value, f"the {where}")
            task_type = task_type_with(self._record, kind, f"The {where}", task_type_of(descriptor) is not None)
        elif key in RESERVED_STUDY_ATTRS:
            raise InvalidParameterError(
                f"The 'key' parameter of Study.set_user_attr must not be one of "
                f"{sorted(RESERVED_STUDY_ATTRS - {'task'})} ('task' takes a task descriptor "
                f"only): metahpo keeps the study's state there. Got {key!r}; choose another key."
            )
        check_string_keys(value, "value", "Study.set_user_attr")
        self.storage.set_study_user_attrs(self.study_id, {key: value})
        if is_task:  # what the optimizer reads from the history from now on
            self._descriptor, self._task_type = descriptor, task_type

    @property
    def trials(self) -> list[FrozenTrial]:
        """Every trial, in number order, as the storage holds them now.

        Finished trials are read once and kept; each call re-reads only the trials from
        the first one that was not finished at the previous call (see
        :class:`~metahpo.storage.TrialCache`). The records are shared between calls:
        do not change them.
        """
        return self._trial_cache.read()

    def get_trials(
        self, states: TrialState | str | Iterable[TrialState | str] | None = None
    ) -> list[FrozenTrial]:
        """The trials in ``states`` (a state, its name in any case, or several), or all."""
        return self.storage.get_trials(self.study_id, None if states is None else trial_states(states))

    def history(self, trials: Sequence[FrozenTrial] | None = None) -> History:
        """What the optimizer and the scheduler see; trials still being created are left out."""
        if trials is None:
            configured = self._trial_cache.read_with_configured()[1]
        else:
            configured = tuple(t for t in trials if t.config)
        return self._history_of(configured)

    def _history_of(self, configured: tuple[FrozenTrial, ...]) -> History:
        return History(
            space=self.space,
            trials=configured,
            direction=self.direction,
            seed=component_seed(self.seed, 0),
            min_budget=self.scheduler.min_budget,
            max_budget=self.scheduler.max_budget,
            descriptor=self._descriptor,
            task_type=self._task_type,
        )

    @property
    def best_trial(self) -> FrozenTrial:
        """The COMPLETE trial with the best value among those at the largest budget reached."""
        best = self.history().best()
        if best is None:
            raise MetahpoError(f"Study {self.name!r} has no COMPLETE trial yet.")
        return best

    @property
    def best_value(self) -> float:
        return float(self.best_trial.value)  # type: ignore[arg-type]

    @property
    def best_config(self) -> dict[str, Any]:
        return dict(self.best_trial.config)

    # Ask / tell --------------------------------------------------------------------------
    def ask(self, *, retries: int = 0) -> TrialHandle:
        """Start the next trial: the scheduler picks the budget, the optimizer the config.

        Args:
            retries: how often a trial whose process died (its heartbeat stopped) is run
                again with the same config and budget. The asker that finds the dead trial
                starts the retry; the new trial's ``user_attrs["why"]`` names the one it
                retries. 0 (the default) never retries. Objective errors are not retried:
                they would fail again.
        """
        return self._ask(check_retries(retries, "ask"), beating=False)

    def _ask(self, retries: int, beating: bool) -> TrialHandle:
        """:meth:`ask`; with ``beating``, the new trial's heartbeat runs while the optimizer
        suggests, so that a process that dies there (a long meta-training, say) leaves a
        trial the others can fail. A hand-driven ask starts no heartbeat: its trial would
        be failed while the user evaluates it."""
        dead = self.storage.fail_stale_trials(self.study_id)
        if retries:
            self._dead_to_retry.extend(dead)
            while self._dead_to_retry:
                retried = self._retry(self._dead_to_retry.pop(0), retries)
                if retried is not None:
                    return retried
        for _ in range(_PROMOTION_RETRIES):
            trials, configured = self._trial_cache.read_with_configured()
            history = self._history_of(configured)
            job = self.scheduler.next_job(history)
            if job.parent is not None:
                try:
                    record = self.storage.create_trial(
                        self.study_id, config=job.parent.config, budget=job.budget,
                        bracket=job.bracket, rung=job.rung, parent=job.parent.number,
                        user_attrs={"why": {"source": "promotion", "parent": job.parent.number,
                                            "parent_value": job.parent.value}},
                    )
                except DuplicatedPromotionError:
                    continue  # Another worker promoted it first; ask the scheduler again.
                return TrialHandle(self, record, job.parent)
            enqueued = take_waiting_entry(self.storage, self.study_id, self.name, trials, job)
            if enqueued is not None:
                return TrialHandle(self, enqueued)
            record = self.storage.create_trial(
                self.study_id, budget=job.budget, bracket=job.bracket, rung=job.rung
            )
            with heartbeat(self.storage, self.study_id, record.number) if beating else nullcontext():
                try:
                    return TrialHandle(self, self._choose_config(record, trials, history))
                except TrialStateError:
                    if not is_stale_failure(self.storage.get_trial(self.study_id, record.number)):
                        raise
            # Paused past the grace period while suggesting: another process failed the
            # trial as dead; this one is alive, and reserves another.
            logger.warning("Trial %d was taken for dead while its config was chosen; asking again.", record.number)
        raise MetahpoError(
            f"Study {self.name!r}: {_PROMOTION_RETRIES} promotions in a row were taken by other workers."
        )

    def _retry(self, number: int, retries: int) -> TrialHandle | None:
        record = retry_dead_trial(self.storage, self.study_id, number, retries)
        if record is None:
            return None
        # A retried promotion resumes from its parent's checkpoint, as the promotion would have.
        parent = lineage_parent(record)
        parent_record = None if parent is None else self.storage.get_trial(self.study_id, parent)
        return TrialHandle(self, record, parent_record)

    def enqueue(self, config: dict[str, Any], budget: float | None = None) -> None:
        """Queue a known config: the next :meth:`ask` that starts a new config returns it.

        The config is validated against the space (conditions included) now. Queued
        configs are asked in order, before the optimizer proposes anything, and each such
        trial records ``user_attrs["enqueued"]`` (the entry's id) and a ``why`` of
        ``{"source": "enqueued"}``. ``budget=None`` lets the scheduler choose the budget;
        under successive halving, Hyperband or ASHA a budget must be one of the
        scheduler's rung budgets (``scheduler.ladder.budgets()``).
        The queue is kept by the storage: any number of Study objects, threads and
        processes sharing it may enqueue and ask at once; no entry is lost, and each is
        asked once.

        Example:
            >>> import metahpo as mh
            >>> study = mh.create_study(space=mh.Space({"x": mh.Float(0, 1)}), seed=0)
            >>> study.enqueue({"x": 0.25})
            >>> study.ask().config
            {'x': 0.25}
        """
        add_to_queue(self.storage, self.study_id, self.space, self.scheduler, config, budget)

    def _choose_config(
        self, record: FrozenTrial, trials: Sequence[FrozenTrial], history: History
    ) -> FrozenTrial:
        # The number is reserved first so that the suggestion can be keyed by it: parallel
        # workers then never draw the same point, and a replay draws the same ones.
        if trials and trials[-1].number >= record.number:
            # Numbers only grow, so trials read before the reservation all come before it;
            # this is only for a storage that breaks that rule.
            history = self.history([t for t in trials if t.number < record.number])
        return propose_config(
            record, keyed_history(history, record.number),
            storage=self.storage, study_id=self.study_id, space=self.space,
            optimizer=self.optimizer, initial_state=self._record.optimizer.get("state") or {},
            lock=self._suggest_lock,
            configured=lambda: self._trial_cache.read_with_configured()[1],
            history_of=self._history_of,
        )

    def _owns(self, handle: TrialHandle) -> bool:
        """Whether ``handle`` is a trial of this study (asked through any of its openings)."""
        other = handle._study  # the handle's owner (within this package)
        return other.study_id == self.study_id and storage_key(other.storage) == storage_key(self.storage)

    def tell(
        self,
        trial: TrialHandle | FrozenTrial | int,
        value: float | None = None,
        state: TrialState | str | None = None,
        error: str | None = None,
    ) -> FrozenTrial:
        """Finish a trial: ``tell(t, 0.12)`` or ``tell(t, state="FAILED")``.

        Args:
            trial: the handle from :meth:`ask`, a trial record or a trial number.
            value: the objective value; required for COMPLETE, optional for PRUNED
                (the last reported value is used when omitted).
            state: COMPLETE (the default when a value is given), PRUNED or FAILED.
            error: the error text (a str) stored with a FAILED trial; refused with any
                other state, as a value is refused with FAILED.
        """
        number = trial if isinstance(trial, int) else getattr(trial, "number", None)
        if isinstance(number, bool) or not isinstance(number, int):
            raise InvalidParameterError(
                f"The 'trial' parameter of tell must be a trial handle, record or number. Got {describe(trial)} instead."
            )
        if isinstance(trial, TrialHandle) and not self._owns(trial):
            raise InvalidParameterError(
                f"The 'trial' parameter of tell must be a handle this study asked for. Got trial "
                f"{number} of another study instead; tell the study that asked for it."
            )
        return finish_told_trial(self.storage, self.study_id, number, state, value, error)

    # The loop ----------------------------------------------------------------------------
    def optimize(
        self,
        objective: Objective,
        n_trials: int | None = None,
        timeout: float | None = None,
        n_jobs: int = 1,
        catch: Sequence[type[BaseException]] | type[BaseException] = (Exception,),
        callbacks: Sequence[Callable[[Study, FrozenTrial], None]] | None = None,
        show_progress: bool | None = None,
        executor: Any = None,
        retries: int = 0,
    ) -> None:
        """Evaluate ``objective`` on ``n_trials`` trials (or until ``timeout`` seconds).

        A trial whose objective raises one of ``catch`` (every ``Exception`` by default)
        is FAILED with its traceback stored, and the study goes on; pass ``catch=()`` to
        stop at the first error instead. ``TrialPruned`` marks the trial PRUNED.
        ``n_jobs`` threads evaluate in parallel; ``executor`` takes a Dask client.
        ``retries`` runs a trial whose process died (heartbeat stopped) again with the
        same config, at most that many times (see :meth:`ask`); a retry counts as one of
        the ``n_trials``.
        """
        from metahpo.study._optimize import run_optimize

        run_optimize(self, objective, n_trials, timeout, n_jobs, catch, callbacks,
                     show_progress, executor, check_retries(retries, "optimize"))

    def converged(self) -> bool:
        """Whether the optimizer says the study has converged (e.g. ``MetaBO(plateau_patience=)``)."""
        hook = getattr(self.optimizer, "converged", None)
        if hook is None or getattr(type(self.optimizer), "converged", None) is BaseOptimizer.converged:
            return False  # The default never stops: skip reading the history.
        return bool(hook(self.history()))

    def finish(self) -> dict[str, Any] | None:
        """Let the optimizer learn from the study now that it is done.

        ``optimize`` does not call this: a study may be continued, and the learning costs
        a continual update (a second or two; a meta-training, below, tens of seconds), once
        per study rather than once per call.
        Call it when the study is done — ``metahpo tune`` does when its trial budget ends.
        Without it, the next MetaBO study that reads this one from the storage learns from
        it before its first model-based suggestion. An optimizer that keeps knowledge
        across studies (MetaBO) fine-tunes its meta-model on this study's task, keeping the
        new version only if it does not make predictions worse; the summary it returns
        (``kept``, and the meta-test losses before and after) is stored in the study's
        ``user_attrs["knowledge_update"]``. When this study brings the knowledge to what
        MetaBO needs, or doubles it, the meta-model is trained anew instead, so that the
        next study starts with it; a study ``"auto"`` ran with GP-BO for want of knowledge
        does this too (when its knowledge has a spec: not built in memory). That needs the
        study to count as a task of the knowledge the next study opens: its storage among
        the knowledge's sources. A study with fewer than 5 COMPLETE trials (not a task)
        teaches nothing. Whatever the optimizer learns, the study is recorded as finished
        in ``user_attrs["study_finished"]`` (when, and its number of ended trials); the
        dashboard calls it finished until another trial ends (one running now included).
        Calling it again does nothing new.

        Example:
            >>> import metahpo as mh
            >>> study = mh.create_study(space=mh.Space({"x": mh.Float(0, 1)}), optimizer="random")
            >>> for _ in range(5):
            ...     trial = study.ask()
            ...     _ = study.tell(trial, trial.config["x"] ** 2)
            >>> study.finish() is None   # random search learns nothing across studies
            True
        """
        return finish_study(self)

    def run_trial(
        self, objective: Objective, catch: tuple[type[BaseException], ...], retries: int = 0,
        dispatch: str | None = None,
    ) -> FrozenTrial:
        """Ask, evaluate and tell one trial; errors in ``catch`` become a FAILED trial.

        ``dispatch`` names the unit of work that asks (a Dask task); it is stored with the
        trial, so that the same unit run again (Dask recomputes the results a lost worker
        held) returns that trial instead of starting another.
        """
        return run_trial(self, objective, catch, retries, dispatch)

    # Tables ------------------------------------------------------------------------------
    def trials_dataframe(self) -> pd.DataFrame:
        """One row per evaluation: number, state, value, budget, bracket, rung, parent (the
        trial it continues, also for a retried promotion), times, error, ``config_<name>``
        columns and ``user_attrs_<key>`` columns."""
        return trials_dataframe(self.trials, self.space)

    def __repr__(self) -> str:
        return f"Study(name={self.name!r}, direction={self.direction!r}, optimizer={self.optimizer!r})"
