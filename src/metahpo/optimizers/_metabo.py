"""MetaBO: warm start from similar tasks, then a meta-learned surrogate adapted to this one."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from metahpo._validation import check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.history import History
from metahpo.knowledge import MIN_TASK_TRIALS, descriptor_of, task_type_of
from metahpo.optimizers._base import MIN_RELATED_TASKS, BaseOptimizer, Suggestion
from metahpo.optimizers._bo import (
    ACQUISITIONS,
    GPFitState,
    fit_exact_gp,
    propose,
    replay_trust_radius,
    state_from_dict,
)
from metahpo.optimizers._gp import GPBO
from metahpo.optimizers._portfolio import Portfolio, check_k_nearest, check_knowledge, own_tasks
from metahpo.space import Config
from metahpo.surrogates import (
    AUTO_CANDIDATES,
    SpaceEncoding,
    loo_nll_of_losses,
    torch_threads,
)

if TYPE_CHECKING:
    from metahpo.knowledge import KnowledgeBase
    from metahpo.surrogates.meta import MetaModelProvider

__all__ = ["MetaBO"]

logger = logging.getLogger(__name__)

# Portfolio configs that keep competing with the surrogate's optima after the warm start.
PORTFOLIO_CANDIDATES = 20
# πBO's β (Hvarfner et al., 2022, who set β = N / 10 for a budget of N trials: 10 for 100):
# the meta-learned model's probability of improvement weighs the study GP's acquisition
# with the exponent β / n, n the trials observed.
PRIOR_BETA = 10.0


class MetaBO(BaseOptimizer):
    """Meta-learned Bayesian optimisation: portfolio → adapted deep-kernel GP → proximal acquisition.

    1. **Warm start.** The first ``n_warm_start`` configs are a greedy portfolio chosen on
       the knowledge-base tasks most related to this study (its descriptor, when given
       through ``create_study(task=...)``), as :class:`Portfolio` does.
    2. **Surrogate.** A deep-kernel GP meta-trained with MAML across the knowledge base's
       tasks (by the ``meta_models`` provider, once per knowledge base and space; see
       :mod:`metahpo.surrogates.meta`) is adapted to the study's observations in a few
       gradient steps, then conditioned on them. Losses are modelled standardised or
       logged, whichever predicts the observations better in leave-one-out.
    3. **Acquisition.** Log expected improvement at the target budget, minimised by the
       proximal-gradient optimiser, as in :class:`GPBO`; those of the portfolio's first 20
       configs (the warm start's among them) that no trial has started compete with the
       optimiser's optima by the same acquisition (not with ``n_warm_start=0``), and
       ``why["portfolio_rank"]`` gives the place of a proposed config that is one of the
       portfolio's. Where a GP on the study alone predicts the observations better and
       takes over, its expected improvement is weighted by the meta-learned model's
       probability of improvement to the power ``10 / n`` (πBO's fading prior;
       ``why["prior_weight"]``; not with ``acquisition="lcb"``).
       The budget is a surrogate input, so any scheduler composes.
    4. **Update.** When the study is finished (:meth:`Study.finish
       <metahpo.study.Study.finish>`), or when the next study finds it in the knowledge's
       storage, its task fine-tunes the meta-parameters with replay of stored tasks; the new
       version is kept only if it does not make the old tasks' or the new task's
       predictions worse (``continual_update=False`` turns this off). A finished study
       that brings the knowledge to three related tasks, or doubles it since the last
       meta-training, meta-trains the model anew instead, so that the next study starts
       with it.

    With fewer than three related tasks it is :class:`GPBO`. A study that records its kind
    of problem (its task descriptor's ``n_classes``, or its preset's: classification or
    regression) learns from no task that records the other kind, in any of these steps
    (:meth:`KnowledgeBase.of_task_type <metahpo.knowledge.KnowledgeBase.of_task_type>`).
    Each suggestion records why it was made: the portfolio's source tasks, or the number of
    observations the surrogate adapted on and the three most similar tasks with their
    similarity.

    Args:
        knowledge: the :class:`~metahpo.knowledge.KnowledgeBase` to learn from
            (``create_study(knowledge=...)`` also takes a spec or URLs and opens them).
        meta_models: the :class:`~metahpo.surrogates.meta.MetaModelProvider` that trains,
            keeps and updates meta-models, or the folder where the default provider keeps
            them when the knowledge names no storage (default ``$METAHPO_HOME/meta``), or a
            provider's ``to_dict()`` (as a study stores it). With the default provider
            (``None`` or a folder), ``create_study`` starts a study over a bundle from the
            bundle's ready-trained meta-model when it reads the study's space; a provider
            given is used as it is.
        n_warm_start: portfolio configs before the surrogate takes over.
        k_nearest: how many nearest tasks the portfolio is chosen on (``None``: the number
            the knowledge records for the space, else the nearest task's cluster;
            ``"cluster"``: the nearest task's cluster).
        acquisition: ``"logei"`` or ``"lcb"``.
        plateau_patience: stop ``optimize`` early after this many full-budget trials without
            improvement (``None``: never).
        continual_update: fine-tune the meta-model on the study when it is finished.

    Example:
        >>> import metahpo as mh
        >>> from metahpo.surrogates.meta import MetaModelProvider, MetaTrainingConfig
        >>> from metahpo.testing.synthetic import ShiftedBranin
        >>> family = ShiftedBranin(n_tasks=6, seed=0)
        >>> kb = mh.KnowledgeBase()
        >>> design = family.space.sobol(64, seed=0)
        >>> for task in family.tasks[1:]:
        ...     _ = kb.add_task(family.space, design, [family.evaluate(task, c) for c in design], name=task)
        >>> provider = MetaModelProvider(MetaTrainingConfig(meta_steps=50))
        >>> optimizer = mh.MetaBO(kb, meta_models=provider, continual_update=False)
        >>> study = mh.create_study(space=family.space, optimizer=optimizer, seed=0)
        >>> study.optimize(lambda t: family.evaluate(family.tasks[0], t.config), n_trials=8,
        ...                show_progress=False)
        >>> study.trials[0].user_attrs["why"]["source"]
        'portfolio'
    """

    name: ClassVar[str] = "metabo"

    def __init__(
        self,
        knowledge: KnowledgeBase | None = None,
        meta_models: MetaModelProvider | str | dict[str, Any] | None = None,
        n_warm_start: int = 3,
        k_nearest: int | str | None = None,
        acquisition: str = "logei",
        plateau_patience: int | None = None,
        continual_update: bool = True,
    ) -> None:
        from metahpo.surrogates.meta import MetaModelProvider

        check_knowledge(knowledge, "MetaBO")
        check_k_nearest(k_nearest, "MetaBO")
        self.knowledge = knowledge
        self.meta_models = meta_models
        self.n_warm_start = check_int(n_warm_start, "n_warm_start", "MetaBO", minimum=0)
        self.k_nearest = k_nearest
        self.acquisition = acquisition
        self.plateau_patience = plateau_patience
        self.continual_update = continual_update
        if acquisition not in ACQUISITIONS:
            raise InvalidParameterError(
                f"The 'acquisition' parameter of MetaBO must be one of {list(ACQUISITIONS)}. "
                f"Got {describe(acquisition)} instead."
            )
        if plateau_patience is not None:
            self.plateau_patience = check_int(plateau_patience, "plateau_patience", "MetaBO", minimum=1)
        if not isinstance(continual_update, bool):
            raise InvalidParameterError(
                "The 'continual_update' parameter of MetaBO must be a bool. "
                f"Got {describe(continual_update)} instead."
            )
        if isinstance(meta_models, MetaModelProvider):
            self._provider = meta_models
        elif meta_models is None or isinstance(meta_models, (str, Path)):
            self._provider = MetaModelProvider(store=meta_models)
        elif isinstance(meta_models, dict):  # as a study stored it
            self._provider = MetaModelProvider.from_dict(meta_models)
        else:
            raise InvalidParameterError(
                "The 'meta_models' parameter of MetaBO must be a MetaModelProvider, a folder "
                f"path or None. Got {describe(meta_models)} instead."
            )
        # Composition: the warm start and the no-knowledge fallback are optimizers of their own.
        # The greedy portfolio adds one config at a time, so its first configs are the warm
        # start's whatever its length; the later ones compete with the surrogate's optima.
        self._portfolio = Portfolio(
            knowledge, size=max(n_warm_start, PORTFOLIO_CANDIDATES), k_nearest=k_nearest
        )
        self._fallback = GPBO(n_initial=n_warm_start or None, acquisition=acquisition)
        # The GP on the study alone that the meta-learned surrogate is checked against.
        self._check_state = GPFitState()

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments as JSON: the knowledge's spec and the provider's settings."""
        return {
            "knowledge": None if self.knowledge is None else self.knowledge.spec,
            "meta_models": self._provider.to_dict(),
            "n_warm_start": self.n_warm_start,
            "k_nearest": self.k_nearest,
            "acquisition": self.acquisition,
            "plateau_patience": self.plateau_patience,
            "continual_update": self.continual_update,
        }

    def state_dict(self) -> dict[str, Any]:
        """The fallback GP-BO's state (used while the knowledge holds too few tasks) and the
        last fit of the study-alone GP the meta-learned surrogate is checked against."""
        return {"gpbo": self._fallback.state_dict(), "check": self._check_state.to_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if not isinstance(state, dict):
            raise InvalidParameterError(
                f"The 'state' of MetaBO must be a dict. Got {describe(state)} instead."
            )
        self._fallback.load_state_dict(state.get("gpbo", {}))
        check = state.get("check")
        self._check_state = GPFitState() if check is None else state_from_dict(check)

    # Suggest ------------------------------------------------------------------------------
    def suggest(self, history: History, n: int = 1) -> list[Config]:
        return [s.config for s in self.suggest_explained(history, n)]

    def suggest_explained(self, history: History, n: int = 1) -> list[Suggestion]:
        n = check_int(n, "n", "MetaBO.suggest", minimum=1)
        kb = None if self.knowledge is None else _of_study_type(self.knowledge, history)
        # The study's own task, once it is in the knowledge's storage, is neither growth to
        # learn from, nor a past task to name, nor one of the related tasks MetaBO needs.
        own = own_tasks(kb, history) if kb is not None else ()
        tasks = [t for t in kb.tasks(history.space) if t.name not in own] if kb is not None else []
        if kb is None or len(tasks) < MIN_RELATED_TASKS:
            reason = f"{len(tasks)} related tasks (< {MIN_RELATED_TASKS})"
            return [Suggestion(s.config, {**s.why, "reason": reason})
                    for s in self._fallback.suggest_explained(history, n)]
        losses = history.observations()[2]
        if history.new_config_count() >= self.n_warm_start and len(losses) < 2:
            # No warm start (n_warm_start=0) and too little to fit on: a Sobol design.
            configs = history.space.sobol(n, seed=history.seed, skip=history.new_config_count())
            return [Suggestion(c, {"source": "sobol"}) for c in configs]
        if history.new_config_count() < self.n_warm_start:
            return self._portfolio.suggest_explained(history, n)
        encoding = SpaceEncoding(history.space, history.min_budget, history.max_budget)
        with torch_threads(1):
            surrogate, meta, checked = self._fit(kb, history, encoding, own)
            # Where the study's own GP predicts better, the search is GP-BO's, trust region
            # included (the portfolio's configs still compete, as measured), with what the
            # meta-learned model believes as a fading prior over where to look: without it
            # the study GP spends its trials on corners of the box far from anything
            # observed, which the knowledge holds to be bad.
            study_gp = checked["model"] == "study GP"
            radius = replay_trust_radius(history) if study_gp else None
            # (πBO weights log EI; a confidence bound is searched without it.)
            weighted = study_gp and self.acquisition == "logei"
            prior = (meta, PRIOR_BETA / history.observed_count()) if weighted else None
            portfolio = self._portfolio.portfolio(history) if self.n_warm_start else []
            configs = propose(
                history, encoding, surrogate, n, self.acquisition, trust_radius=radius,
                thorough=study_gp,
                known_good=self._portfolio.untried(history) if self.n_warm_start else (),
                prior=prior,
            )
        # (Once stored, the study's own task is the nearest of all.)
        nearest = kb.nearest(_target(history), k=3 + len(own), space=history.space)
        similar = [(task, weight) for task, weight in nearest if task.name not in own][:3]
        why = {
            "source": "surrogate",
            "observations": len(losses),
            # The steps the meta-learned surrogate's adaptation kept (the study GP has none).
            "adapt_steps": None if study_gp else surrogate.adapted_steps_,
            "transform": surrogate.transform_.kind,
            **checked,
            **({"prior_weight": round(prior[1], 4)} if prior is not None else {}),
            "similar_tasks": [[task.name, round(weight, 3)] for task, weight in similar],
        }
        # A proposed config that is one of the portfolio's says which.
        ranks = {key: rank for rank, key in enumerate(history.space.config_keys(portfolio))}
        keys = history.space.config_keys(configs)
        return [
            Suggestion(config, {**why, "portfolio_rank": ranks[key]} if key in ranks else why)
            for config, key in zip(configs, keys, strict=True)
        ]

    def _fit(
        self, kb: KnowledgeBase, history: History, encoding: SpaceEncoding, own: tuple[str, ...]
    ) -> tuple[Any, Any, dict[str, Any]]:
        """The surrogate of this round, the meta-learned one, and what the check between
        models found.

        The meta-learned surrogate is adapted to the observations in the better loss scale:
        losses with a few diverged configs (a log-loss of 6 among 0.1-0.3) flatten a
        standardised model, so it is also fitted on log losses, and the model whose
        leave-one-out likelihood of the losses is higher is kept. From d + 1 trials observed
        on, a GP fitted on the study alone competes with it the same way: where the
        knowledge misleads, the study's own data say so, and the search stops following it.
        """
        model = self._provider.model(kb, encoding, exclude=own)
        x_unit, budgets, losses = history.observations()
        inputs = encoding.inputs(x_unit, budgets)
        fits = [
            self._provider.surrogate(model, kind).fit(inputs, losses) for kind in AUTO_CANDIDATES
        ]
        scored = [(loo_nll_of_losses(fitted, losses), i) for i, fitted in enumerate(fits)]
        meta_score, best = min(scored)
        meta = fits[best]
        if history.observed_count() < len(history.space) + 1:  # trials observed, not rows
            return meta, meta, {"model": "meta-learned"}
        gp, self._check_state = fit_exact_gp(
            history, encoding, inputs, losses, "auto", 2, self._check_state
        )
        gp_score = loo_nll_of_losses(gp, losses)
        check = {"loo_nll": {"meta-learned": round(meta_score, 4), "study GP": round(gp_score, 4)}}
        if gp_score < meta_score:
            return gp, meta, {"model": "study GP", **check}
        return meta, meta, {"model": "meta-learned", **check}

    # Study end ----------------------------------------------------------------------------
    def on_study_end(self, history: History) -> dict[str, Any] | None:
        """Learn from this finished study: fine-tune the meta-model on its task, replaying
        stored tasks, or meta-train anew when the study brings the knowledge to what MetaBO
        needs or doubles it (see :meth:`MetaModelProvider.update
        <metahpo.surrogates.meta.MetaModelProvider.update>`)."""
        # A study too short to count as a task teaches nothing either (a run of 3 trials
        # with a wrong target would shift the model every later study starts from).
        if not self.continual_update or self.knowledge is None or len(history.complete) < MIN_TASK_TRIALS:
            return None
        # The knowledge as the next study will open it: this study is in it when its
        # storage is one of the knowledge's and it has enough trials to count as a task.
        try:
            kb = self.knowledge.reopened()
        except Exception as exc:  # a source moved or unreachable since: what was opened then
            logger.warning("Reopening the knowledge to learn from the study failed (%s); "
                           "learning with the knowledge as it was opened.", exc)
            kb = self.knowledge
        kb = _of_study_type(kb, history)
        own = own_tasks(kb, history)
        others = [t for t in kb.tasks(history.space) if t.name not in own]
        if len(others) + (1 if own else 0) < MIN_RELATED_TASKS:
            return None
        encoding = SpaceEncoding(history.space, history.min_budget, history.max_budget)
        return self._provider.update(kb, _target(history), encoding, seed=history.seed, exclude=own)

    # Plateau ------------------------------------------------------------------------------
    def converged(self, history: History) -> bool:
        """True after ``plateau_patience`` full-budget trials without a new best."""
        if self.plateau_patience is None:
            return False
        # Under a scheduler, trials at its full budget only: the first rung's low-budget
        # trials would otherwise stop the study before any config ran in full.
        full = history.max_budget
        top = full if full is not None else max(((t.budget or math.inf) for t in history.complete), default=None)
        if top is None:
            return False
        losses = [
            history.loss(float(t.value))  # type: ignore[arg-type]
            for t in history.complete
            if math.isclose(t.budget or math.inf, top)
        ]
        if len(losses) <= self.plateau_patience:
            return False
        best_before = min(losses[: -self.plateau_patience])
        return min(losses[-self.plateau_patience :]) >= best_before - 1e-12 * max(
            1.0, abs(best_before)
        )


def _of_study_type(kb: KnowledgeBase, history: History) -> KnowledgeBase:
    """The tasks of ``kb`` a study of ``history`` learns from: not those of another kind of
    problem than its task descriptor, or its preset, records (:meth:`KnowledgeBase.of_task_type`)."""
    return kb.of_task_type(history.task_type or task_type_of(descriptor_of(history.descriptor)))


def _target(history: History) -> Any:
    from metahpo.knowledge import Task

    return Task.from_history(history, name="__target__")
