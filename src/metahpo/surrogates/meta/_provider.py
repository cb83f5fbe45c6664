"""The one interface MetaBO uses: the meta-learned surrogate for a knowledge base and an encoding.

A :class:`MetaModelProvider` finds the meta-model of a knowledge base (in its memory,
then in the knowledge's storage or the folder store), meta-trains it when there is none,
hands out surrogates adapted from it, and fine-tunes it when a study ends.
"""

from __future__ import annotations

import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from metahpo._validation import check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.storage import ArtefactStore
from metahpo.surrogates._encoding import SpaceEncoding
from metahpo.surrogates._threads import torch_threads
from metahpo.surrogates.meta._config import MetaTrainingConfig
from metahpo.surrogates.meta._model import MetaModel
from metahpo.surrogates.meta._store import ArtefactMetaModelStore, MetaModelStore, model_key
from metahpo.surrogates.meta._train import meta_train, tasks_to_data
from metahpo.surrogates.meta._trend import trend_prior
from metahpo.surrogates.meta._update import continual_update, meta_test_loss

__all__ = ["KnowledgeSource", "MetaModelProvider"]

logger = logging.getLogger(__name__)

# How many stored tasks score a continual update (held out of its replay), and how much
# their meta-test loss may rise (relative, absolute) for the update to be kept.
_PROBE_TASKS = 10
_OLD_TASKS_TOLERANCE = (0.01, 0.01)
# Support/query splits per task that the guard's losses average: with 2, the spread of
# (after - anchor) over draws was as large as the tolerance (benchmarks/results/guard_noise/).
_GUARD_SPLITS = 6


class KnowledgeSource(Protocol):
    """What the provider needs of a knowledge base (:class:`~metahpo.knowledge.KnowledgeBase`)."""

    @property
    def identity(self) -> Any:
        """JSON-able; the same in every process for knowledge opened from a spec."""
        ...

    @property
    def spec(self) -> str | list[str] | None: ...

    def tasks(self, space: Any = None) -> list[Any]: ...

    def artefacts(self) -> ArtefactStore | None:
        """Where meta-models of this knowledge are shared (its storage's), or ``None``."""
        ...


