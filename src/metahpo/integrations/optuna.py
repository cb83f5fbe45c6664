"""metahpo's optimizers inside Optuna: ``optuna.create_study(sampler=MetaHPOSampler())``.

The sampler samples *relatively* over Optuna's intersection search space (the parameters
every finished trial has, with the same distribution): those trials become a metahpo
:class:`~metahpo.history.History` and the optimizer proposes the next config. Parameters
outside that space (conditional ones, or any parameter at the first trial) are sampled
*independently*, uniformly at random, as Optuna's own model-based samplers do.

Past Optuna studies become knowledge with :func:`knowledge_from_optuna`, so code that
already uses Optuna gains warm starts by changing only the sampler. Told the study's kind
of problem (``task=`` a descriptor, as ``create_study(task=...)`` takes, or ``task_type=``),
``"auto"``, MetaBO and the portfolio learn from no past task of another kind.

Optuna distributions map to metahpo parameters: ``FloatDistribution`` -> ``Float`` (log
scale kept), ``IntDistribution`` -> ``Int``, ``CategoricalDistribution`` ->
``Categorical``. A distribution with a ``step`` keeps its grid's values: a grid of at most
16 values becomes an ordered ``Categorical`` of them, a finer one is searched over its
range with each proposal rounded onto the grid. So proposals stay on the grid, and past
studies on another grid are not taken for this one.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

import numpy as np

from metahpo._validation import check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.history import History
from metahpo.knowledge import (
    TASK_TYPES,
    KnowledgeBase,
    Task,
    optuna_task_record,
    task_kind,
    task_type_of,
)
from metahpo.optimizers import Optimizer, make_optimizer, optimizer_names
from metahpo.space import Categorical, Float, Int, Param, Space
from metahpo.study import auto_optimizer, knowledge_order, ready_start
from metahpo.trial import FrozenTrial, TrialState

try:
    import optuna
    from optuna.distributions import (
        BaseDistribution,
        CategoricalDistribution,
        IntDistribution,
    )
    from optuna.samplers import BaseSampler, RandomSampler
    from optuna.search_space import IntersectionSearchSpace
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "metahpo.integrations.optuna needs Optuna: install the 'optuna' extra "
        "(pip install 'metahpo[optuna]')."
    ) from exc

__all__ = ["MetaHPOSampler", "knowledge_from_optuna", "space_from_distributions", "task_from_optuna"]

logger = logging.getLogger("metahpo.integrations")

# A grid of at most this many values is searched as its values (an ordered Categorical);
# a finer one over its range, each proposal rounded onto the grid.
_MAX_GRID_CHOICES = 16

# The trial system attribute that holds the sampler's proposal until Optuna stores its params.
_PROPOSAL_KEY = "metahpo:proposal"


def _grid_size(distribution: Any) -> int | None:
    """How many values a stepped distribution's grid has, or ``None`` without a step."""
    step = getattr(distribution, "step", None)
    if step is None or (isinstance(distribution, IntDistribution) and step == 1):
        return None
    return round((distribution.high - distribution.low) / step) + 1


def _grid_value(distribution: Any, k: int) -> Any:
    """The ``k``-th value of a stepped distribution's grid."""
    value = distribution.low + k * distribution.step
    if isinstance(distribution, IntDistribution):
        return int(value)
    # Rounded as Optuna rounds its own grid values, so stored values are found among them.
    return float(np.round(value, 12))


def _param_of(distribution: Any) -> Param:
    if isinstance(distribution, CategoricalDistribution):
        return Categorical(list(distribution.choices))
    size = _grid_size(distribution)
    if size is not None and size <= _MAX_GRID_CHOICES:
        # The grid's own values: a past study on another grid keeps its values apart.
        return Categorical([_grid_value(distribution, k) for k in range(size)], ordered=True)
    if isinstance(distribution, IntDistribution):
        return Int(int(distribution.low), int(distribution.high), log=distribution.log)
    return Float(float(distribution.low), float(distribution.high), log=distribution.log)


def _mappable(distribution: Any) -> bool:
    """Whether metahpo has a parameter for ``distribution``: Optuna also takes categorical
    choices that are not JSON scalars (tuples) or that JSON confuses (1 and 1.0)."""
    try:
        _param_of(distribution)
    except InvalidParameterError:
        return False
    return True


