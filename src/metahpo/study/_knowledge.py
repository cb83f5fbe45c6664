"""Which knowledge a study learns from, and which optimizer ``"auto"`` stands for."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from metahpo._validation import describe, init_params
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge import (
    TASK_TYPES,
    KnowledgeBase,
    bundled_meta_model,
    bundled_names,
    bundled_space_counts,
    check_sources,
    spec_with_credentials,
    spec_without_passwords,
    stored_task_type,
    task_type_attr,
)
from metahpo.optimizers import (
    MIN_RELATED_TASKS,
    Optimizer,
    make_optimizer,
    optimizer_class,
    refuse_knowledge,
    takes_knowledge,
)
from metahpo.space import Space
from metahpo.storage import (
    Storage,
    StudyRecord,
    absolute_sqlite_url,
    missing_sqlite_file,
    sqlite_path,
)
from metahpo.study._state import READY_META_MODELS_KEY

__all__ = [
    "auto_optimizer",
    "build_optimizer",
    "check_given_knowledge",
    "check_knowledge_argument",
    "check_task_kind",
    "default_knowledge",
    "given_optimizer",
    "knowledge_order",
    "learner_after_auto",
    "reachable_knowledge",
    "ready_start",
    "reopened_knowledge",
    "reopened_optimizer",
    "resolve_knowledge",
    "resumed_start",
    "study_knowledge",
    "study_task_type",
    "task_type_with",
]

logger = logging.getLogger("metahpo.study")


def check_given_knowledge(knowledge: Any) -> None:
    """Refuse ``knowledge=[]`` from a user: no source at all is neither the default
    knowledge (``None``) nor knowledge, and it would silently learn from nothing."""
    if isinstance(knowledge, Sequence) and not isinstance(knowledge, str) and not knowledge:
        raise InvalidParameterError(
            "The 'knowledge' parameter must name at least one source ('bundled:NAME', a "
            "storage URL or a directory), or be None for the default knowledge. Got [] instead."
        )


def check_knowledge_argument(knowledge: Any, optimizer: Any, creating: str | None) -> None:
    """Refuse ``knowledge=`` that :func:`build_optimizer` would refuse, without opening a
    storage: a value of another type, a source that does not exist (see
    :func:`~metahpo.knowledge.check_sources`; ``creating`` is the URL of the study's own
    storage, whose file opening it creates), knowledge for an optimizer named that learns
    from none, or a spec with an optimizer instance."""
    check_given_knowledge(knowledge)
    if knowledge is None:
        return
    if not isinstance(knowledge, KnowledgeBase) and not _is_spec(knowledge):
        raise _knowledge_type_error(knowledge)
    if isinstance(optimizer, str) and optimizer != "auto":
        refuse_knowledge(optimizer_class(optimizer), knowledge)
    if not isinstance(knowledge, KnowledgeBase):
        check_sources(knowledge, creating)
    if not isinstance(optimizer, str) and not (
        isinstance(knowledge, KnowledgeBase) and getattr(optimizer, "knowledge", None) is knowledge
    ):
        raise _instance_knowledge_error(optimizer)


def _is_spec(knowledge: Any) -> bool:
    return isinstance(knowledge, str) or (
        isinstance(knowledge, Sequence) and all(isinstance(s, str) for s in knowledge)
    )


def _knowledge_type_error(knowledge: Any) -> InvalidParameterError:
    return InvalidParameterError(
        "The 'knowledge' parameter must be a KnowledgeBase, a knowledge spec ('bundled:NAME', "
        f"a storage URL or a directory), a list of specs or None. Got {describe(knowledge)} instead."
    )


def _instance_knowledge_error(optimizer: Any) -> InvalidParameterError:
    return InvalidParameterError(
        "The 'knowledge' parameter of create_study goes with an optimizer name ('auto', "
        "'metabo', 'portfolio'); an optimizer instance takes its knowledge in its "
        f"constructor, e.g. MetaBO(knowledge=kb). Got knowledge with {describe(optimizer)}."
    )


def resolve_knowledge(knowledge: Any) -> KnowledgeBase | None:
    """A :class:`KnowledgeBase` from what users pass as ``knowledge=``: a knowledge base, a
    spec (``"bundled:NAME"``, a storage URL, a directory) or a list of specs."""
    if knowledge is None or isinstance(knowledge, KnowledgeBase):
        return knowledge
    if _is_spec(knowledge):
        return KnowledgeBase.open(knowledge if isinstance(knowledge, str) else list(knowledge))
    raise _knowledge_type_error(knowledge)


def reachable_knowledge(spec: Any, storage: Storage, study: str) -> Any:
    """A study's stored knowledge spec as it can be opened now.

    A SQLite source whose file is gone is left out, with a warning (the study still
    opens, as it did before missing files were refused). Studies stored by earlier
    versions recorded their own storage's relative URL (``sqlite:///metahpo.db``): one
    naming the file of the storage the study is opened through stands for it.
    """
    if spec is None:
        return None
    items = [spec] if isinstance(spec, str) else list(spec)
    own = getattr(storage, "url", None)
    own_file = sqlite_path(own) if isinstance(own, str) else None
    kept = []
    for item in items:
        path = sqlite_path(item) if isinstance(item, str) else None
        if path is not None and own_file is not None and not path.is_absolute() and path.name == own_file.name:
            item = absolute_sqlite_url(own)  # type: ignore[arg-type]
        if missing_sqlite_file(item) is not None:
            logger.warning("Study %r: its knowledge source %s does not exist any more; left out.", study, item)
            continue
        kept.append(item)
    return kept[0] if isinstance(spec, str) and kept else (kept or None)


def reopened_knowledge(record: StudyRecord, storage: Storage, knowledge: Any) -> KnowledgeBase | None:
    """The knowledge of the stored study ``record``'s optimizer, opened through ``storage``.

    Opened from the spec the optimizer stored, unless ``knowledge`` (a knowledge base or a
    spec) is given: knowledge built in memory has no spec. A study ``"auto"`` ran with an
    optimizer that learns from no knowledge (GP-BO) takes ``knowledge`` and does not use it.
    """
    spec = dict(record.optimizer)
    check_given_knowledge(knowledge)
    if knowledge is not None and _auto_chose_a_non_learner(record):
        # Resumed with the knowledge it was created with, as create_study(..., knowledge=kb,
        # load_if_exists=True) does: "auto" chose when the study was created, and what the
        # study's end learns into is the spec its choice recorded (learner_after_auto).
        # What is given is still opened, so that knowledge that is none is refused.
        resolve_knowledge(knowledge)
        return None
    # Stored specs carry no password: take it from this storage's URL when the knowledge
    # is on the same server as the same user (else PGPASSWORD or ~/.pgpass supply it).
    stored = spec_with_credentials(dict(spec.get("params", {})).get("knowledge"),
                                   [str(getattr(storage, "url", ""))])
    if knowledge is None:
        stored = reachable_knowledge(stored, storage, record.name)
    kb = resolve_knowledge(knowledge if knowledge is not None else stored)
    if kb is None and "knowledge" in dict(spec.get("params", {})):
        logger.warning(
            "Study %r stored no knowledge spec (its knowledge was built in memory, or it had "
            "none): reopened without knowledge=, its %s learns from no past tasks. "
            "Pass knowledge= to load_study to give it its knowledge again.",
            record.name, spec.get("name", "optimizer"))
    return kb


def _auto_chose_a_non_learner(record: StudyRecord) -> bool:
    """Whether ``"auto"`` chose the stored study's optimizer, and it learns from no knowledge."""
    if not isinstance(record.user_attrs.get("optimizer_choice"), dict):
        return False
    try:
        cls = optimizer_class(str(dict(record.optimizer).get("name")))
    except InvalidParameterError:  # a name no longer registered: reopening it says so
        return False
    return not takes_knowledge(cls)


