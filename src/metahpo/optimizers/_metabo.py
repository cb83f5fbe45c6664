"""MetaBO: warm start from similar tasks, then a meta-learned surrogate adapted to this one."""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from metahpo._validation import check_finite_number, check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.history import History
from metahpo.optimizers._base import Suggestion
from metahpo.optimizers._gp import GPBO
from metahpo.optimizers._portfolio import Portfolio
from metahpo.space import Config
from metahpo.surrogates._threads import torch_threads

if TYPE_CHECKING:
    from metahpo.knowledge import KnowledgeBase
    from metahpo.knowledge._meta_training import MetaModel

__all__ = ["MetaBO"]

logger = logging.getLogger(__name__)

MIN_RELATED_TASKS = 3
# Meta-models by knowledge key, shared by the optimizers of a process (meta-training runs
# once per knowledge base, space and budget range; the store keeps them across processes).
_MODELS: dict[str, MetaModel] = {}
_MODELS_LOCK = threading.Lock()


class MetaBO(GPBO):
    """Meta-learned Bayesian optimisation: portfolio → adapted deep-kernel GP → proximal acquisition.

    1. **Warm start.** The first ``n_warm_start`` configs are a greedy portfolio chosen on
       the knowledge-base tasks most related to this study (its descriptor, when given
       through ``create_study(task=...)``), as :class:`Portfolio` does.
    2. **Surrogate.** A deep-kernel GP meta-trained with MAML across the knowledge base's
       tasks (cached; see :func:`~metahpo.knowledge.meta_train`) is adapted to the
       study's observations in ``adapt_steps`` gradient steps, then conditioned on them.
    3. **Acquisition.** Log expected improvement at the target budget, minimised by the
       proximal-gradient optimiser with a trust region around the incumbent, as in
       :class:`GPBO`; the budget is a surrogate input, so any scheduler composes.
    4. **Update.** When ``optimize`` ends, the study's task fine-tunes the meta-parameters
       with replay of stored tasks, saved as a new version (``continual_steps=0`` turns
       this off).

    With fewer than three related tasks it is :class:`GPBO`. Each suggestion records why
    it was made: the portfolio's source tasks, or the number of observations the surrogate
    adapted on and the three most similar tasks with their similarity.

    Args:
        knowledge: a :class:`~metahpo.knowledge.KnowledgeBase` or a spec
            (``"bundled:keel-hgb"``, a storage URL, a directory, a list of these); without
            one, the study context's knowledge is used.
        n_warm_start: portfolio configs before the surrogate takes over.
        k_nearest: tasks the portfolio is chosen on (``None``: the nearest task's cluster).
        adapt_steps: inner-loop steps on the study's observations at each suggestion
            (0 uses the meta-trained parameters as they are).
        validate_adaptation: keep the step count (0 to ``adapt_steps``) whose parameters
            predict the observations best in leave-one-out, rather than always all steps.
        task_gp: from d + 1 observations on, also fit GPBO's plain GP on the study's own
            observations and use whichever model has the better leave-one-out likelihood
            of them (in loss units), so knowledge that does not transfer cannot hold the
            search back.
        meta_steps: outer steps of the initial meta-training (at most, with ``meta_validation``).
        meta_validation: share of the knowledge's tasks held out to choose how many
            meta-steps to train (then trained on all tasks); 0 trains ``meta_steps``.
        inner_steps: inner-loop steps during meta-training (0: no MAML inner loop).
        task_transform: how each knowledge task's losses are warped for meta-training:
            ``"rank"`` (rank-Gaussian within the task) or ``"standardize"`` (see
            :class:`~metahpo.knowledge.MetaTrainingConfig`).
        trend: meta-train a trend head whose rank-one kernel term carries where configs are
            good on most tasks (see :class:`~metahpo.knowledge.MetaTrainingConfig`).
        continual_steps: fine-tuning steps when a study ends.
        plateau_patience: stop ``optimize`` early after this many full-budget trials without
            improvement (``None``: never).
        acquisition: as for :class:`GPBO`.
        output_transform: how losses are scaled for the surrogate; ``"auto"`` fits it on
            standardised and on log losses and keeps the one with the higher
            leave-one-out likelihood of the losses (a few diverged configs otherwise
            flatten the model).
        trust_region: as for :class:`GPBO`, off by default: the meta-learned surrogate
            carries a prior over the whole space, and a trust region around an incumbent
            chosen among a few portfolio configs would keep the search where the
            portfolio already looked (on lcbench, mean regret at 10 evaluations 0.053
            without against 0.061 with; ``benchmarks/results/metabo_lcbench_variants``).
        store: the folder of versioned meta-models when the knowledge spec names no storage
            (default ``$METAHPO_HOME/meta``); with a storage URL in the spec they are
            versioned in that storage, shared by everyone who uses it.

    Example:
        >>> import metahpo as mh
        >>> from metahpo.testing.synthetic import ShiftedBranin
        >>> family = ShiftedBranin(n_tasks=6, seed=0)
        >>> kb = mh.KnowledgeBase()
        >>> design = family.space.sobol(64, seed=0)
        >>> for task in family.tasks[1:]:
        ...     _ = kb.add_task(family.space, design, [family.evaluate(task, c) for c in design], name=task)
        >>> optimizer = mh.MetaBO(kb, meta_steps=50, continual_steps=0)
        >>> study = mh.create_study(space=family.space, optimizer=optimizer, seed=0)
        >>> study.optimize(lambda t: family.evaluate(family.tasks[0], t.config), n_trials=8,
        ...                show_progress=False)
        >>> study.trials[0].user_attrs["why"]["source"]
        'portfolio'
    """

    name: ClassVar[str] = "metabo"

    def __init__(
        self,
        knowledge: KnowledgeBase | str | Sequence[str] | None = None,
        n_warm_start: int = 3,
        k_nearest: int | None = None,
        adapt_steps: int = 3,
        validate_adaptation: bool = True,
        task_gp: bool = False,
        meta_steps: int = 2000,
        meta_validation: float = 0.0,
        inner_steps: int = 1,
        task_transform: str = "rank",
        trend: bool = True,
        continual_steps: int = 60,
        plateau_patience: int | None = None,
        acquisition: str = "logei",
        trust_region: bool = False,
        output_transform: str = "auto",
        store: str | None = None,
    ) -> None:
        # GPBO.n_initial sizes the Sobol design of the no-knowledge fallback (d + 1 when None).
        super().__init__(n_initial=n_warm_start or None, acquisition=acquisition, trust_region=trust_region,
                         output_transform=output_transform)
        self.knowledge = knowledge
        self.n_warm_start = n_warm_start
        self.k_nearest = k_nearest
        self.adapt_steps = adapt_steps
        self.validate_adaptation = validate_adaptation
        self.task_gp = task_gp
        self.trend = trend
        for name in ("validate_adaptation", "task_gp", "trend"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidParameterError(
                    f"The '{name}' parameter of MetaBO must be a bool. "
                    f"Got {describe(getattr(self, name))} instead."
                )
        self._model_used = "meta-learned"
        self._transform_used = ""
        self.meta_steps = meta_steps
        self.meta_validation = check_finite_number(meta_validation, "meta_validation", "MetaBO")
        if not 0.0 <= self.meta_validation < 1.0:
            raise InvalidParameterError(
                "The 'meta_validation' parameter of MetaBO must be in [0, 1). "
                f"Got {meta_validation!r} instead."
            )
        self.inner_steps = inner_steps
        from metahpo.knowledge._meta_training import check_task_transform

        self.task_transform = check_task_transform(task_transform, "MetaBO")
        self.continual_steps = continual_steps
        self.plateau_patience = plateau_patience
        self.store = store
        for name in ("adapt_steps", "meta_steps", "inner_steps", "continual_steps"):
            check_int(getattr(self, name), name, "MetaBO", minimum=0)
        if plateau_patience is not None:
            check_int(plateau_patience, "plateau_patience", "MetaBO", minimum=1)
        # The portfolio object also resolves the knowledge, so it exists even without a warm start.
        self._portfolio = Portfolio(knowledge, size=max(n_warm_start, 1), k_nearest=k_nearest)

    def get_params(self) -> dict[str, Any]:
        params = super().get_params()
        params["knowledge"] = self._portfolio.get_params()["knowledge"]
        return params

    # Suggest ------------------------------------------------------------------------------
    def suggest(self, history: History, n: int = 1) -> list[Config]:
        return [s.config for s in self.suggest_explained(history, n)]

    def suggest_explained(self, history: History, n: int = 1) -> list[Suggestion]:
        n = check_int(n, "n", "MetaBO.suggest", minimum=1)
        kb, kb_key = self._portfolio.knowledge_for(history)
        tasks = kb.tasks(history.space) if kb is not None else []
        if kb is None or len(tasks) < MIN_RELATED_TASKS:
            why: dict[str, Any] = {"source": "gpbo", "reason": f"{len(tasks)} related tasks (< {MIN_RELATED_TASKS})"}
            return [Suggestion(c, why) for c in GPBO.suggest(self, history, n)]
        _, _, losses = history.observations()
        if history.new_config_count() >= self.n_warm_start and len(losses) < 2:
            # No warm start (n_warm_start=0) and too little to fit on: a Sobol design.
            configs = history.space.sobol(n, seed=history.seed, skip=history.new_config_count())
            return [Suggestion(c, {"source": "sobol"}) for c in configs]
        if history.new_config_count() < self.n_warm_start:
            configs = self._portfolio.suggest(history, n)
            sources = [t.name for t in kb.relevant(history.space, self._target(history), self.k_nearest)][:5]
            return [Suggestion(c, {"source": "portfolio", "tasks": sources}) for c in configs]
        with torch_threads(1):
            self._model = self._meta_model(kb, kb_key, tasks, history)
            configs = self._model_based(history, *history.observations(), n)
        similar = kb.nearest(self._target(history), k=3, space=history.space)
        why = {
            "source": "surrogate",
            "observations": len(losses),
            "adapt_steps": self.adapt_steps,
            "model": self._model_used,
            "transform": self._transform_used,
            "similar_tasks": [[task.name, round(weight, 3)] for task, weight in similar],
        }
        return [Suggestion(c, why) for c in configs]

    def _fit_surrogate(self, history: History, encoding: Any, inputs: np.ndarray, losses: np.ndarray,
                       warm: Any = None, restarts: int = 1) -> Any:
        from metahpo.surrogates import AUTO_CANDIDATES, loo_nll_of_losses

        # Losses with a few diverged configs (a log-loss of 6 among 0.1-0.3) flatten a
        # standardised model; "auto" also fits on log losses and keeps the model whose
        # leave-one-out likelihood of the losses is higher, as GPBO does.
        kinds = AUTO_CANDIDATES if self.output_transform == "auto" else (self.output_transform,)
        fits = [
            self._model.surrogate(self.adapt_steps, kind, validate=self.validate_adaptation).fit(inputs, losses)
            for kind in kinds
        ]
        compare = len(fits) > 1 or self.task_gp
        scored = [(loo_nll_of_losses(m, losses) if compare else 0.0, i) for i, m in enumerate(fits)]
        score, best = min(scored)
        meta = fits[best]
        self._model_used = "meta-learned"
        self._transform_used = meta.transform_.kind
        if not self.task_gp or len(losses) < len(history.space) + 1:
            return meta
        # Where the knowledge does not transfer (an unusual task, or many observations of
        # this one), a GP fitted on the study alone predicts it better: use whichever of
        # the two predicts the observations better when each is left out.
        plain = GPBO._fit_surrogate(self, history, encoding, inputs, losses, warm, restarts)
        if loo_nll_of_losses(plain, losses) < score:
            self._model_used = "task GP"
            return plain
        return meta

    @staticmethod
    def _target(history: History) -> Any:
        from metahpo.knowledge import Task

        return Task.from_history(history, name="__target__")

    # Meta-model ---------------------------------------------------------------------------
    def _encoding(self, history: History) -> Any:
        from metahpo.surrogates import SpaceEncoding

        return SpaceEncoding(history.space, history.min_budget, history.max_budget)

    def _model_key(self, kb: KnowledgeBase, kb_key: Any, history: History) -> str:
        from metahpo.knowledge._meta_store import knowledge_key, spec_identity

        encoding = self._encoding(history)
        # A knowledge base with a spec is identified by it, so later versions (continual
        # updates) of its model are found again; one built in memory by its contents.
        source = spec_identity(kb.spec) if kb.spec is not None else [
            (t.name, t.n_evaluations, float(np.sum(t.losses))) for t in kb
        ]
        return knowledge_key(source, history.space.fingerprint(), history.space.names,
                             encoding.has_budget, history.min_budget, history.max_budget,
                             self.meta_steps, self.inner_steps,
                             *([self.meta_validation] if self.meta_validation else []),
                             *([self.task_transform] if self.task_transform != "standardize" else []),
                             *(["trend"] if self.trend else []))

    def _meta_model(self, kb: KnowledgeBase, kb_key: Any, tasks: list[Any], history: History) -> MetaModel:
        from metahpo.knowledge._meta_store import meta_store_for
        from metahpo.knowledge._meta_training import MetaTrainingConfig, meta_train, tasks_to_data

        key = self._model_key(kb, kb_key, history)
        with _MODELS_LOCK:
            if key in _MODELS:
                return _MODELS[key]
            # Meta-models live beside the knowledge: in its storage when the spec names one
            # (so a team sharing a database shares them), else in the folder store; a
            # knowledge base built in memory keeps them in this process only.
            opened = meta_store_for(kb.spec, self.store) if kb.spec is not None else contextlib.nullcontext()
            with opened as store:
                model = store.latest(key) if store is not None else None
                if model is None:
                    data = tasks_to_data(tasks, self._encoding(history))
                    config = MetaTrainingConfig(meta_steps=self.meta_steps, inner_steps=self.inner_steps,
                                                seed=history.seed % (2**31), validation=self.meta_validation,
                                                task_transform=self.task_transform, trend=self.trend)
                    model = meta_train(data, config)
                    logger.info("Meta-trained the surrogate on %d tasks in %.1f s", len(data),
                                model.info.get("seconds", math.nan))
                    if store is not None:
                        store.save(key, model)
            _MODELS[key] = model
            return model

    # Study end ----------------------------------------------------------------------------
    def on_study_end(self, history: History) -> dict[str, Any] | None:
        """Fine-tune the meta-parameters on this study's task, replaying stored tasks."""
        from metahpo.knowledge._meta_store import meta_store_for
        from metahpo.knowledge._meta_training import continual_update, meta_test_loss, tasks_to_data

        if self.continual_steps == 0 or len(history.complete) < 3:
            return None
        kb, kb_key = self._portfolio.knowledge_for(history)
        if kb is None:
            return None
        tasks = kb.tasks(history.space)
        if len(tasks) < MIN_RELATED_TASKS:
            return None
        encoding = self._encoding(history)
        new = tasks_to_data([self._target(history)], encoding)
        old = tasks_to_data(tasks, encoding)
        rng = np.random.default_rng(history.seed % (2**31))
        probe = [old[i] for i in rng.choice(len(old), size=min(10, len(old)), replace=False)]
        with torch_threads(1):
            model = self._meta_model(kb, kb_key, tasks, history)
            before = meta_test_loss(model, probe, repeats=2)
            updated = continual_update(model, new, old, steps=self.continual_steps)
            after = meta_test_loss(updated, probe, repeats=2)
        key = self._model_key(kb, kb_key, history)
        version = None
        if kb.spec is not None:
            with meta_store_for(kb.spec, self.store) as store:
                version = store.save(key, updated)
        with _MODELS_LOCK:
            _MODELS[key] = updated
        return {
            "meta_model": key,
            "version": version,
            "new_task_evaluations": len(new[0].y) if new else 0,
            "replayed_tasks": len(old),
            "old_tasks_meta_test_loss_before": round(before, 4),
            "old_tasks_meta_test_loss_after": round(after, 4),
        }

    # Plateau ------------------------------------------------------------------------------
    def converged(self, history: History) -> bool:
        """True after ``plateau_patience`` full-budget trials without a new best."""
        if self.plateau_patience is None:
            return False
        top = max(((t.budget or math.inf) for t in history.complete), default=None)
        if top is None:
            return False
        losses = [history.loss(float(t.value)) for t in history.complete if (t.budget or math.inf) == top]  # type: ignore[arg-type]
        if len(losses) <= self.plateau_patience:
            return False
        best_before = min(losses[: -self.plateau_patience])
        return min(losses[-self.plateau_patience :]) >= best_before - 1e-12 * max(1.0, abs(best_before))
