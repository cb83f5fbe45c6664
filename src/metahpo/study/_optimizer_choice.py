"""Which optimizer a study runs: the one named or given, what ``"auto"`` stands for, the
start from a bundle's ready-trained meta-models, and the optimizer of a stored study rebuilt."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from metahpo._validation import describe, init_params
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge import TASK_TYPES, KnowledgeBase, bundled_meta_model, spec_without_passwords
from metahpo.optimizers import (
    MIN_RELATED_TASKS,
    Optimizer,
    make_optimizer,
    optimizer_class,
    takes_knowledge,
)
from metahpo.space import Space
from metahpo.storage import Storage, StudyRecord
from metahpo.study._knowledge import (
    check_given_knowledge,
    default_knowledge,
    instance_knowledge_error,
    open_stored_spec,
    resolve_knowledge,
)
from metahpo.study._state import READY_META_MODELS_KEY
from metahpo.study._task_type import study_task_type

__all__ = [
    "auto_optimizer",
    "build_optimizer",
    "given_optimizer",
    "knowledge_order",
    "learner_after_auto",
    "ready_start",
    "reopened_optimizer",
    "resumed_start",
]

logger = logging.getLogger("metahpo.study")


def build_optimizer(
    optimizer: Any, knowledge: Any, space: Space, storage: Storage, task_type: str | None = None
) -> tuple[Optimizer, dict[str, Any]]:
    """The study's optimizer, and what the study stores in its ``user_attrs`` about how it
    was built: for ``"auto"``, which optimizer it chose and why (``"optimizer_choice"``);
    for a MetaBO named or given that starts from a bundle's ready-trained meta-models, the
    bundle (``"ready_meta_models"``, see :func:`ready_start`).

    ``"auto"`` is :func:`auto_optimizer`'s choice for the knowledge (else
    :func:`~metahpo.study._knowledge.default_knowledge`), the study's space and
    ``task_type``, the kind of problem the study records (its task's, else its preset's);
    once the study has observations, MetaBO itself checks, suggestion by suggestion, that
    its meta-learned surrogate predicts them better than a GP on the study alone. An
    optimizer that learns from knowledge and is named without any gets
    :func:`~metahpo.study._knowledge.default_knowledge`.
    """
    check_given_knowledge(knowledge)
    kb = resolve_knowledge(knowledge)
    if isinstance(optimizer, str):
        if optimizer == "auto":
            chosen, choice = auto_optimizer(kb if kb is not None else default_knowledge(space, storage),
                                            space, task_type)
            return chosen, {"optimizer_choice": choice}
        if kb is None and takes_knowledge(optimizer_class(optimizer)):
            kb = default_knowledge(space, storage)
        return ready_start(make_optimizer(optimizer, knowledge=kb), space, task_type)
    return ready_start(given_optimizer(optimizer, kb), space, task_type)


def given_optimizer(optimizer: Optimizer, knowledge: Any) -> Optimizer:
    """The optimizer instance given to ``create_study``, as it is given: ``knowledge``, if
    any, must be its own knowledge base (an instance takes its knowledge in its
    constructor). Neither started from ready-trained meta-models nor changed: for a new
    study :func:`ready_start` decides that, for a stored one :func:`resumed_start`."""
    check_given_knowledge(knowledge)
    kb = resolve_knowledge(knowledge)
    if kb is not None and getattr(optimizer, "knowledge", None) is not kb:
        raise instance_knowledge_error(optimizer)
    return make_optimizer(optimizer)


def ready_start(
    optimizer: Optimizer, space: Space, task_type: str | None = None
) -> tuple[Optimizer, dict[str, Any]]:
    """``optimizer``, started from its bundle's ready-trained meta-models when ``"auto"``'s
    MetaBO would be; and what the study stores of that start.

    A MetaBO with the default meta-model provider (``meta_models`` ``None`` or a folder)
    over knowledge whose ready-trained models read ``space`` (the one bundle its spec
    names, the same parameters in the same order, a task of the study's kind
    ``task_type``; see :func:`_ready_meta_models`) becomes an equal MetaBO whose provider
    starts from those models instead of meta-training on the bundle at the first
    model-based suggestion, with ``{"ready_meta_models": "bundled:NAME"}`` to store, so
    that a reopened study starts from them again (:func:`reopened_optimizer`,
    :func:`resumed_start`). Any other optimizer, and a MetaBO given a provider of the
    user's own (a training configuration, models of their own), is returned as it is, with
    nothing to store.

    A space that lists the bundle's parameters in another order is not reordered: it is
    the study's, as the user wrote it, and its MetaBO meta-trains once on the bundle, as
    ``"auto"``'s does (:func:`knowledge_order` gives the order the models read). The Optuna
    sampler starts its MetaBO named with this function too, in the knowledge's order.

    Example:
        >>> import metahpo as mh
        >>> from metahpo.study import ready_start
        >>> kb = mh.KnowledgeBase.open("bundled:hgb-classifier")
        >>> space = mh.presets.get("hgb-classifier").space
        >>> started, stored = ready_start(mh.MetaBO(knowledge=kb), space)
        >>> stored
        {'ready_meta_models': 'bundled:hgb-classifier'}
        >>> ready_start(mh.GPBO(), space)[1]
        {}
    """
    knowledge = _default_metabo_knowledge(optimizer)
    if knowledge is None:
        return optimizer, {}
    ready = _ready_meta_models(knowledge, space, task_type)
    if not ready:
        return optimizer, {}
    return _started(optimizer, ready), {READY_META_MODELS_KEY: f"bundled:{_ready_bundle(knowledge)}"}


def resumed_start(optimizer: Optimizer, record: StudyRecord) -> Optimizer:
    """``optimizer``, an instance given to resume the stored study of ``record``
    (``create_study(..., load_if_exists=True)``), started from its bundle's ready-trained
    meta-models when the study was: decided from what the study stores, as
    :func:`reopened_optimizer` decides for ``load_study`` (``"auto"``'s choice of MetaBO,
    else ``user_attrs["ready_meta_models"]`` naming the bundle of the instance's knowledge;
    the study's space and the kind of problem it records), not from the arguments of the
    call that resumes it. A MetaBO given a provider of the user's own, and a study that
    stored no such start (created with one), are left as they are.
    """
    knowledge = _default_metabo_knowledge(optimizer)
    ready = _stored_start(record, knowledge) if knowledge is not None else []
    return _started(optimizer, ready) if ready else optimizer


def _default_metabo_knowledge(optimizer: Optimizer) -> KnowledgeBase | None:
    """The knowledge base of ``optimizer`` when it is a MetaBO (the class itself) with the
    default meta-model provider (``meta_models`` ``None`` or a folder), one
    :func:`_started` may rebuild; ``None`` for any other optimizer."""
    knowledge = getattr(optimizer, "knowledge", None)
    meta_models = getattr(optimizer, "meta_models", None)
    # By name first: the class check imports MetaBO's module (torch), which a random
    # search should not pay for.
    if (getattr(optimizer, "name", None) != "metabo" or not isinstance(knowledge, KnowledgeBase)
            or not (meta_models is None or isinstance(meta_models, (str, Path)))):
        return None
    # A subclass may use its arguments otherwise than MetaBO does: not rebuilt.
    return knowledge if type(optimizer) is optimizer_class("metabo") else None


def _started(optimizer: Optimizer, ready: list[Any]) -> Optimizer:
    """A MetaBO equal to ``optimizer`` (see :func:`_default_metabo_knowledge`) whose
    provider starts from the ready-trained meta-models ``ready``; ``optimizer`` itself is
    not changed (the user may be sharing it between studies), and the stored spec is the
    same (a provider's models are not part of it)."""
    from metahpo.surrogates.meta import MetaModelProvider  # torch, as MetaBO already is

    provider = MetaModelProvider(store=getattr(optimizer, "meta_models", None), initial=ready)
    started: Optimizer = optimizer_class("metabo")(**{**init_params(optimizer), "meta_models": provider})
    started.load_state_dict(optimizer.state_dict())
    return started


def _stored_start(record: StudyRecord, kb: Any) -> list[Any]:
    """The ready-trained meta-models the MetaBO of the stored study ``record``, over the
    knowledge ``kb`` it reopens with, starts from again: when ``"auto"`` chose it, or when
    the study stored the start in ``user_attrs["ready_meta_models"]`` as
    ``"bundled:NAME"`` with NAME the one bundle of ``kb`` (any other value, such as one a
    user set before metahpo reserved the key, starts nothing), the models of that bundle
    that read the study's space, for the kind of problem it records."""
    if not isinstance(kb, KnowledgeBase):
        return []
    choice = record.user_attrs.get("optimizer_choice")
    if not (isinstance(choice, dict) and choice.get("optimizer") == "metabo"):
        marker = record.user_attrs.get(READY_META_MODELS_KEY)
        if marker is None:
            return []
        bundle = _ready_bundle(kb)
        if bundle is None or marker != f"bundled:{bundle}":
            logger.debug("Study %r: its %r is %r, not the bundle of the knowledge it reopens with "
                         "(%s): no ready-trained start.", record.name, READY_META_MODELS_KEY, marker,
                         "none" if bundle is None else f"'bundled:{bundle}'")
            return []
    return _ready_meta_models(kb, Space.from_dict(record.space), study_task_type(record))


def auto_optimizer(
    knowledge: KnowledgeBase, space: Space, task_type: str | None = None
) -> tuple[Optimizer, dict[str, Any]]:
    """The optimizer ``optimizer="auto"`` stands for, and which one it chose and why.

    MetaBO when ``knowledge`` holds at least three tasks related to a study of ``space``
    (the same space, or one sharing most parameters, and not of another kind of problem
    than ``task_type``, ``"classification"`` or ``"regression"``; see
    :func:`~metahpo.knowledge.is_related`), GP-BO otherwise. A MetaBO over the one bundle
    whose ready-trained meta-model reads ``space`` (the same parameters in the same order)
    starts from that model instead of meta-training on the bundle. ``create_study`` and the
    Optuna sampler both decide with this function; the choice is what ``create_study``
    stores in ``user_attrs["optimizer_choice"]``: ``{"optimizer", "reason"}``, and for
    GP-BO over knowledge opened from a spec that spec as ``"knowledge"`` (without
    passwords).

    Example:
        >>> import metahpo as mh
        >>> from metahpo.study import auto_optimizer
        >>> space = mh.Space({"x": mh.Float(0.0, 1.0)})
        >>> optimizer, choice = auto_optimizer(mh.KnowledgeBase(), space)
        >>> optimizer.name, choice["optimizer"]
        ('gpbo', 'gpbo')
        >>> choice["reason"]
        '0 related tasks among the 0 tasks of the knowledge (built in memory) (MetaBO needs 3)'
    """
    _check_knowledge_and_space(knowledge, space, "auto_optimizer")
    if task_type is not None and task_type not in TASK_TYPES:
        raise InvalidParameterError(
            "The 'task_type' parameter of auto_optimizer must be 'classification', 'regression' "
            f"or None. Got {describe(task_type)} instead."
        )
    kb = knowledge
    related = len(kb.of_task_type(task_type).tasks(space))
    source = "built in memory" if kb.spec is None else repr(kb.identity)  # no credentials
    where = f"among the {len(kb)} tasks of the knowledge ({source})"
    other_kind = len(kb.tasks(space)) - related
    if other_kind:
        where += f", {other_kind} of another kind of problem than this {task_type} study left out"
    if related < MIN_RELATED_TASKS:
        tasks = "task" if related == 1 else "tasks"
        reason = f"{related} related {tasks} {where} (MetaBO needs {MIN_RELATED_TASKS})"
        choice = {"optimizer": "gpbo", "reason": reason}
        if kb.spec is not None:  # what the study's end adds to (learner_after_auto)
            choice["knowledge"] = spec_without_passwords(kb.spec)
        return make_optimizer("gpbo"), choice
    reason = (f"{related} related tasks {where}; each suggestion checks the meta-learned "
              "surrogate against a GP on the study alone")
    metabo, ready = _auto_metabo(kb, space, task_type)
    if ready:
        # A budget column over another range than the bundle's means another model.
        reason += ("; starting from the bundle's ready-trained meta-model (under a "
                   "scheduler, from the one over the bundle's lowest to highest budget; "
                   "another budget range meta-trains once on the bundle instead)")
    return metabo, {"optimizer": "metabo", "reason": reason}


def knowledge_order(knowledge: KnowledgeBase, space: Space) -> Space:
    """``space`` with its parameters in the order ``knowledge`` lists them for tasks of the
    same space (the same parameters over the same ranges, in any order).

    A bundle's ready-trained meta-model reads its inputs in the order of the space it was
    trained on, its bundle's, so it starts a study (:func:`auto_optimizer`) only in that
    order: when ``knowledge`` has such a bundle (the one bundle its spec names) with tasks
    of the space, their order is taken; else the order of the first task of the space;
    else ``space`` as given. The Optuna sampler, whose distributions come in name order,
    proposes in this order.

    Example:
        >>> import metahpo as mh
        >>> from metahpo.study import knowledge_order
        >>> kb = mh.KnowledgeBase.open("bundled:hgb-classifier")
        >>> by_name = mh.Space({n: kb[kb.names[0]].space[n] for n in sorted(kb[kb.names[0]].space.names)})
        >>> knowledge_order(kb, by_name).names == kb[kb.names[0]].space.names
        True
    """
    _check_knowledge_and_space(knowledge, space, "knowledge_order")
    fingerprint = space.fingerprint()
    same = [(task.source, task.space) for task in knowledge.tasks()
            if task.space is not None and task.space.fingerprint() == fingerprint]
    if not same:
        return space
    bundled = f"bundled:{bundle}" if (bundle := _ready_bundle(knowledge)) is not None else None
    _, order = next(((source, s) for source, s in same if source == bundled), same[0])
    return Space({name: space[name] for name in order.names})


def _check_knowledge_and_space(knowledge: Any, space: Any, owner: str) -> None:
    if not isinstance(knowledge, KnowledgeBase):
        raise InvalidParameterError(
            f"The 'knowledge' parameter of {owner} must be a KnowledgeBase (open a spec "
            f"with KnowledgeBase.open). Got {describe(knowledge)} instead."
        )
    if not isinstance(space, Space):
        raise InvalidParameterError(
            f"The 'space' parameter of {owner} must be a metahpo Space. Got {describe(space)} instead."
        )


def _ready_bundle(kb: KnowledgeBase) -> str | None:
    """The bundle whose ready-trained meta-models may start a study over ``kb``: the one
    bundle its spec names; ``None`` when it names none or several."""
    specs = [kb.spec] if isinstance(kb.spec, str) else list(kb.spec or [])
    bundles = [s[8:] for s in specs if s.startswith("bundled:")]
    return bundles[0] if len(bundles) == 1 else None


def _ready_meta_models(kb: KnowledgeBase, space: Space, task_type: str | None = None) -> list[Any]:
    """The ready-trained meta-models shipped with the one bundle of ``kb`` (without and with
    a budget column) that were trained on ``space``; none when it holds no bundle or several,
    or when none of the bundle's tasks is of the study's kind of problem ``task_type``."""
    bundle = _ready_bundle(kb)
    if bundle is None:
        return []
    if not any(t.source == f"bundled:{bundle}" for t in kb.of_task_type(task_type)):
        return []  # a classifier's model is no start for a regression study
    from metahpo.surrogates.meta import reads_space  # torch, imported with a bundle's models only

    ready = [bundled_meta_model(bundle, budgets=b) for b in (False, True)]
    return [model for model in ready if model is not None and reads_space(model, space)]


def _auto_metabo(kb: KnowledgeBase, space: Space, task_type: str | None) -> tuple[Optimizer, bool]:
    """The MetaBO ``"auto"`` makes for ``kb`` and a study of ``space`` and ``task_type``, and
    whether it starts from ready-trained meta-models (no meta-training)."""
    metabo, started = ready_start(make_optimizer("metabo", knowledge=kb), space, task_type)
    return metabo, bool(started)


def reopened_optimizer(record: StudyRecord, kb: Any) -> Optimizer:
    """The optimizer of a stored study, rebuilt from its spec with knowledge ``kb``; a
    MetaBO ``"auto"`` chose, or one named or given that started from a bundle's
    ready-trained meta-models (``user_attrs["ready_meta_models"]`` is ``"bundled:NAME"``,
    NAME the bundle of ``kb``; see :func:`ready_start`), gets them again (the spec keeps
    the provider's settings, not the models), so a study reopened before its first
    model-based suggestion does not meta-train on the bundle. A MetaBO given a provider of
    the user's own stored no such start, and reopens without one. An instance given to
    resume a study is started the same way by :func:`resumed_start`."""
    spec = dict(record.optimizer)
    ready = _stored_start(record, kb) if spec.get("name") == "metabo" else []
    if ready:
        from metahpo.surrogates.meta import MetaModelProvider

        params = dict(spec.get("params") or {})
        stored = MetaModelProvider.from_dict(params.get("meta_models") or {})
        params["meta_models"] = MetaModelProvider(stored.config, stored.adapt_steps, stored.store, initial=ready)
        spec["params"] = params
    return make_optimizer(spec, knowledge=kb)  # its stored state loaded as for any optimizer


def learner_after_auto(record: StudyRecord, storage: Storage) -> Optimizer | None:
    """The MetaBO that learns from a study ``"auto"`` ran with GP-BO for want of knowledge.

    Such a study, once finished, may be what makes the knowledge enough for MetaBO: its end
    then meta-trains the model the next study starts from, rather than the next study's
    first model-based suggestion. ``None`` for any other study, for knowledge built in
    memory (its meta-models would not outlive the process), and, with a warning, for
    knowledge that cannot be opened any more (a study's end does not fail for it).
    """
    choice = record.user_attrs.get("optimizer_choice")
    if not isinstance(choice, dict) or choice.get("optimizer") != "gpbo" or not choice.get("knowledge"):
        return None
    try:
        kb = open_stored_spec(choice["knowledge"], storage, record.name)
    except Exception as exc:  # a moved directory, a server gone: nothing to learn into
        logger.warning("Study %r: its knowledge could not be opened to learn from it (%s).", record.name, exc)
        return None
    return None if kb is None else _auto_metabo(kb, Space.from_dict(record.space), study_task_type(record))[0]