def study_knowledge(
    optimizer: Any, user_attrs: Any, storage: Storage, study: str
) -> KnowledgeBase | None:
    """What the stored study ``study`` learns from: its optimizer's knowledge spec, or for
    a study ``"auto"`` ran with GP-BO the knowledge that choice looked at; ``None`` when it
    stored neither (knowledge built in memory, or an optimizer without knowledge).

    Opened from the specs through ``storage`` as :func:`reopened_knowledge` opens them
    (passwords from the storage's URL, missing SQLite files left out).
    """
    params = dict(dict(optimizer or {}).get("params") or {})
    choice = dict(user_attrs or {}).get("optimizer_choice")
    spec = params.get("knowledge")
    if spec is None and isinstance(choice, dict):
        spec = choice.get("knowledge")
    if not spec:
        return None
    return _open_stored_spec(spec, storage, study)


def _open_stored_spec(spec: Any, storage: Storage, study: str) -> KnowledgeBase | None:
    """The knowledge of a spec the stored study ``study`` recorded, opened through
    ``storage``: with the password of the storage's URL (stored specs carry none), and
    without the SQLite files that are gone (see :func:`reachable_knowledge`)."""
    spec = spec_with_credentials(spec, [str(getattr(storage, "url", ""))])
    return resolve_knowledge(reachable_knowledge(spec, storage, study))


