"""The knowledge base: the tasks metahpo can learn from, wherever they are stored."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge._clusters import Clustering
from metahpo.knowledge._descriptors import TASK_TYPES
from metahpo.knowledge._identity import (
    SQL_PREFIXES,
    check_spec,
    spec_identity,
    spec_without_passwords,
)
from metahpo.knowledge._mapping import same_task_type
from metahpo.knowledge._new_tasks import (
    check_new_tasks,
    design_tasks,
    listed_tasks,
    task_from_values,
    told_apart,
)
from metahpo.knowledge._portfolio import greedy_portfolio
from metahpo.knowledge._portfolio_file import read_portfolio_rule
from metahpo.knowledge._similarity import nearest
from metahpo.knowledge._sources import (
    bundled_portfolio_rule,
    check_sources,
    read_bundled,
    read_directory,
)
from metahpo.knowledge._task import MIN_TASK_TRIALS, Task
from metahpo.knowledge._views import SpaceViews, cluster_with, relevant_tasks
from metahpo.space import Config, Space
from metahpo.storage import ArtefactStore, Storage, artefacts_of, get_storage

__all__ = ["KnowledgeBase", "bundled_knowledge"]

logger = logging.getLogger(__name__)


class KnowledgeBase:
    """An in-memory collection of :class:`Task` records with unique names.

    Build one from the finished studies of a storage (:meth:`from_storage`), from
    knowledge directories (:meth:`from_files`), from the bundled
    meta-data (:func:`bundled_knowledge`) or task by task (:meth:`add_task`). Every import
    is validated before anything is added: a malformed file, study or task raises
    :class:`~metahpo.exceptions.InvalidParameterError` naming the row and field, and the
    knowledge base is unchanged.

    :attr:`spec` is a JSON-able description of where the tasks came from
    (``"bundled:keel-hgb"``, a directory, a storage URL, or a list of these), which
    :meth:`open` resolves again — optimizers store it instead of the tasks. It is ``None``
    once tasks were added by hand.

    Tasks are immutable and never removed, so the mapped tasks and loss lookups of each
    target space are kept between calls (adding a task clears them). Reading from several
    threads is safe; add tasks from one thread at a time.

    Example:
        >>> import metahpo as mh
        >>> space = mh.Space({"x": mh.Float(0.0, 1.0)})
        >>> kb = mh.KnowledgeBase()
        >>> xs = [{"x": v / 10} for v in range(11)]
        >>> for i, opt in enumerate([0.3, 0.3, 0.8]):
        ...     _ = kb.add_task(space, xs, [abs(c["x"] - opt) for c in xs], name=f"t{i}")
        >>> len(kb), kb.portfolio(space, size=2)
        (3, [{'x': 0.3}, {'x': 0.8}])
    """

    def __init__(self, tasks: Iterable[Task] = (), spec: str | Sequence[str] | None = None) -> None:
        self._tasks: dict[str, Task] = {}
        self._specs: list[str] | None = check_spec(spec)
        # Tasks are immutable and never removed: mapped tasks and their loss lookups per
        # target space are kept until a task is added.
        self._views = SpaceViews()
        self._artefact_storage: Storage | None = None
        # Per space fingerprint, the k nearest tasks its portfolio is chosen on, as the
        # knowledge directories that hold the space recorded it (see docs/knowledge.md).
        self._portfolio_k: dict[str, int | None] = {}
        # of_task_type: the knowledge of each kind of problem (made once, until a task is
        # added), and for such a part the kind it keeps and the whole it was taken from.
        self._of_type: dict[str, KnowledgeBase] = {}
        self._task_type: str | None = None
        self._whole: KnowledgeBase | None = None
        self._add_all(listed_tasks(tasks, "KnowledgeBase"))

    # Collection ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._tasks)

    def __iter__(self) -> Iterator[Task]:
        return iter(list(self._tasks.values()))

    def __contains__(self, name: object) -> bool:
        return name in self._tasks

    def __getitem__(self, name: str) -> Task:
        try:
            return self._tasks[name]
        except KeyError:
            raise KeyError(f"No task named {name!r} in the knowledge base.") from None

    def __repr__(self) -> str:
        kind = "" if self._task_type is None else f", task_type={self._task_type!r}"
        return f"KnowledgeBase({len(self)} tasks, spec={self.spec!r}{kind})"

    @property
    def names(self) -> list[str]:
        return list(self._tasks)

    @property
    def spec(self) -> str | list[str] | None:
        """Where the tasks came from, for :meth:`open`; ``None`` when not reproducible.

        Storage URLs are given without their password, so that the spec can be stored and
        shown; see :func:`~metahpo.knowledge.spec_with_credentials` for how it is found again.
        """
        if not self._specs:
            return None
        specs = spec_without_passwords(self._specs)
        return specs[0] if len(specs) == 1 else list(specs)

    @property
    def identity(self) -> Any:
        """What identifies these tasks: the spec without credentials (the same in every
        process and for every database role), or for knowledge built in memory a summary
        of its tasks (names, evaluation counts and loss sums)."""
        if self._specs is not None:
            identity = spec_identity(self._specs)
            # The tasks of one kind of problem are not the whole (of_task_type).
            return identity if self._task_type is None else {"knowledge": identity, "task_type": self._task_type}
        return [[t.name, t.n_evaluations, float(np.sum(t.losses))] for t in self]

    def artefacts(self) -> ArtefactStore | None:
        """Where meta-models learned from this knowledge are shared: the artefact store of
        the first storage URL in the spec (opened once and kept), or ``None``."""
        if self._whole is not None:
            return self._whole.artefacts()
        if self._artefact_storage is None:
            url = next((s for s in self._specs or [] if s.startswith(SQL_PREFIXES)), None)
            if url is None:
                return None
            self._artefact_storage = get_storage(url)
        return artefacts_of(self._artefact_storage)

    # Adding -------------------------------------------------------------------------------
    def add(self, tasks: Task | Iterable[Task]) -> None:
        """Add tasks (all or none: names must be new and distinct). Clears :attr:`spec`."""
        self._add_all(listed_tasks(tasks, "KnowledgeBase.add", one=True))
        self._specs = None

    def add_task(
        self,
        space: Space,
        configs: Sequence[Mapping[str, Any]],
        losses: Sequence[float] | Any,
        budgets: Sequence[float] | Any | None = None,
        descriptor: Mapping[str, float] | None = None,
        name: str | None = None,
        source: str = "memory",
    ) -> Task:
        """Validate and add one task; returns it. Errors name the row and the field.

        Args:
            space: the search space of the configs.
            configs: one config per evaluation.
            losses: one finite loss per config (minimised).
            budgets: one budget per config, or ``None`` for full-budget evaluations.
            descriptor: named meta-features (e.g. ``Task.from_data(X, y).descriptor``).
            name: a new name (default ``"task-<n>"``).
            source: provenance recorded on the task.
        """
        task = task_from_values(
            space, configs, losses, budgets, descriptor, name, source, self._tasks
        )
        self.add(task)
        return task

    def add_files(self, path: str | os.PathLike[str]) -> None:
        """Add the tasks of a knowledge directory (all or none)."""
        rule = read_portfolio_rule(path)  # before adding: all or none
        self._add_all(read_directory(path))
        self._portfolio_k.update(rule)
        # Absolute, so the spec resolves from any working directory.
        self._append_spec(os.path.abspath(path))

    def add_storage(
        self, storage: Storage | str, min_trials: int = MIN_TASK_TRIALS, exclude: Sequence[str] = ()
    ) -> None:
        """Add one task per study with at least ``min_trials`` COMPLETE trials (all or none)."""
        from metahpo.knowledge._storage import read_storage_source

        tasks, spec = read_storage_source(storage, min_trials, exclude)
        self._add_all(tasks)
        if spec is not None:
            self._append_spec(spec)
        else:
            self._specs = None

    def add_optuna(
        self,
        storage: Any,
        study_names: Sequence[str] | None = None,
        *,
        min_trials: int = MIN_TASK_TRIALS,
        prefix: str = "",
        descriptors: Mapping[str, Mapping[str, float]] | None = None,
    ) -> None:
        """Add one task per Optuna study (all or none); see :meth:`from_optuna`. Clears :attr:`spec`."""
        from metahpo.knowledge._optuna import read_optuna

        self._add_all(
            read_optuna(
                storage, study_names, min_trials=min_trials, prefix=prefix, descriptors=descriptors
            )
        )
        self._specs = None

    def add_bundled(self, name: str) -> None:
        """Add the bundled meta-data ``name`` (see :func:`bundled_names`)."""
        rule = bundled_portfolio_rule(name)  # before adding: all or none
        self._add_all(read_bundled(name))
        self._portfolio_k.update(rule)
        self._append_spec(f"bundled:{name}")

    def merge(self, other: KnowledgeBase) -> KnowledgeBase:
        """A new knowledge base with the tasks of both (names must not clash)."""
        if not isinstance(other, KnowledgeBase):
            raise InvalidParameterError(
                f"The 'other' parameter of merge must be a KnowledgeBase. Got {describe(other)} instead."
            )
        merged = KnowledgeBase(list(self) + list(other))
        merged._portfolio_k = {**self._portfolio_k, **other._portfolio_k}
        merged._specs = (
            None if self._specs is None or other._specs is None else self._specs + other._specs
        )
        return merged

    def _add_all(self, batch: list[Task]) -> None:
        check_new_tasks(batch, self._tasks)
        for task in batch:
            self._tasks[task.name] = task
        if batch:
            self._views.clear()
        # Every way of adding goes through here, also those that change only the spec or
        # the portfolio rules (a storage with no study to add): a kept part copied both.
        self._of_type.clear()

    def _append_spec(self, spec: str) -> None:
        if self._specs is not None:
            self._specs.append(spec)

    # Views --------------------------------------------------------------------------------
    def tasks(self, space: Space | None = None) -> list[Task]:
        """The tasks with evaluations, mapped onto ``space`` (all tasks as stored when ``None``).

        Tasks of the same space (same fingerprint, any parameter order) come as they are;
        tasks of an overlapping space are projected onto the shared parameters, with the
        others filled in and flagged (see :mod:`metahpo.knowledge._mapping` and
        :attr:`Task.missing`); tasks sharing no parameter are left out. Every kind of
        problem is here: :meth:`of_task_type` leaves out those of another kind than a study's.
        """
        if space is None:
            return list(self._tasks.values())
        if not isinstance(space, Space):
            raise InvalidParameterError(
                f"The 'space' parameter of KnowledgeBase.tasks must be a metahpo Space or None. "
                f"Got {describe(space)} instead."
            )
        return self._views.mapped(self._tasks.values(), space)

    def nearest(
        self, target: Task, k: int | None = None, space: Space | None = None
    ) -> list[tuple[Task, float]]:
        """The ``k`` tasks most similar to ``target`` with their similarity, best first.

        Tasks are mapped onto ``space`` (default ``target.space``); a descriptor-only
        target is compared with every task by descriptor. Tasks of another kind of problem
        than the target's (:attr:`Task.task_type`, when both record one) are left out. See
        :func:`~metahpo.knowledge.nearest`.
        """
        space = space if space is not None else target.space
        if space is None:
            return nearest(target, [t for t in self._same_type(self, target) if t.descriptor], k)
        return self._views.nearest(target, self._same_type(self.tasks(space), target), k, space)

    def clusters(
        self, space: Space | None = None, method: str = "meta", **kwargs: Any
    ) -> Clustering:
        """Cluster the tasks (mapped onto ``space``) on descriptors and response surfaces.

        ``method="meta"`` (the default): meta-clustering, the consensus of many clusterings
        (:func:`~metahpo.knowledge.meta_cluster_tasks`, a second or two for fifty tasks);
        ``"average-linkage"``: one clustering (:func:`~metahpo.knowledge.cluster_tasks`).
        ``kwargs`` go to that function. See ``docs/knowledge.md`` for the choice.
        """
        return cluster_with(self.tasks(space), method, kwargs)

    def relevant(
        self, space: Space, target: Task | None = None, k: int | None = None
    ) -> list[Task]:
        """The tasks to learn from for a new task in ``space``: those of :meth:`tasks`, less
        the tasks of another kind of problem than the target's when both record one.

        Without information to compare the target with the tasks (no descriptor sharing
        a feature with some task's, and fewer than three observations): every mapped
        task. With ``k``: the ``k`` nearest. Otherwise: the cluster of the nearest task in
        ``clusters(space, method="average-linkage")`` (see ``docs/knowledge.md``; the
        portfolio optimizers pass the ``k`` the knowledge records,
        :meth:`portfolio_neighbours`).
        """
        pool = self._same_type(self.tasks(space), target)
        return relevant_tasks(pool, target, k, lambda t: self.nearest(t, k, space))

    def of_task_type(self, task_type: str | None) -> KnowledgeBase:
        """The knowledge a study of ``task_type`` (``"classification"`` or ``"regression"``)
        learns from: without the tasks that record another kind of problem
        (:attr:`Task.task_type`); tasks that record none stay, as they would for a study
        that records none (``task_type=None``: the knowledge itself).

        Knowledge without a task of another kind is returned itself. Otherwise the part is
        made once and kept until a task is added: it has this knowledge's :attr:`spec` and
        artefact store, and an :attr:`identity` that names the kind, so a meta-model learned
        from the part is never taken for one of the whole.

        Example:
            >>> import metahpo as mh
            >>> space = mh.Space({"x": mh.Float(0.0, 1.0)})
            >>> kb = mh.KnowledgeBase()
            >>> for name, n_classes in [("iris", 3.0), ("housing", 0.0), ("mine", None)]:
            ...     descriptor = None if n_classes is None else {"n_classes": n_classes}
            ...     _ = kb.add_task(space, [{"x": 0.5}], [1.0], descriptor=descriptor, name=name)
            >>> kb.of_task_type("regression").names
            ['housing', 'mine']
        """
        if task_type is None:
            return self
        if task_type not in TASK_TYPES:
            raise InvalidParameterError(
                "The 'task_type' parameter of KnowledgeBase.of_task_type must be 'classification', "
                f"'regression' or None. Got {describe(task_type)} instead."
            )
        part = self._of_type.get(task_type)
        if part is None:
            kept = [t for t in self._tasks.values() if same_task_type(t.task_type, task_type)]
            part = self
            if len(kept) < len(self._tasks):
                part = KnowledgeBase(kept)
                part._specs = None if self._specs is None else list(self._specs)
                part._portfolio_k = dict(self._portfolio_k)
                part._task_type = task_type
                part._whole = self._whole or self
            self._of_type[task_type] = part
        return part

    @staticmethod
    def _same_type(tasks: Iterable[Task], target: Task | None) -> list[Task]:
        """``tasks`` less those of another kind of problem than ``target``'s."""
        kind = None if target is None else target.task_type
        return [t for t in tasks if same_task_type(t.task_type, kind)]

    def portfolio_neighbours(self, space: Space) -> int | None:
        """How many nearest tasks the knowledge directories holding ``space`` recorded for
        its portfolio (chosen by :func:`~metahpo.knowledge.choose_portfolio_neighbours`
        when the knowledge was built), or ``None``: the nearest task's cluster. When
        several sources record one for the same space, the last one opened wins; a
        storage records none. The rule stays with the knowledge when tasks join it (a
        user's studies beside a bundle), and :meth:`save` writes it with them."""
        return self._portfolio_k.get(space.fingerprint())

    def portfolio(
        self,
        space: Space,
        size: int = 10,
        target: Task | None = None,
        k: int | None = None,
    ) -> list[Config]:
        """A greedy warm-start portfolio for ``space`` over :meth:`relevant` tasks."""
        return greedy_portfolio(self.relevant(space, target, k), size)

    # Writing ------------------------------------------------------------------------------
    def save(
        self, path: str | os.PathLike[str], provenance: Mapping[str, Any] | None = None
    ) -> Path:
        """Write every task to a knowledge directory that :meth:`from_files` reads back.

        The directory holds ``manifest.json`` (spaces, tasks, descriptors and the JSON
        ``provenance``), one Parquet table of evaluations per search space, and the
        portfolio rules the knowledge records (:meth:`portfolio_neighbours`); see
        :func:`metahpo.knowledge.write_knowledge`. An existing directory is replaced.
        """
        from metahpo.knowledge._files import check_provenance, write_knowledge

        # Checked here too, so that a mistake names this method rather than write_knowledge.
        check_provenance(provenance, "KnowledgeBase.save")
        rules = {fingerprint: {"k_nearest": k} for fingerprint, k in self._portfolio_k.items()}
        return write_knowledge(list(self), path, provenance=provenance, portfolio_rules=rules)

    def to_storage(self, storage: Storage | str) -> list[str]:
        """Store every task with evaluations as a finished study; returns the study names."""
        from metahpo.knowledge._storage import write_storage

        return write_storage(list(self), storage)

    # Constructors -------------------------------------------------------------------------
    @classmethod
    def from_storage(
        cls,
        storage: Storage | str,
        min_trials: int = MIN_TASK_TRIALS,
        exclude: Sequence[str] = (),
    ) -> KnowledgeBase:
        """Every study of ``storage`` with at least ``min_trials`` COMPLETE trials.

        Example:
            >>> import metahpo as mh
            >>> storage = mh.InMemoryStorage()
            >>> study = mh.create_study(name="s", space=mh.Space({"x": mh.Float(0, 1)}),
            ...                         storage=storage, optimizer="random", seed=0)
            >>> study.optimize(lambda t: t.config["x"], n_trials=6, show_progress=False)
            >>> mh.KnowledgeBase.from_storage(storage).names
            ['s']
        """
        kb = cls(spec=[])
        kb.add_storage(storage, min_trials=min_trials, exclude=exclude)
        return kb

    @classmethod
    def from_files(cls, path: str | os.PathLike[str]) -> KnowledgeBase:
        """The tasks of a knowledge directory (:meth:`save`, or a meta-dataset built by
        the benchmark harness, which writes the same format)."""
        kb = cls(spec=[])
        kb.add_files(path)
        return kb

    @classmethod
    def from_optuna(
        cls,
        storage: Any,
        study_names: Sequence[str] | None = None,
        *,
        min_trials: int = MIN_TASK_TRIALS,
        prefix: str = "",
        descriptors: Mapping[str, Mapping[str, float]] | None = None,
    ) -> KnowledgeBase:
        """One task per study of an Optuna storage URL, Optuna storage or ``optuna.Study``.

        Float, int (log or not) and categorical distributions become ``Float``, ``Int`` and
        ``Categorical`` (a ``step`` is not kept); a study's parameters are those every
        usable trial suggested. COMPLETE trials are evaluations (negated for
        ``maximize``); with intermediate values, budgets are ``step + 1`` and a PRUNED
        trial's intermediate values are lower-budget evaluations. FAIL, RUNNING and WAITING
        trials are skipped, and so are (with a warning) multi-objective studies and those
        with fewer than ``min_trials`` usable trials, unless named in ``study_names``
        (then they are an error). The source is ``optuna:<URL, password masked>:<study>``.
        Needs ``pip install 'metahpo[optuna]'``. See ``docs/knowledge-sources.md``.

        Args:
            storage: ``"sqlite:///optuna.db"`` (or any Optuna RDB URL; a missing SQLite file
                is an error, never created), an Optuna storage, or an ``optuna.Study``.
            study_names: the studies to import (default: every study of the storage).
            min_trials: the fewest usable trials (COMPLETE, or PRUNED with intermediate
                values) a study needs.
            prefix: put before each study name to make the task name.
            descriptors: ``{study name: {feature: number}}``; by default a study's
                ``user_attrs["task"]`` or ``user_attrs["descriptor"]`` when valid. An
                invalid one is an error, naming its study.
        """
        kb = cls()
        kb.add_optuna(
            storage, study_names, min_trials=min_trials, prefix=prefix, descriptors=descriptors
        )
        return kb

    @classmethod
    def from_design(
        cls,
        space: Space,
        configs: Sequence[Mapping[str, Any]],
        losses: Mapping[str, Sequence[float]],
        descriptors: Mapping[str, Mapping[str, float]] | None = None,
        source: str = "memory",
        fidelities: Mapping[str, Mapping[float, Sequence[float]]] | None = None,
        max_budget: float | None = None,
    ) -> KnowledgeBase:
        """One task per key of ``losses``, each evaluating the same ``configs`` at full budget.

        ``fidelities`` adds, per task and lower budget, the same configs' losses there;
        the full-budget rows of such a task then carry ``max_budget`` (default 1.0).
        """
        return cls(
            design_tasks(space, configs, losses, descriptors, source, fidelities, max_budget)
        )

    def reopened(self) -> KnowledgeBase:
        """The knowledge as opening its spec finds it now (studies finished in its storage
        since included), of the same kind of problem (:meth:`of_task_type`); itself when it
        was built in memory."""
        if not self._specs:
            return self
        return type(self).open(list(self._specs)).of_task_type(self._task_type)

    @classmethod
    def open(cls, spec: str | Sequence[str]) -> KnowledgeBase:
        """Resolve a spec: ``"bundled:NAME"``, a storage URL, a directory, or a list of these.

        Example:
            >>> import metahpo as mh
            >>> kb = mh.KnowledgeBase.open("sqlite:///:memory:")
            >>> len(kb), kb.spec
            (0, 'sqlite:///:memory:')
        """
        specs = check_sources(spec)  # every source exists before any is read
        kb = cls(spec=[])
        for item in specs or []:
            part = cls(spec=[])
            if item.startswith("bundled:"):
                part.add_bundled(item[len("bundled:") :])
            elif item.startswith(SQL_PREFIXES):
                part.add_storage(item)
            else:  # a knowledge directory, "file:" before it or not
                part.add_files(item.removeprefix("file:"))
            if part._specs and kb._specs is not None and set(part._specs) <= set(kb._specs):
                continue  # the same source named twice ("kb", "./kb"): its tasks count once
            kb._add_all(told_apart(part, kb))
            kb._portfolio_k.update(part._portfolio_k)
            for resolved in part._specs or []:
                kb._append_spec(resolved)
        return kb


def bundled_knowledge(name: str) -> KnowledgeBase:
    """The bundled meta-data ``name`` as a knowledge base (spec ``"bundled:NAME"``).

    Example:
        >>> import metahpo as mh
        >>> kb = mh.bundled_knowledge("keel-hgb")  # doctest: +SKIP
    """
    kb = KnowledgeBase(spec=[])
    kb.add_bundled(name)
    return kb