def space_from_distributions(distributions: Mapping[str, BaseDistribution]) -> Space:
    """The metahpo space of Optuna distributions (parameters in name order)."""
    return Space({name: _param_of(distributions[name]) for name in sorted(distributions)})


def _on_grid(distribution: Any, value: Any) -> Any:
    """``value`` moved to the nearest point of a stepped distribution's grid (as is without
    a step)."""
    size = _grid_size(distribution)
    if size is None:
        return value
    index = min(max(round((float(value) - distribution.low) / distribution.step), 0), size - 1)
    return _grid_value(distribution, index)


def _to_metahpo(distribution: Any, value: Any) -> Any:
    return value if isinstance(distribution, CategoricalDistribution) else _on_grid(distribution, value)


def _to_optuna(distribution: Any, value: Any) -> Any:
    if isinstance(distribution, CategoricalDistribution):
        return value
    value = _on_grid(distribution, value)
    if isinstance(distribution, IntDistribution):
        return min(max(round(float(value)), int(distribution.low)), int(distribution.high))
    return float(min(max(float(value), distribution.low), distribution.high))


def _usable(trial: Any, distributions: Mapping[str, BaseDistribution]) -> bool:
    return all(
        name in trial.params and trial.distributions.get(name) == distribution
        for name, distribution in distributions.items()
    )


def task_from_optuna(study: Any, name: str | None = None) -> Task | None:
    """One finished Optuna study as a knowledge :class:`~metahpo.knowledge.Task`.

    The task's space is the study's intersection search space; its losses are the
    COMPLETE trials' values (negated for a maximised study). Its descriptor and kind of
    problem are what the study's ``user_attrs["task"]`` (or ``user_attrs["descriptor"]``)
    records, read as :meth:`KnowledgeBase.from_optuna
    <metahpo.knowledge.KnowledgeBase.from_optuna>` reads them
    (:func:`~metahpo.knowledge.optuna_task_record`). ``None`` when the study has no usable
    trial. Multi-objective studies are refused.
    """
    if len(study.directions) != 1:
        raise InvalidParameterError(
            f"knowledge_from_optuna takes single-objective studies. Got the study "
            f"{study.study_name!r} with {len(study.directions)} objectives."
        )
    distributions = {
        k: v for k, v in IntersectionSearchSpace().calculate(study).items()
        if not v.single() and _mappable(v)
    }
    if not distributions:
        return None
    space = space_from_distributions(distributions)
    sign = -1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1.0
    configs, losses = [], []
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        if not _usable(trial, distributions) or trial.value is None or not math.isfinite(trial.value):
            continue
        config = {k: _to_metahpo(d, trial.params[k]) for k, d in distributions.items()}
        if space.contains(config):  # an enqueued value outside its distribution is not
            configs.append(config)
            losses.append(sign * float(trial.value))
    if not configs:
        return None
    descriptor, kind = optuna_task_record(study.user_attrs, f"Optuna study {study.study_name!r}")
    return Task(
        name=name or study.study_name, space=space, configs=configs,
        losses=np.asarray(losses), source="optuna", descriptor=descriptor,
        kind=kind if task_type_of(descriptor) is None else None,
    )


def knowledge_from_optuna(studies: Iterable[Any]) -> KnowledgeBase:
    """A :class:`~metahpo.knowledge.KnowledgeBase` of finished Optuna studies.

    Example:
        >>> import optuna
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> past = optuna.create_study(study_name="past")
        >>> past.optimize(lambda t: t.suggest_float("x", -1, 1) ** 2, n_trials=5)
        >>> knowledge_from_optuna([past]).names
        ['past']
    """
    tasks = [task for study in studies if (task := task_from_optuna(study)) is not None]
    return KnowledgeBase(tasks)