def default_knowledge(space: Space, storage: Storage) -> KnowledgeBase:
    """What a study learns from when it is given no knowledge: the finished studies of its
    storage, and the bundled meta-data of exactly its space (bundled data of another
    space is never mapped onto a user's space just because parameter names coincide)."""
    specs = [f"bundled:{name}" for name in bundled_names() if bundled_space_counts(name).get(space.fingerprint())]
    url = getattr(storage, "url", None)
    if url is not None:
        specs.append(url)
    return KnowledgeBase.open(specs)


def build_optimizer(
    optimizer: Any, knowledge: Any, space: Space, storage: Storage, task_type: str | None = None
) -> tuple[Optimizer, dict[str, Any]]:
    """The study's optimizer, and what the study stores in its ``user_attrs`` about how it
    was built: for ``"auto"``, which optimizer it chose and why (``"optimizer_choice"``);
    for a MetaBO named or given that starts from a bundle's ready-trained meta-models, the
    bundle (``"ready_meta_models"``, see :func:`ready_start`).

    ``"auto"`` is :func:`auto_optimizer`'s choice for the knowledge (else
    :func:`default_knowledge`), the study's space and ``task_type``, the kind of problem the
    study records (its task's, else its preset's); once the study has observations, MetaBO
    itself checks, suggestion by suggestion, that its meta-learned surrogate predicts them
    better than a GP on the study alone. An optimizer that learns from knowledge and is
    named without any gets :func:`default_knowledge`.
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
        raise _instance_knowledge_error(optimizer)
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
        kb = _open_stored_spec(choice["knowledge"], storage, record.name)
    except Exception as exc:  # a moved directory, a server gone: nothing to learn into
        logger.warning("Study %r: its knowledge could not be opened to learn from it (%s).", record.name, exc)
        return None
    return None if kb is None else _auto_metabo(kb, Space.from_dict(record.space), study_task_type(record))[0]


def study_task_type(record: StudyRecord) -> str | None:
    """The kind of problem a stored study records: its task's (the descriptor's, else the
    task's ``kind``), else its preset's (stored as ``"task_type"`` by a study created with a
    preset), or ``None``; read as the knowledge reads it
    (:func:`~metahpo.knowledge.stored_task_type`), so the finished study's task keeps it."""
    return stored_task_type(record.user_attrs, f"the 'task' of the study {record.name!r}")


def task_type_with(record: StudyRecord, kind: str | None, where: str, from_descriptor: bool) -> str | None:
    """The kind of problem the study of ``record`` records once given a task recording
    ``kind`` (the task's, else the kind stored as its ``"task_type"``, a preset's).

    A ``kind`` contradicting that stored kind is refused by :func:`check_task_kind`, as
    ``create_study`` refuses a task contradicting its preset: ``where`` names the task
    (``"The 'task' parameter of create_study"``), ``from_descriptor`` says whether its
    descriptor's ``n_classes`` records the kind (else the task's ``kind`` does).
    """
    stored = task_type_attr(record.user_attrs)
    check_task_kind(kind, stored, where, f"the study {record.name!r} (its stored 'task_type')", from_descriptor)
    return kind if kind is not None else stored


def check_task_kind(kind: str | None, wanted: str | None, where: str, owner: str, from_descriptor: bool) -> None:
    """Refuse a task recording the kind of problem ``kind`` for ``owner``, which is for
    ``wanted`` (a preset's kind): a task described as regression for a classifier's preset,
    or the other way round, is a mistake the losses would not show (a whole-number target
    reads as classes). ``where`` names the task (``"The 'task' parameter of
    create_study"``), ``owner`` what is for ``wanted`` (``"the 'hgb-classifier' preset"``),
    ``from_descriptor`` whether the descriptor's ``n_classes`` records ``kind`` (else the
    task's ``kind`` does). A ``kind`` or ``wanted`` of ``None`` contradicts nothing."""
    if kind is None or wanted is None or kind == wanted:
        return
    raise InvalidParameterError(
        f"{where} describes a {kind} dataset, but {owner} is for {wanted}. Give a task of "
        f"{wanted} data: {_kind_advice(wanted, from_descriptor)}; or, for {kind} data, "
        f"create a study with a {kind} preset or none."
    )


def _kind_advice(wanted: str, from_descriptor: bool) -> str:
    """How to give a task of the kind ``wanted`` when the kind given was another: the
    descriptor's (``from_descriptor``, from data whose target may have been misread), else
    the task's own ``kind``."""
    if from_descriptor:
        return (
            f"describe the data with mh.Task.from_data(X, y, task_type={wanted!r}) if its "
            "target was misread (a regression target of whole numbers reads as classes)"
        )
    return f"give the task the kind {wanted!r} (mh.Task(name, kind={wanted!r}))"