class MetaModelProvider:
    """Meta-models by knowledge base and encoding: cached, stored, trained once.

    Where a meta-model is kept: in this provider's memory (the ``cache_size`` most
    recently used, keyed by the knowledge's identity, the space and budget range, and the
    whole training configuration, seed included); in the knowledge's storage when it was
    opened from one (so a team sharing a database shares its meta-models); otherwise, for
    knowledge opened from a spec, in the folder store ``store``. Knowledge built in memory
    (no spec) keeps its meta-models in this provider only.

    Args:
        config: how meta-models are trained; its ``seed`` is the meta-training seed, so
            a meta-model does not depend on which study asked for it first.
        adapt_steps: inner-loop steps on a study's observations at each suggestion (the
            number kept is chosen by leave-one-out, 0 to ``adapt_steps``; a model with
            learned step sizes takes at most its ``inner_steps``).
        store: the folder store's root (default ``$METAHPO_HOME/meta``).
        cache_size: meta-models kept in memory.
        initial: a ready-trained meta-model (a preset's), or several, used instead of
            meta-training when none is cached or stored for the key and one fits the
            encoding: the same input width and, when the model records the budget range
            its budget column was trained on (``info["budget_range"]``, as the presets'
            models and the models this provider trains do), the same range; a model
            that records none is taken on its width. It is then stored as the key's
            first version.

    Example:
        >>> from metahpo.surrogates.meta import MetaModelProvider, MetaTrainingConfig
        >>> provider = MetaModelProvider(MetaTrainingConfig(meta_steps=50), store="/tmp/meta")
        >>> provider.config.meta_steps, provider.adapt_steps
        (50, 3)
    """

    def __init__(
        self,
        config: MetaTrainingConfig | None = None,
        adapt_steps: int = 3,
        store: str | Path | None = None,
        cache_size: int = 4,
        initial: MetaModel | list[MetaModel] | tuple[MetaModel, ...] | None = None,
    ) -> None:
        if config is not None and not isinstance(config, MetaTrainingConfig):
            raise InvalidParameterError(
                "The 'config' parameter of MetaModelProvider must be a MetaTrainingConfig or "
                f"None. Got {describe(config)} instead."
            )
        if store is not None and not isinstance(store, (str, Path)):
            raise InvalidParameterError(
                "The 'store' parameter of MetaModelProvider must be a folder path or None. "
                f"Got {describe(store)} instead."
            )
        self.config = config if config is not None else MetaTrainingConfig()
        self.adapt_steps = check_int(adapt_steps, "adapt_steps", "MetaModelProvider", minimum=0)
        self.store = None if store is None else str(store)
        self.cache_size = check_int(cache_size, "cache_size", "MetaModelProvider", minimum=1)
        if initial is None or isinstance(initial, MetaModel):
            initials = [] if initial is None else [initial]
        elif isinstance(initial, (list, tuple)) and all(isinstance(m, MetaModel) for m in initial):
            initials = list(initial)
        else:
            wrong = next((f" (item {i} is {describe(m)})" for i, m in enumerate(initial) if not isinstance(m, MetaModel)),
                         "") if isinstance(initial, (list, tuple)) else ""
            raise InvalidParameterError(
                "The 'initial' parameter of MetaModelProvider must be a MetaModel, a list or tuple "
                f"of them, or None. Got {describe(initial)} instead{wrong}."
            )
        self.initial = initial
        self._initials = initials
        self._cache: OrderedDict[str, MetaModel] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"MetaModelProvider(adapt_steps={self.adapt_steps}, store={self.store!r})"

    def to_dict(self) -> dict[str, Any]:
        """What a study stores to rebuild the provider: its folder store and whatever it
        sets apart from the defaults (so a reloaded study finds the same meta-model)."""
        # What from_dict makes of a config that sets nothing: a key is left out only when
        # restoring without it gives the same value (options left out of that dict, see
        # MetaTrainingConfig.to_dict, differ from it).
        defaults = MetaTrainingConfig.from_dict({}).to_dict()
        config = {k: v for k, v in self.config.to_dict().items() if k not in defaults or defaults[k] != v}
        return {"store": self.store, "config": config, "adapt_steps": self.adapt_steps}

    @classmethod
    def from_dict(cls, data: Any) -> MetaModelProvider:
        """The provider of :meth:`to_dict`."""
        if not isinstance(data, dict) or not set(data) <= {"store", "config", "adapt_steps"}:
            raise InvalidParameterError(
                "A stored meta-model provider must be a dict with 'store', 'config' and "
                f"'adapt_steps'. Got {describe(data)} instead."
            )
        return cls(MetaTrainingConfig.from_dict(data.get("config", {})), data.get("adapt_steps", 3), data.get("store"))

    # Models -------------------------------------------------------------------------------
    def key(self, knowledge: KnowledgeSource, encoding: SpaceEncoding) -> str:
        """The meta-model's key: knowledge identity, space, budget range, training config."""
        space = encoding.space
        return model_key(
            knowledge.identity, space.fingerprint(), space.names, encoding.has_budget,
            encoding.min_budget, encoding.max_budget, self.config.to_dict(),
        )

    def model(
        self, knowledge: KnowledgeSource, encoding: SpaceEncoding, exclude: Collection[str] = ()
    ) -> MetaModel:
        """The meta-model of ``knowledge`` under ``encoding``: cached, stored, or trained now.

        Meta-training happens once per knowledge base, and again whenever the knowledge has
        doubled since; when it has grown less (studies finished in its storage), the model
        is brought up to date by one continual update on the new tasks (:meth:`update`'s
        guard applies). Either way the result is saved as a new version.
        Tasks named in ``exclude`` (the asking study's own, read back from its storage) never
        count as growth.
        """
        key = self.key(knowledge, encoding)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
            tasks = knowledge.tasks(encoding.space)
            store = self._store_for(knowledge)
            model = self._stored(key, store, tasks, encoding)
            usable = [t for t in tasks if t.name not in exclude]
            if model is None or _training_due(model, len(usable)):
                model, _ = self._train(key, store, usable, encoding)
            if model.config.trend and "trend_prior" not in model.info:
                # Models made before the prior existed (ready-trained ones included); before
                # any update, whose guard scores both models under their priors.
                model = _with_trend_prior(model, tasks_to_data(usable, encoding))
                if store is not None:
                    store.save(key, model)
            seen = set(map(tuple, model.info.get("seen", [])))
            new = [t for t in usable if _signature(t) not in seen]
            if new:
                old = [t for t in tasks if _signature(t) in seen]
                model, summary = self._grow(model, new, old, encoding, seed=len(seen))
                # Studies nobody finished are learned from here, in the next study's
                # suggestion: say so, as finish() would have in its summary.
                logger.info("Continual update on %d task(s) not learned from yet (%s): %s.",
                            len(new), ", ".join(sorted(str(t.name) for t in new)[:5]),
                            "kept" if summary["kept"] else f"discarded, {summary['reason']}")
                if store is not None:
                    store.save(key, model)
            self._remember(key, model)
            return model

    def _stored(
        self, key: str, store: MetaModelStore | ArtefactMetaModelStore | None, tasks: list[Any],
        encoding: SpaceEncoding,
    ) -> MetaModel | None:
        """The latest stored version of ``key``, else the ready-trained model when it fits."""
        model = store.latest(key) if store is not None else None
        if model is not None:
            return model
        ready = next((m for m in self._initials if _fits(m, encoding)), None)
        if ready is None:
            ranges = [m.info["budget_range"] for m in self._initials
                      if m.n_features == encoding.n_features and m.info.get("budget_range") is not None]
            if ranges:
                logger.info("The ready-trained meta-model with a budget column was trained for budgets %s to %s, "
                            "not %s to %s: meta-training once for this range.", *ranges[0],
                            encoding.min_budget, encoding.max_budget)
            return None
        # A ready-trained model covers the bundled tasks it was trained on.
        bundled = [t for t in tasks if str(getattr(t, "source", "")).startswith("bundled:")]
        model = _with_seen(ready, _signatures(bundled), trained_on=len(bundled))
        if store is not None:
            store.save(key, model)
        return model

    def _train(
        self, key: str, store: MetaModelStore | ArtefactMetaModelStore | None, tasks: list[Any],
        encoding: SpaceEncoding,
    ) -> tuple[MetaModel, int | None]:
        """A meta-model trained anew on ``tasks``, and its version when saved as one of ``key``."""
        data = tasks_to_data(tasks, encoding)
        model = _with_seen(meta_train(data, self.config), _signatures(tasks), trained_on=len(tasks))
        if encoding.has_budget:  # what its budget column means (see _fits)
            model = replace(model, info={**model.info, "budget_range": [encoding.min_budget, encoding.max_budget]})
        model = _with_trend_prior(model, data)
        logger.info("Meta-trained the surrogate on %d tasks in %.1f s", len(data),
                    model.info.get("seconds", math.nan))
        return model, store.save(key, model) if store is not None else None

    def surrogate(self, model: MetaModel, output_transform: str) -> Any:
        """A :class:`~metahpo.surrogates.DeepKernelGP` that adapts ``model`` when fitted."""
        return model.surrogate(self.adapt_steps, output_transform, validate=True)

    def update(
        self, knowledge: KnowledgeSource, new_task: Any, encoding: SpaceEncoding, seed: int = 0,
        exclude: Collection[str] = (),
    ) -> dict[str, Any] | None:
        """Fine-tune the meta-model on a finished study's task, replaying stored tasks.

        The new version is kept only if it does not make things worse (see :meth:`_grow`);
        either way it is saved where the knowledge keeps its meta-models, recording that
        the task was considered, and a JSON summary is returned (``None`` when the study
        has too few evaluations). Tasks named in ``exclude`` (the study itself, read back
        from its storage) are not replayed as old tasks: the new task would otherwise be
        both what is learned and what the guard checks is not forgotten.

        When the study is in ``knowledge`` (a task named in ``exclude``) and there is no
        meta-model yet, or the knowledge has doubled since the last meta-training, the
        model is meta-trained anew on every task instead, now rather than in the next
        study's first suggestion; the summary then gives ``meta_trained_on_tasks`` and
        ``meta_training_seconds``.
        """
        if len(tasks_to_data([new_task], encoding)) == 0:
            return None
        key = self.key(knowledge, encoding)
        store = self._store_for(knowledge)
        tasks = knowledge.tasks(encoding.space)
        old = [t for t in tasks if t.name not in exclude]
        joins = len(old) < len(tasks)  # the study, read back: the next study learns from it
        with self._lock:
            model = self._cache.get(key) or self._stored(key, store, tasks, encoding)
            if joins and (model is None or _training_due(model, len(old) + 1)):
                # This study makes the knowledge enough to learn from, or doubles it: the
                # meta-training happens now, at the end of a study, not in the middle of the
                # next study's first model-based suggestion.
                trained, version = self._train(key, store, [*old, new_task], encoding)
                self._remember(key, trained)
                return {"meta_model": key, "version": version, "meta_trained_on_tasks": len(old) + 1,
                        "meta_training_seconds": round(float(trained.info.get("seconds", math.nan)), 1),
                        "kept": True}
        model = self.model(knowledge, encoding, exclude=exclude)
        seen = set(map(tuple, model.info.get("seen", [])))
        if _signature(new_task) in seen:
            return None
        updated, summary = self._grow(model, [new_task], old, encoding, seed)
        if not summary["kept"]:
            logger.info("Discarded the continual update of the meta-model: %s.", summary["reason"])
        version = store.save(key, updated) if store is not None else None
        with self._lock:
            self._remember(key, updated)
        return {"meta_model": key, "version": version, **summary}

    def _grow(
        self, model: MetaModel, new: list[Any], old: list[Any], encoding: SpaceEncoding, seed: int
    ) -> tuple[MetaModel, dict[str, Any]]:
        """The model after a continual update on ``new`` tasks, if it does not make things worse.

        The update is kept only if the meta-test loss of the old tasks (a probe of up to
        ten, at most half of them, held out of the update's replay) is at most their loss
        under the model as last meta-trained plus ``_OLD_TASKS_TOLERANCE`` (1% of it plus
        0.01), and that of the new tasks does not rise at all; otherwise the old parameters
        stay and the reason is logged. Either way the new tasks are recorded as seen, so
        they are not considered again.
        """
        new_data = tasks_to_data(new, encoding)
        # Old tasks by what identifies their evaluations (tasks may share it: all kept).
        old_groups: dict[tuple[int, float], list[Any]] = {}
        for task in old:
            for data in tasks_to_data([task], encoding):
                old_groups.setdefault(_signature(task), []).append(data)
        seen = sorted(set(map(tuple, model.info.get("seen", []))) | set(_signatures(new)))
        evaluations = int(sum(len(t.y) for t in new_data))
        if not new_data or not old_groups:
            nothing = {"new_tasks": len(new), "new_task_evaluations": evaluations,
                       "replayed_tasks": sum(map(len, old_groups.values()))}
            return _with_seen(model, seen), {**nothing, "kept": False, "reason": "nothing to update on"}
        # The probe is held out of the replay, so the old tasks' loss measures whether the
        # update generalises, as it must for the studies to come, not how well it fits
        # tasks it was just trained on (a single old task is both). The probe and its loss
        # are fixed when the model was last meta-trained (its first update chooses them),
        # and every later update is measured against that loss, so kept updates cannot add
        # up past the tolerance on the probe as they could when each was measured against
        # the one before (benchmarks/results/continual_guard_held_out/).
        guard = _guard_of(model, old_groups)
        chosen_now = guard is None
        with torch_threads(1):
            if guard is None:
                signatures = sorted(old_groups)
                rng = np.random.default_rng(seed % (2**31))
                picked = rng.choice(len(signatures), size=_probe_size(len(signatures)), replace=False)
                keys = [signatures[i] for i in sorted(picked)]
                loss = meta_test_loss(model, [data for key in keys for data in old_groups[key]], repeats=_GUARD_SPLITS)
                guard = {"probe": [list(key) for key in keys], "loss": loss, "splits": _GUARD_SPLITS}
            keys = [(int(n), float(total)) for n, total in guard["probe"]]
            probe = [data for key in keys for data in old_groups[key]]
            rescored = guard.get("splits", 2) != _GUARD_SPLITS
            if rescored:
                # Scored on other draws by an earlier version: the same probe (still held
                # out), its loss scored again under the model as it is now.
                guard = {**guard, "loss": meta_test_loss(model, probe, repeats=_GUARD_SPLITS),
                         "splits": _GUARD_SPLITS}
            in_probe = set(keys)
            replayed = [data for key, group in old_groups.items() if key not in in_probe for data in group] or probe
            updated = continual_update(model, new_data, replayed, steps=self.config.continual_steps)
            # Scored as studies would use it: under the trend prior measured for it.
            updated = _with_trend_prior(updated, [*replayed, *new_data])
            anchor = float(guard["loss"])
            old_before = anchor if chosen_now or rescored else meta_test_loss(model, probe, repeats=_GUARD_SPLITS)
            old_after = meta_test_loss(updated, probe, repeats=_GUARD_SPLITS)
            new_before = meta_test_loss(model, new_data, repeats=_GUARD_SPLITS)
            new_after = meta_test_loss(updated, new_data, repeats=_GUARD_SPLITS)
        if chosen_now and "guard" in model.info:
            logger.info("The continual update's guard chose a new probe: a task of the last one is gone or changed.")
        summary: dict[str, Any] = {
            "new_tasks": len(new), "new_task_evaluations": evaluations,
            "replayed_tasks": len(replayed), "probe_tasks": len(probe), "probe_chosen_now": chosen_now,
            "old_tasks_meta_test_loss_anchor": round(anchor, 4),
            "old_tasks_meta_test_loss_before": round(old_before, 4),
            "old_tasks_meta_test_loss_after": round(old_after, 4),
            "new_tasks_meta_test_loss_before": round(new_before, 4),
            "new_tasks_meta_test_loss_after": round(new_after, 4),
        }
        # A probe that cannot be scored is not kept as the anchor of later updates.
        kept_guard = guard if np.isfinite(anchor) else None
        reason = _verdict(anchor, old_after, new_before, new_after)
        if reason is None:
            kept = _with_seen(updated, seen, model.info.get("trained_on"))
            return _with_guard(kept, kept_guard), {**summary, "kept": True}
        return _with_guard(_with_seen(model, seen), kept_guard), {**summary, "kept": False, "reason": reason}

    # Helpers ------------------------------------------------------------------------------
    def _store_for(self, knowledge: KnowledgeSource) -> MetaModelStore | ArtefactMetaModelStore | None:
        if knowledge.spec is None:
            return None  # Built in memory: its identity does not outlive this process.
        artefacts = knowledge.artefacts()
        if artefacts is not None:
            return ArtefactMetaModelStore(artefacts)
        return MetaModelStore(self.store)

    def _remember(self, key: str, model: MetaModel) -> None:
        self._cache[key] = model
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)


