"""Portfolio: the warm start alone — configs that did well on related tasks, then random draws."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, ClassVar

from metahpo._validation import check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.history import History
from metahpo.optimizers._base import BaseOptimizer, Suggestion
from metahpo.space import Config

if TYPE_CHECKING:
    from metahpo.knowledge import KnowledgeBase

__all__ = ["CLUSTER", "Portfolio", "check_k_nearest", "check_knowledge", "own_tasks"]

#: ``k_nearest`` that always chooses on the nearest task's cluster, whatever the knowledge records.
CLUSTER = "cluster"

logger = logging.getLogger(__name__)

_SALT_RANDOM = 21


class Portfolio(BaseOptimizer):
    """Proposes a greedy warm-start portfolio in order, then random configs.

    The portfolio (:func:`~metahpo.knowledge.greedy_portfolio`) minimises the mean
    normalised regret over the knowledge-base tasks relevant to the study: with a task
    descriptor (``create_study(task=...)``, :attr:`History.descriptor`), the ``k_nearest``
    most similar tasks, or when ``k_nearest`` is ``None`` the number the knowledge
    records for the space (:meth:`KnowledgeBase.portfolio_neighbours
    <metahpo.knowledge.KnowledgeBase.portfolio_neighbours>`), else the cluster of the most
    similar task (:meth:`KnowledgeBase.relevant <metahpo.knowledge.KnowledgeBase.relevant>`);
    without one, every task of the space (tasks of overlapping spaces are mapped). Configs
    already tried are skipped; once the portfolio is used up, each suggestion is a
    uniform random draw keyed like :class:`RandomSearch`'s. The portfolio depends only on
    the knowledge, the space and the descriptor, never on the observed losses, so every
    suggestion is a function of the history. Without knowledge it is random search.

    Args:
        knowledge: the :class:`~metahpo.knowledge.KnowledgeBase` to learn from
            (``create_study(knowledge=...)`` also accepts a spec or URLs and opens them).
            ``get_params`` returns its spec, never the tasks: a knowledge base built in
            memory (spec ``None``) is stored as ``None`` and must be given again to
            ``load_study(..., knowledge=)``.
        size: the number of portfolio configs.
        k_nearest: how many nearest tasks to choose on when a descriptor is known;
            ``None``: the number the knowledge records for the space, else the nearest
            task's cluster; ``"cluster"``: the nearest task's cluster.

    Example:
        >>> import metahpo as mh
        >>> space = mh.Space({"x": mh.Float(0.0, 1.0)})
        >>> kb = mh.KnowledgeBase()
        >>> xs = [{"x": v / 10} for v in range(11)]
        >>> for i in range(3):
        ...     _ = kb.add_task(space, xs, [abs(c["x"] - 0.7) for c in xs], name=f"t{i}")
        >>> study = mh.create_study(space=space, optimizer=mh.Portfolio(kb, size=3), seed=0)
        >>> study.ask().config
        {'x': 0.7}
    """

    name: ClassVar[str] = "portfolio"

    def __init__(
        self,
        knowledge: KnowledgeBase | None = None,
        size: int = 10,
        k_nearest: int | str | None = None,
    ) -> None:
        self.knowledge = knowledge
        self.size = size
        self.k_nearest = k_nearest
        check_knowledge(knowledge, "Portfolio")
        self.size = check_int(self.size, "size", "Portfolio", minimum=1)
        check_k_nearest(k_nearest, "Portfolio")
        self._portfolios: dict[tuple[Any, ...], tuple[list[tuple[Config, list[str]]], int]] = {}

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments, with the knowledge base replaced by its spec (JSON-able)."""
        spec = None if self.knowledge is None else self.knowledge.spec
        return {"knowledge": spec, "size": self.size, "k_nearest": self.k_nearest}

    # Suggest ------------------------------------------------------------------------------
    def suggest(self, history: History, n: int = 1) -> list[Config]:
        return [s.config for s in self.suggest_explained(history, n)]

    def suggest_explained(self, history: History, n: int = 1) -> list[Suggestion]:
        """Suggestions with their reason: ``{"source": "portfolio", "rank", "tasks", "n_tasks",
        "chosen_among"}`` for a portfolio config (its 0-based place; the tasks it was chosen
        for, whose best regret in the portfolio it lowered, most lowered first, at most 10
        named; how many tasks the portfolio was chosen among), ``{"source": "random"}``
        after the portfolio."""
        n = check_int(n, "n", "Portfolio.suggest", minimum=1)
        space = history.space
        tried = _started(history)
        out: list[Suggestion] = []
        portfolio, pool = self._choose(history)
        for rank, (config, tasks) in enumerate(portfolio):
            key = space.config_key(config)
            if key not in tried:
                tried.add(key)
                why = {"source": "portfolio", "rank": rank, "tasks": tasks[:10], "n_tasks": len(tasks),
                       "chosen_among": pool}
                out.append(Suggestion(dict(config), why))
                if len(out) == n:
                    return out
        drawn = space.sample(history.rng(_SALT_RANDOM), n - len(out))
        return out + [Suggestion(c, {"source": "random"}) for c in drawn]

    def portfolio(self, history: History) -> list[Config]:
        """The whole portfolio for the study of ``history`` (cached per space and descriptor).

        A knowledge-base task that is this very study (read back from the storage the
        knowledge comes from: every one of its evaluations is in ``history``) is left
        out, so a study reloaded later chooses the same portfolio.
        """
        return [config for config, _ in self._choose(history)[0]]

    def untried(self, history: History) -> list[Config]:
        """The portfolio's configs that no trial of ``history`` has started (failed and
        pruned ones count as started: they are not offered again)."""
        portfolio = self.portfolio(history)
        tried = _started(history)
        keys = history.space.config_keys(portfolio)
        return [c for c, key in zip(portfolio, keys, strict=True) if key not in tried]

    def _choose(self, history: History) -> tuple[list[tuple[Config, list[str]]], int]:
        """The portfolio, each config with the tasks it was chosen for, and how many tasks
        it was chosen among."""
        from metahpo.knowledge import KnowledgeBase, Task, descriptor_of, greedy_portfolio_sources

        if self.knowledge is None:
            return [], 0
        # A study of a known kind of problem (its preset's, say) chooses among tasks of that kind.
        kb = self.knowledge.of_task_type(history.task_type)
        descriptor = descriptor_of(history.descriptor)
        own = own_tasks(kb, history)
        k = self._neighbours(kb, history)
        key = (
            len(kb),
            history.task_type,
            k,
            history.space.fingerprint(),
            tuple(history.space.names),
            json.dumps(descriptor, sort_keys=True),
            own,
        )
        if key not in self._portfolios:
            target = None if descriptor is None else Task(name="__target__", descriptor=descriptor)
            pool = KnowledgeBase([t for t in kb if t.name not in own]) if own else kb
            chosen = pool.relevant(history.space, target, k)
            self._portfolios[key] = (greedy_portfolio_sources(chosen, self.size), len(chosen))
            logger.debug("Portfolio of %d configs from %d tasks", len(self._portfolios[key][0]), len(chosen))
        return self._portfolios[key]

    def _neighbours(self, kb: KnowledgeBase, history: History) -> int | None:
        """How many nearest tasks to choose on (``None``: the nearest task's cluster)."""
        if self.k_nearest is None:
            return kb.portfolio_neighbours(history.space)
        if isinstance(self.k_nearest, int):
            return self.k_nearest
        return None  # "cluster"