class MetaHPOSampler(BaseSampler):
    """An Optuna sampler that proposes with metahpo's optimizers, and learns from past studies.

    Args:
        optimizer: a metahpo optimizer name (``"auto"``, ``"gpbo"``, ``"metabo"``,
            ``"sobol"``, ``"random"``, ``"portfolio"``). ``"auto"`` chooses as
            ``create_study`` does (:func:`metahpo.study.auto_optimizer`): MetaBO when the
            knowledge holds at least three tasks related to the search space (and not of
            another kind of problem than the study's), starting from a bundle's
            ready-trained meta-model when that model reads the space; GP-BO otherwise.
            ``"metabo"`` named starts from that model under the same rule
            (:func:`metahpo.study.ready_start`), as ``create_study``'s does.
        knowledge: a :class:`~metahpo.knowledge.KnowledgeBase` (for example from
            :func:`knowledge_from_optuna`), a knowledge spec, or ``None``.
        seed: seeds every draw (an int from 0 to 2**32 - 1, as Optuna's samplers take, or
            ``None``); the same seed gives the same proposals.
        task: the study's task descriptor, as ``create_study(task=...)`` takes it: a
            :class:`~metahpo.knowledge.Task` (``Task.from_data(X, y)``), its ``to_dict()``
            form or a descriptor dict. MetaBO compares past tasks with it, and the kind of
            problem it records (:attr:`Task.task_type <metahpo.knowledge.Task.task_type>`)
            is the study's.
        task_type: the study's kind of problem, ``"classification"`` or ``"regression"``,
            when there is no descriptor to say it (``None``: the kind ``task`` records, if
            any). With a kind, ``"auto"`` counts, and MetaBO and the portfolio learn from,
            only the tasks not of another kind
            (:meth:`KnowledgeBase.of_task_type <metahpo.knowledge.KnowledgeBase.of_task_type>`);
            without one, every related task counts.

    Attributes:
        optimizer_choice: which optimizer ``"auto"`` chose for the search space of the
            latest proposal, and why: ``{"optimizer", "reason"}`` as ``create_study``
            stores it in ``user_attrs["optimizer_choice"]`` (also logged at INFO on the
            ``metahpo.integrations`` logger, once per space). A sampler shared by studies
            of several spaces keeps one choice per space. ``None`` before the first
            proposal over the intersection search space, and for an optimizer named other
            than ``"auto"``.

    Example:
        >>> import optuna
        >>> optuna.logging.set_verbosity(optuna.logging.WARNING)
        >>> study = optuna.create_study(sampler=MetaHPOSampler(optimizer="sobol", seed=0))
        >>> study.optimize(lambda t: (t.suggest_float("x", -2, 2) - 1) ** 2, n_trials=8)
        >>> len(study.trials)
        8
    """

    def __init__(
        self,
        optimizer: str = "auto",
        knowledge: Any = None,
        seed: int | None = None,
        task: Any = None,
        task_type: str | None = None,
    ) -> None:
        if not isinstance(optimizer, str):
            raise InvalidParameterError(
                "The 'optimizer' parameter of MetaHPOSampler must be an optimizer name such as "
                f"'auto', 'gpbo' or 'metabo'. Got {describe(optimizer)} instead."
            )
        if optimizer not in optimizer_names():
            # Refused now, not after the first trial has run.
            raise InvalidParameterError(
                "The 'optimizer' parameter of MetaHPOSampler must be one of "
                f"{optimizer_names()}. Got {describe(optimizer)} instead."
            )
        if seed is not None:
            # Optuna's RandomSampler, which draws the independent parameters, takes seeds
            # below 2**32 (NumPy's RandomState).
            seed = check_int(seed, "seed", "MetaHPOSampler", minimum=0, maximum=2**32 - 1)
        descriptor, kind = _study_kind(task, task_type)
        self.optimizer = optimizer
        self.knowledge = knowledge
        self.seed = seed
        self.task = task
        self.task_type = task_type
        # What the study's history tells its optimizer, as a metahpo study's does.
        self._descriptor = descriptor
        self._task_type = kind
        self._knowledge = (
            knowledge if knowledge is None or isinstance(knowledge, KnowledgeBase)
            else KnowledgeBase.open(knowledge)
        )
        self._seed = int(np.random.SeedSequence(seed).generate_state(1)[0])
        self._random = RandomSampler(seed=seed)
        # Per study: Optuna's intersection keeps one study's state, and one sampler is
        # naturally reused for one study per dataset.
        self._intersections: dict[tuple[str, Any], IntersectionSearchSpace] = {}
        self._proposers: dict[str, _Proposer] = {}
        self.optimizer_choice: dict[str, Any] | None = None
        self._lock = threading.Lock()

    def reseed_rng(self) -> None:
        self._random.reseed_rng()
        self._seed = int(np.random.SeedSequence().generate_state(1)[0])

    def infer_relative_search_space(self, study: Any, trial: Any) -> dict[str, BaseDistribution]:
        _check_single_objective(study)
        study = _whole(study)
        with self._lock:
            intersection = self._intersections.setdefault(_study_key(study), IntersectionSearchSpace(include_pruned=True))
            distributions = intersection.calculate(study)
        return {
            name: distribution
            for name, distribution in distributions.items()
            # Parameters metahpo cannot represent are sampled independently, at random.
            if not distribution.single() and _mappable(distribution)
        }

    def sample_relative(
        self, study: Any, trial: Any, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        _check_single_objective(study)
        if not search_space:
            return {}
        space, optimizer, choice = self._proposer(space_from_distributions(search_space))
        # The choice for this space: one sampler may serve studies of several spaces.
        self.optimizer_choice = choice
        study = _whole(study)
        history = self._history(study, trial, space, search_space)
        config = optimizer.suggest(history, 1)[0]
        # Optuna stores a trial's params only as the objective asks for them: the proposal
        # is kept with the trial, so that the samplers of parallel trials, in this process
        # or another on the same storage, count it as pending rather than propose it again.
        study._storage.set_trial_system_attr(trial._trial_id, _PROPOSAL_KEY, config)
        return {name: _to_optuna(search_space[name], config[name]) for name in search_space}

    def sample_independent(
        self, study: Any, trial: Any, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        _check_single_objective(study)
        return self._random.sample_independent(study, trial, param_name, param_distribution)

    def _proposer(self, space: Space) -> _Proposer:
        """What proposes in the search space ``space``: the space as it proposes in (the
        knowledge's order, :func:`~metahpo.study.knowledge_order`), its optimizer, and what
        ``"auto"`` chose for it."""
        # One optimizer per search space, kept: MetaBO meta-trains its model once, not at
        # every trial (a bounded cache: one entry per distinct intersection space). Built
        # under the lock, so that threads sharing the sampler build one optimizer per space
        # and evict one entry at a time (building MetaBO from ready-trained models is quick;
        # meta-training waits for its first suggestion).
        key = space.fingerprint()
        with self._lock:
            proposer = self._proposers.get(key)
            if proposer is None:
                ordered = space if self._knowledge is None else knowledge_order(self._knowledge, space)
                optimizer, choice = self._new_optimizer(ordered)
                if len(self._proposers) >= 8:
                    self._proposers.pop(next(iter(self._proposers)))
                proposer = self._proposers[key] = _Proposer(ordered, optimizer, choice)
            return proposer

    def _new_optimizer(self, space: Space) -> tuple[Optimizer, dict[str, Any] | None]:
        kb = self._knowledge
        if self.optimizer == "auto":
            # The rule create_study's "auto" follows, with no storage to add default knowledge.
            optimizer, choice = auto_optimizer(kb if kb is not None else KnowledgeBase([]), space, self._task_type)
            logger.info("MetaHPOSampler: optimizer='auto' chose %s for the space (%s): %s.",
                        choice["optimizer"], ", ".join(space.names), choice["reason"])
            return optimizer, choice
        if self.optimizer not in ("metabo", "portfolio"):
            return make_optimizer(self.optimizer), None
        optimizer = make_optimizer(self.optimizer, knowledge=kb if kb is not None else KnowledgeBase([]))
        # A MetaBO named starts from the bundle's ready-trained meta-models whenever "auto"'s
        # would, as create_study's named MetaBO does; the space is already in the order they
        # read (knowledge_order). Nothing is recorded: an Optuna study stores no optimizer.
        return ready_start(optimizer, space, self._task_type)[0], None

    def _history(
        self, study: Any, trial: Any, space: Space, distributions: Mapping[str, BaseDistribution]
    ) -> History:
        done = optuna.trial.TrialState
        # Failed and pruned trials too, as FAILED: their configs are not proposed again,
        # and they count, so the next proposal is not the same draw as theirs.
        states = (done.COMPLETE, done.RUNNING, done.FAIL, done.PRUNED)
        records: list[Any] = []
        hidden = False  # a trial in flight whose params are not sampled yet
        for past in study.get_trials(deepcopy=False, states=states):
            if past.number == trial.number:
                continue
            if not _usable(past, distributions):
                proposal = past.system_attrs.get(_PROPOSAL_KEY) if past.state == done.RUNNING else None
                if isinstance(proposal, dict) and space.contains(proposal):
                    records.append(FrozenTrial(number=len(records), state=TrialState.RUNNING,
                                               config=space.validate(proposal)))
                else:
                    hidden = hidden or past.state == done.RUNNING
                continue
            value = past.value
            complete = past.state == done.COMPLETE and value is not None and math.isfinite(value)
            state = (TrialState.COMPLETE if complete else TrialState.RUNNING if past.state == done.RUNNING
                     else TrialState.FAILED)
            config = {k: _to_metahpo(d, past.params[k]) for k, d in distributions.items()}
            if not space.contains(config):
                # A value outside today's range (enqueue_trial, a fixed param): not a config
                # of the space; Optuna's own samplers pass over it too.
                continue
            records.append(FrozenTrial(
                number=len(records), state=state, config=space.validate(config),
                value=float(value) if complete else None,
            ))
        direction = "maximize" if study.direction == optuna.study.StudyDirection.MAXIMIZE else "minimize"
        # The sampler's seed, so a sequence (Sobol) goes on from trial to trial; keyed by the
        # trial number while a parallel trial is hidden from this history, so the two do not
        # draw the same point.
        seed = (int(np.random.SeedSequence([self._seed, trial.number]).generate_state(1)[0])
                if hidden else self._seed)
        return History(space=space, trials=tuple(records), direction=direction, seed=seed,
                       descriptor=self._descriptor, task_type=self._task_type)


class _Proposer(NamedTuple):
    """What the sampler keeps per search space."""

    space: Space  # in the order the optimizer proposes in
    optimizer: Optimizer
    choice: dict[str, Any] | None  # what "auto" chose, and why; None for an optimizer named


def _study_kind(task: Any, task_type: Any) -> tuple[dict[str, float] | None, str | None]:
    """The descriptor of ``task`` and the study's kind of problem: ``task_type``, else the
    kind ``task`` records, checked as ``create_study(task=)`` checks it
    (:func:`~metahpo.knowledge.task_kind`). A ``task_type`` that is no kind, or that
    contradicts ``task``, is refused."""
    if task_type is not None and task_type not in TASK_TYPES:
        raise InvalidParameterError(
            "The 'task_type' parameter of MetaHPOSampler must be 'classification', 'regression' "
            f"or None. Got {describe(task_type)} instead."
        )
    descriptor, recorded = task_kind(task, "the 'task' parameter of MetaHPOSampler")
    if task_type is not None and recorded is not None and task_type != recorded:
        raise InvalidParameterError(
            f"The 'task_type' parameter of MetaHPOSampler is {task_type!r}, but its 'task' records a "
            f"{recorded} problem. Give the kind the task records, or leave task_type out. "
            f"Got task_type={task_type!r} instead."
        )
    return descriptor, task_type if task_type is not None else recorded


def _whole(study: Any) -> Any:
    """The study itself when Optuna hands a view of it (HyperbandPruner's one-bracket study):
    every bracket's finished trials are full-budget results, and a sampler seeing one
    bracket alone would replay the same proposals in each."""
    return getattr(study, "_study", study)


def _study_key(study: Any) -> tuple[str, Any]:
    """What tells a sampler's studies apart: the name and the storage's study id."""
    return study.study_name, getattr(study, "_study_id", None)


def _check_single_objective(study: Any) -> None:
    if len(study.directions) != 1:
        raise ValueError(
            "MetaHPOSampler supports single-objective studies only. Got a study with "
            f"{len(study.directions)} objectives."
        )