def _probe_size(n_old: int) -> int:
    """How many old tasks score an update, held out of its replay: up to ``_PROBE_TASKS``,
    and at most half of them, so that most are still replayed."""
    return max(1, min(_PROBE_TASKS, n_old // 2))


def _guard_of(model: MetaModel, old_groups: dict[tuple[int, float], list[Any]]) -> dict[str, Any] | None:
    """The guard's probe (old tasks' signatures) and its loss under the model as last
    meta-trained; ``None`` when there is none yet, or when a probe task is gone or has
    changed (a study still running when the probe was chosen): a new probe is chosen."""
    guard = model.info.get("guard")
    if not isinstance(guard, dict) or not guard.get("probe") or "loss" not in guard:
        return None
    if any((int(n), float(total)) not in old_groups for n, total in guard["probe"]):
        return None
    return guard


def _verdict(anchor: float, old_after: float, new_before: float, new_after: float) -> str | None:
    """Why an update is discarded, or ``None`` when it is kept: the old tasks' loss must
    stay within ``_OLD_TASKS_TOLERANCE`` of the anchor, and the new tasks' must not rise."""
    relative, absolute = _OLD_TASKS_TOLERANCE
    if not (np.isfinite(old_after) and old_after <= anchor + relative * abs(anchor) + absolute):
        return (f"the old tasks' meta-test loss would be {old_after:.4f}, above the "
                f"{anchor:.4f} of the model as last meta-trained")
    if not (np.isfinite(new_after) and new_after <= new_before):
        return f"the new tasks' meta-test loss would rise from {new_before:.4f} to {new_after:.4f}"
    return None


def _with_guard(model: MetaModel, guard: dict[str, Any] | None) -> MetaModel:
    info = {k: v for k, v in model.info.items() if k != "guard"}
    return replace(model, info=info if guard is None else {**info, "guard": guard})


def _fits(model: MetaModel, encoding: SpaceEncoding) -> bool:
    """Whether a ready-trained ``model`` reads ``encoding``'s inputs as it was trained to:
    the same space when the model names it (else the same width) and, with a budget
    column, the same budget range (the column is the log budget scaled to the range, so
    another range would shift what it means)."""
    if model.n_features != encoding.n_features:
        return False
    if not reads_space(model, encoding.space):
        return False
    trained_range = model.info.get("budget_range")
    if trained_range is None:  # a model that does not say: its width is all there is to check
        return True
    return encoding.has_budget and [float(b) for b in trained_range] == [
        float(encoding.min_budget), float(encoding.max_budget)  # type: ignore[arg-type]
    ]


def reads_space(model: MetaModel, space: Any) -> bool:
    """Whether a ready-trained ``model`` was trained on ``space`` (the same parameters, in
    the same order, over the same ranges); a model that does not name its space may be."""
    trained = model.info.get("space")
    return trained is None or _encoded(trained) == _encoded(space.to_dict())


def _encoded(space: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """What of a space's description its encoding depends on: the parameters in order,
    without their defaults."""
    return [(name, {k: v for k, v in entry.items() if k != "default"}) for name, entry in space.items()]


def _training_due(model: MetaModel, n_tasks: int) -> bool:
    """Whether to meta-train anew: the knowledge has doubled since the last meta-training
    (a model meta-trained on three tasks is a poor start for thirty, and continual updates
    only refine it; doubling keeps the cost logarithmic)."""
    return n_tasks >= 2 * model.info.get("trained_on", n_tasks)


def _signature(task: Any) -> tuple[int, float]:
    """What identifies a task's evaluations whatever it is called: their number and loss sum
    (a study read back from its storage has the same evaluations as the study's history)."""
    return (int(task.n_evaluations), round(float(np.sum(task.losses)), 6))


def _signatures(tasks: list[Any]) -> list[tuple[int, float]]:
    return sorted({_signature(t) for t in tasks})


def _with_trend_prior(model: MetaModel, data: list[Any]) -> MetaModel:
    """``model`` with the prior mean of its trend's weight, measured on ``data``."""
    mean, std = trend_prior(model, data)
    return replace(model, info={**model.info, "trend_prior": [round(mean, 6), round(std, 6)]})


def _with_seen(model: MetaModel, seen: Any, trained_on: int | None = None) -> MetaModel:
    """``model`` recording the tasks it has learned from or considered (JSON: pairs), and
    after a meta-training how many tasks it was trained on."""
    info = {**model.info, "seen": [list(s) for s in sorted(set(map(tuple, seen)))]}
    if trained_on is not None:
        info["trained_on"] = trained_on
    return replace(model, info=info)
