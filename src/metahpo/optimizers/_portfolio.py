"""Portfolio: the warm start alone — configs that did well on related tasks, then random draws."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from metahpo._validation import check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.history import History
from metahpo.optimizers._base import BaseOptimizer, Suggestion
from metahpo.space import Config

if TYPE_CHECKING:
    from metahpo.knowledge import KnowledgeBase

__all__ = ["Portfolio"]

logger = logging.getLogger(__name__)

_KEY_DECIMALS = 9
_SALT_RANDOM = 21


class Portfolio(BaseOptimizer):
    """Proposes a greedy warm-start portfolio in order, then random configs.

    The portfolio (:func:`~metahpo.knowledge.greedy_portfolio`) minimises the mean
    normalised regret over the knowledge-base tasks relevant to the study: with a task
    descriptor in ``history.context["task"]`` (a :class:`~metahpo.knowledge.Task`, its
    ``to_dict()`` or a descriptor dict), the ``k_nearest`` most similar tasks, or the
    cluster of the most similar one when ``k_nearest`` is ``None``
    (:meth:`KnowledgeBase.relevant <metahpo.knowledge.KnowledgeBase.relevant>`);
    without one, every task of the space (tasks of overlapping spaces are mapped). Configs
    already tried are skipped; once the portfolio is used up, each suggestion is a
    uniform random draw keyed like :class:`RandomSearch`'s. The portfolio depends only on
    the knowledge, the space and the descriptor, never on the observed losses, so every
    suggestion is a function of the history.

    Where the knowledge comes from, first match wins: the ``knowledge`` argument; the
    study context's ``"knowledge"`` (a knowledge base or a spec); the context's
    ``"meta_train"`` (an object with ``configs`` and a ``losses`` mapping of task name to
    one loss per config, as the benchmark runner provides). Without any, it is random
    search.

    Args:
        knowledge: a :class:`~metahpo.knowledge.KnowledgeBase`, or a spec that
            :meth:`KnowledgeBase.open <metahpo.knowledge.KnowledgeBase.open>` resolves
            (``"bundled:keel-hgb"``, a storage URL, a directory, or a list of these).
            ``get_params`` returns the spec, never the tasks: a knowledge base built in
            memory (spec ``None``) is stored as ``None``, so a study reloaded in another
            process falls back to the context's knowledge.
        size: the number of portfolio configs.
        k_nearest: how many nearest tasks to choose on when a descriptor is known
            (``None``: the nearest task's cluster).

    Example:
        >>> import metahpo as mh
        >>> space = mh.Space({"x": mh.Float(0.0, 1.0)})
        >>> kb = mh.KnowledgeBase()
        >>> xs = [{"x": v / 10} for v in range(11)]
        >>> for i in range(3):
        ...     _ = kb.add_task(space, xs, [abs(c["x"] - 0.7) for c in xs], name=f"t{i}")
        >>> study = mh.create_study(space=space, optimizer=mh.optimizers.Portfolio(kb, size=3), seed=0)
        >>> study.ask().config
        {'x': 0.7}
    """

    name: ClassVar[str] = "portfolio"

    def __init__(
        self,
        knowledge: KnowledgeBase | str | Sequence[str] | None = None,
        size: int = 10,
        k_nearest: int | None = None,
    ) -> None:
        self.knowledge = knowledge
        self.size = size
        self.k_nearest = k_nearest
        self._check_params()
        self._opened: dict[Any, KnowledgeBase] = {}
        self._portfolios: dict[tuple[Any, ...], list[Config]] = {}
        self._chosen_on: dict[tuple[Any, ...], list[str]] = {}

    def _check_params(self) -> None:
        from metahpo.knowledge import KnowledgeBase

        knowledge = self.knowledge
        ok = (
            knowledge is None
            or isinstance(knowledge, (KnowledgeBase, str))
            or (isinstance(knowledge, Sequence) and all(isinstance(s, str) for s in knowledge))
        )
        if not ok:
            raise InvalidParameterError(
                "The 'knowledge' parameter of Portfolio must be a KnowledgeBase, a knowledge spec "
                f"(e.g. 'bundled:keel-hgb' or a storage URL), a list of specs or None. Got {describe(knowledge)} instead."
            )
        check_int(self.size, "size", "Portfolio", minimum=1)
        if self.k_nearest is not None:
            check_int(self.k_nearest, "k_nearest", "Portfolio", minimum=1)

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments, with a knowledge base replaced by its spec (JSON-able)."""
        from metahpo.knowledge import KnowledgeBase

        knowledge = self.knowledge
        if isinstance(knowledge, KnowledgeBase):
            knowledge = knowledge.spec
        elif knowledge is not None and not isinstance(knowledge, str):
            knowledge = list(knowledge)
        return {"knowledge": knowledge, "size": self.size, "k_nearest": self.k_nearest}

    # Suggest ------------------------------------------------------------------------------
    def suggest(self, history: History, n: int = 1) -> list[Config]:
        return [s.config for s in self.suggest_explained(history, n)]

    def suggest_explained(self, history: History, n: int = 1) -> list[Suggestion]:
        """Suggestions with their reason: ``{"source": "portfolio", "rank", "tasks", "n_tasks"}``
        for a portfolio config (its 0-based place and the tasks it was chosen on, at most 10
        named), ``{"source": "random"}`` after the portfolio."""
        n = check_int(n, "n", "Portfolio.suggest", minimum=1)
        space = history.space
        # Every config already started counts, failed and pruned ones too.
        started = [t.config for t in history.trials if t.config]
        tried = {_key(row) for row in space.to_unit(started)} if started else set()
        out: list[Suggestion] = []
        configs, tasks = self._choose(history)
        for rank, config in enumerate(configs):
            key = _key(space.to_unit([config])[0])
            if key not in tried:
                tried.add(key)
                why = {
                    "source": "portfolio",
                    "rank": rank,
                    "tasks": tasks[:10],
                    "n_tasks": len(tasks),
                }
                out.append(Suggestion(dict(config), why))
                if len(out) == n:
                    return out
        drawn = space.sample(history.rng(_SALT_RANDOM), n - len(out))
        return out + [Suggestion(c, {"source": "random"}) for c in drawn]

    def portfolio(self, history: History) -> list[Config]:
        """The whole portfolio for the study of ``history`` (cached per knowledge, space and descriptor).

        A knowledge-base task that is this very study (read back from the storage the
        knowledge comes from: every one of its evaluations is in ``history``) is left
        out, so a study reloaded later chooses the same portfolio.
        """
        return self._choose(history)[0]

    def _choose(self, history: History) -> tuple[list[Config], list[str]]:
        """The portfolio and the names of the tasks it was chosen on."""
        from metahpo.knowledge import KnowledgeBase, Task, descriptor_of, greedy_portfolio

        kb, kb_key = self.knowledge_for(history)
        if kb is None:
            return [], []
        descriptor = descriptor_of(history.context.get("task"))
        own = _own_tasks(kb, history)
        key = (
            kb_key,
            history.space.fingerprint(),
            tuple(history.space.names),
            json.dumps(descriptor, sort_keys=True),
            own,
        )
        if key not in self._portfolios:
            target = None if descriptor is None else Task(name="__target__", descriptor=descriptor)
            if own:
                kb = KnowledgeBase([t for t in kb if t.name not in own])
            chosen = kb.relevant(history.space, target, self.k_nearest)
            self._chosen_on[key] = [t.name for t in chosen]
            self._portfolios[key] = greedy_portfolio(chosen, self.size)
            logger.debug(
                "Portfolio of %d configs from %d tasks", len(self._portfolios[key]), len(chosen)
            )
        return self._portfolios[key], self._chosen_on[key]

    def knowledge_for(self, history: History) -> tuple[KnowledgeBase | None, Any]:
        """The knowledge base this optimizer uses for ``history``, and a hashable key of it.

        The key is ``("spec", <json>)`` for a knowledge base opened from a spec (stable
        across processes) and ``("object", id, ...)`` for one given as an object; the
        knowledge base is ``None`` when there is none (see the class docstring).
        """
        from metahpo.knowledge import KnowledgeBase

        for source in (
            self.knowledge,
            history.context.get("knowledge"),
            history.context.get("meta_train"),
        ):
            if source is None:
                continue
            if isinstance(source, KnowledgeBase):
                return source, ("object", id(source), len(source))
            key = (
                ("spec", json.dumps(source))
                if isinstance(source, (str, list, tuple))
                else ("object", id(source))
            )
            if key not in self._opened:
                self._opened[key] = self._resolve(source, history)
            return self._opened[key], key
        logger.info(
            "Portfolio has no knowledge (no 'knowledge' argument or study context): random search."
        )
        return None, None

    # Kept for callers written against the earlier private name.
    _knowledge_for = knowledge_for

    @staticmethod
    def _resolve(source: Any, history: History) -> KnowledgeBase:
        from metahpo.knowledge import KnowledgeBase

        if isinstance(source, (str, list, tuple)):
            return KnowledgeBase.open(source)
        configs, losses = getattr(source, "configs", None), getattr(source, "losses", None)
        if configs is None or losses is None:
            raise InvalidParameterError(
                "The study context's 'meta_train' must have 'configs' and a 'losses' mapping of task "
                f"name to losses. Got {describe(source)} instead."
            )
        return KnowledgeBase.from_design(
            history.space, list(configs), dict(losses), source="meta_train",
            fidelities=getattr(source, "fidelities", None), max_budget=history.max_budget,
        )


def _own_tasks(kb: KnowledgeBase, history: History) -> tuple[str, ...]:
    """Names of the tasks read from a study whose every evaluation is one of ``history``'s."""
    fingerprint = history.space.fingerprint()
    candidates = [
        t
        for t in kb
        if t.source.startswith("study:")
        and t.space is not None
        and t.space.fingerprint() == fingerprint
        and 0 < t.n_evaluations <= len(history.complete)
    ]
    if not candidates:
        return ()
    done = history.complete
    seen = {
        (_key(row), t.budget, history.loss(float(t.value)))  # type: ignore[arg-type]
        for row, t in zip(history.space.to_unit([t.config for t in done]), done, strict=True)
    }
    own = []
    for task in candidates:
        unit = history.space.to_unit(list(task.configs))
        budgets = [None] * task.n_evaluations if task.budgets is None else list(task.budgets)
        rows = zip(unit, budgets, task.losses, strict=True)
        if all(
            (_key(row), None if b is None else float(b), float(loss)) in seen
            for row, b, loss in rows
        ):
            own.append(task.name)
    return tuple(own)


def _key(row: np.ndarray) -> tuple[float, ...]:
    return tuple(np.round(row, _KEY_DECIMALS))