def _started(history: History) -> set[Any]:
    """Keys of every config a trial has started, failed and pruned ones too."""
    return set(history.space.config_keys([t.config for t in history.trials if t.config]))


def check_k_nearest(k_nearest: Any, owner: str) -> None:
    """Refuse anything but an int >= 1, ``"cluster"`` or ``None`` as ``owner``'s ``k_nearest``."""
    if k_nearest is None or k_nearest == CLUSTER:
        return
    if isinstance(k_nearest, bool) or not isinstance(k_nearest, int) or k_nearest < 1:
        raise InvalidParameterError(
            f"The 'k_nearest' parameter of {owner} must be an int >= 1, 'cluster' or None. "
            f"Got {describe(k_nearest)} instead."
        )


def check_knowledge(knowledge: Any, owner: str) -> None:
    """Refuse anything but a KnowledgeBase or ``None`` as ``owner``'s knowledge."""
    from metahpo.knowledge import KnowledgeBase

    if knowledge is not None and not isinstance(knowledge, KnowledgeBase):
        raise InvalidParameterError(
            f"The 'knowledge' parameter of {owner} must be a KnowledgeBase or None; open a spec "
            "with mh.KnowledgeBase.open(spec), or pass it as create_study(knowledge=spec). "
            f"Got {describe(knowledge)} instead."
        )


def own_tasks(kb: KnowledgeBase, history: History) -> tuple[str, ...]:
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
        (key, t.budget, history.loss(float(t.value)))  # type: ignore[arg-type]
        for key, t in zip(history.space.config_keys([t.config for t in done]), done, strict=True)
    }
    own = []
    for task in candidates:
        keys = history.space.config_keys(list(task.configs))
        budgets = [None] * task.n_evaluations if task.budgets is None else list(task.budgets)
        rows = zip(keys, budgets, task.losses, strict=True)
        if all((key, None if b is None else float(b), float(loss)) in seen for key, b, loss in rows):
            own.append(task.name)
    return tuple(own)
