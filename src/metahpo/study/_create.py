"""Create, load, list and delete studies by name."""

from __future__ import annotations

import math
import os
import uuid
from typing import TYPE_CHECKING, Any

import numpy as np

from metahpo._validation import check_int, describe
from metahpo.exceptions import DuplicatedStudyError, InvalidParameterError, StudyNotFoundError
from metahpo.history import DIRECTIONS
from metahpo.knowledge import TASK_TYPE_KEY, task_kind, task_type_of
from metahpo.optimizers import (
    Optimizer,
    check_optimizer,
    optimizer_class,
    optimizer_spec,
    takes_knowledge,
)
from metahpo.schedulers import Scheduler, make_scheduler, scheduler_spec
from metahpo.space import Space
from metahpo.storage import (
    ENV_VAR,
    Storage,
    StudyRecord,
    check_study_name,
    existing_storage,
    get_storage,
    missing_sqlite_file,
    stored_names,
)
from metahpo.study._knowledge import check_knowledge_argument
from metahpo.study._labels import space_difference
from metahpo.study._optimizer_choice import build_optimizer, given_optimizer, resumed_start
from metahpo.study._reopen import reopened_scheduler
from metahpo.study._study import Study
from metahpo.study._task_type import check_task_kind, task_type_with

if TYPE_CHECKING:
    from metahpo.presets import Preset


def create_study(
    name: str | None = None,
    space: Space | None = None,
    storage: Storage | str | None = None,
    direction: str = "minimize",
    optimizer: Any = "auto",
    scheduler: Any = None,
    seed: int | None = None,
    load_if_exists: bool = False,
    task: Any = None,
    knowledge: Any = None,
    preset: str | None = None,
) -> Study:
    """Create a study (or load it, with ``load_if_exists=True``).

    Args:
        name: a unique name in the storage; a random one when omitted.
        space: the search space.
        storage: ``None`` (``$METAHPO_STORAGE`` or in memory), a URL such as
            ``"sqlite:///metahpo.db"`` / ``"postgresql+psycopg://..."``, or a storage object.
        direction: ``"minimize"`` or ``"maximize"``.
        optimizer: an optimizer instance or its name (``"random"``, ``"sobol"``, ``"gpbo"``,
            ``"metabo"``, ``"auto"``). A MetaBO named, or given with the default meta-model
            provider (``meta_models`` ``None`` or a folder), over a bundle whose ready-trained
            meta-model reads ``space`` (a preset's) starts from that model, as ``"auto"``'s
            does, rather than meta-training on the bundle; a provider given is used as it is.
        scheduler: ``None`` (full budget), a scheduler instance or its name.
        seed: the master seed; every random draw of the study derives from it.
        load_if_exists: load the stored study of this name instead of failing.
        task: an optional task descriptor for meta-learning: a
            :class:`~metahpo.knowledge.Task` (``Task.from_data(X, y)``), its ``to_dict()``
            form or a descriptor dict. The kind of problem it records (its descriptor's
            ``n_classes``, else the task's ``kind``: ``Task("mine", kind="regression")``) is
            the study's, else the preset's; ``"auto"``, MetaBO and the portfolio then learn
            from no task of another kind. A kind contradicting the descriptor or the preset
            is refused, and so is a task given later that contradicts the preset.
        knowledge: what ``"auto"``, ``"metabo"`` and ``"portfolio"`` learn from: a
            :class:`~metahpo.knowledge.KnowledgeBase`, a spec (``"bundled:NAME"``, a storage
            URL, a directory) or a list of specs. Default: the finished studies of
            ``storage`` and the bundled meta-data of exactly this space (with ``preset``:
            the preset's bundled knowledge and the finished studies of ``storage``).
        preset: a preset name (see :func:`metahpo.presets.names`): its space is the
            study's space when ``space`` is omitted, and its bundled knowledge is part of
            the default knowledge.

    Example:
        >>> import metahpo as mh
        >>> space = mh.Space({"x": mh.Float(0.0, 1.0)})
        >>> study = mh.create_study(name="demo", space=space, optimizer="random", seed=3)
        >>> study.name, study.direction
        ('demo', 'minimize')
    """
    # Every argument that needs no storage is checked before one is opened, so that a
    # mistake does not leave an empty database file behind.
    check_optimizer(optimizer)
    if direction not in DIRECTIONS:
        raise InvalidParameterError(
            f"The 'direction' parameter of create_study must be 'minimize' or 'maximize'. Got {describe(direction)} instead."
        )
    task_record = task.to_dict() if task is not None and hasattr(task, "to_dict") else task
    # The study's kind of problem: the task's (its descriptor's n_classes, else its kind),
    # else the preset's; "auto" counts, and MetaBO learns from, the tasks of that kind only.
    # Checked as MetaHPOSampler(task=) checks it.
    task_descriptor, task_type = task_kind(task_record, "the 'task' parameter of create_study")
    task_records_kind = task_type is not None
    kind_from_descriptor = task_type_of(task_descriptor) is not None
    chosen_preset: Preset | None = None
    if preset is not None:
        from metahpo.presets import get

        chosen_preset = get(preset)
        check_task_kind(task_type, chosen_preset.task_type, "The 'task' parameter of create_study",
                        f"the {preset!r} preset", kind_from_descriptor)
    if name is not None:
        check_study_name(name)
    if chosen_preset is None:
        space = _check_space(space)
    else:
        space = _preset_space(chosen_preset, space)
        if task_type is None:  # the preset's kind: what the study records of itself
            task_type = chosen_preset.task_type
    # The study's own SQLite file may be named as knowledge before opening it creates it.
    url = _url_or_default(storage)
    check_knowledge_argument(knowledge, optimizer, url if isinstance(url, str) else None)
    if not isinstance(load_if_exists, bool):
        raise InvalidParameterError(
            f"The 'load_if_exists' parameter of create_study must be a bool. Got {describe(load_if_exists)} instead."
        )
    seed_given = seed is not None
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))  # type: ignore[operator]
    seed = check_int(seed, "seed", "create_study", minimum=0, maximum=2**63 - 1)
    resolved_scheduler = make_scheduler(scheduler)
    if preset is not None:
        _check_preset_budgets(preset, resolved_scheduler)
    store = get_storage(storage)
    # A resumed study's optimizer reopens with its stored knowledge unless knowledge is
    # given: the preset's default is for the optimizer "auto" would build, which may not
    # be the stored one (a random search learns from nothing, and refuses knowledge).
    given_knowledge = knowledge
    if chosen_preset is not None:
        knowledge = _preset_knowledge(chosen_preset, knowledge, optimizer, store)
    name = name if name is not None else f"study-{uuid.uuid4().hex[:10]}"
    # A stored study is looked for before an optimizer is built: it resumes with its stored
    # optimizer, so one built now ("auto" opening the knowledge to choose, a learner its
    # default knowledge) would be thrown away.
    record = _stored_study(store, name) if load_if_exists else None
    if record is None:
        resolved_optimizer, how_built = build_optimizer(optimizer, knowledge, space, store, task_type)
        user_attrs: dict[str, Any] = {}
        if task_record is not None:
            user_attrs["task"] = task_record  # with the kind it records
        if chosen_preset is not None:
            # The preset's kind, also beside a task recording it: a task given later
            # (study.set_user_attr("task", ...)) is checked against it.
            user_attrs[TASK_TYPE_KEY] = chosen_preset.task_type
        # Auto's choice, or the bundle whose ready-trained meta-models start a MetaBO named
        # or given: what reopening the study rebuilds its optimizer by.
        user_attrs.update(how_built)
        try:
            record = store.create_study(
                name, space=space.to_dict(), direction=direction, seed=seed,
                optimizer=optimizer_spec(resolved_optimizer),
                scheduler=scheduler_spec(resolved_scheduler), user_attrs=user_attrs,
            )
        except DuplicatedStudyError as exc:
            if not load_if_exists:
                raise DuplicatedStudyError(
                    f"{exc} Pass load_if_exists=True to continue it (or open it with "
                    f"mh.load_study({name!r}, storage)), or choose another name."
                ) from exc
            record = store.get_study(name)  # created by another process since it was looked for
        else:
            return Study(record, store, resolved_optimizer, resolved_scheduler)
    # Only an instance is needed as given: it is compared with the stored one and used.
    # Whether it starts from a bundle's ready-trained meta-models is the stored study's
    # to say (below), not this call's arguments: a study of another kind of problem, or
    # made with a provider of the user's own, did not.
    instance = None if isinstance(optimizer, str) else given_optimizer(optimizer, knowledge)
    _check_same_study(record, space, direction, optimizer, instance,
                      scheduler, resolved_scheduler, seed if seed_given else None, task_record)
    if task_record is not None and "task" not in record.user_attrs:
        # A descriptor given now to a study stored without one: kept, as
        # study.set_user_attr("task", ...) would, rather than dropped in silence, and
        # checked as it checks it.
        task_type_with(record, task_type if task_records_kind else None, "The 'task' parameter of create_study",
                       kind_from_descriptor)
        store.set_study_user_attrs(record.study_id, {"task": task_record})
        record = store.get_study(name)
    # A scheduler instance given is the stored one (checked above): used as given, so that
    # one not built in (the user's own) reopens too.
    given_scheduler = resolved_scheduler if isinstance(scheduler, Scheduler) else None
    if instance is not None:
        # The instance given is the stored optimizer (checked above): use it, so that a
        # class never registered by name (one of the user's own) reopens too. Its state
        # is loaded from the trials before each suggestion, as for a rebuilt one.
        return Study(record, store, resumed_start(instance, record), given_scheduler or reopened_scheduler(record))
    return Study.from_record(record, store, given_knowledge, given_scheduler)


def _stored_study(store: Storage, name: str) -> StudyRecord | None:
    try:
        return store.get_study(name)
    except StudyNotFoundError:
        return None


def _check_space(space: Any) -> Space:
    if not isinstance(space, Space):
        raise InvalidParameterError(
            f"The 'space' parameter of create_study must be a metahpo Space. Got {describe(space)} instead."
        )
    return space


def _check_same_study(
    record: StudyRecord, space: Space, direction: str, optimizer: Any, instance: Any,
    scheduler: Any, resolved_scheduler: Any, seed: int | None, task: Any = None,
) -> None:
    """Refuse ``load_if_exists`` when what was asked differs from the stored study: a
    silently different direction, optimizer, scheduler, seed or task would be another study.

    ``optimizer`` is as given; ``instance`` the optimizer an instance given resolves to
    (``None`` for a name, whose class's name is compared: no optimizer is built for it).
    """
    stored_optimizer = dict(record.optimizer)
    if isinstance(optimizer, str):
        # "auto" is not compared (below); a name by its class's name, without building one.
        named: type[Optimizer] | None = None if optimizer == "auto" else optimizer_class(optimizer)
        asked_optimizer = {} if named is None else {"name": named.name}
    else:
        asked_optimizer = optimizer_spec(instance)
    differences = []
    stored_space = Space.from_dict(record.space)
    if stored_space.fingerprint() != space.fingerprint():
        differences.append(("space", f"a space {space_difference(stored_space, space)}",
                            "another search space"))
    if record.direction != direction:
        differences.append(("direction", repr(direction), repr(record.direction)))
    # "auto" stands for whatever was chosen when the study was created.
    if optimizer != "auto" and stored_optimizer.get("name") != asked_optimizer["name"]:
        differences.append(("optimizer", repr(asked_optimizer["name"]), repr(stored_optimizer.get("name"))))
    elif not isinstance(optimizer, str) and _params(stored_optimizer) != _params(asked_optimizer):
        differences.append(("optimizer", repr(_params(asked_optimizer)), repr(_params(stored_optimizer))))
    if scheduler is not None and dict(record.scheduler) != scheduler_spec(resolved_scheduler):
        differences.append(("scheduler", repr(scheduler_spec(resolved_scheduler)), repr(dict(record.scheduler))))
    if seed is not None and record.seed != seed:
        differences.append(("seed", repr(seed), repr(record.seed)))
    stored_task = record.user_attrs.get("task")
    if task is not None and stored_task is not None and not _same_task(stored_task, task):
        differences.append(("task", describe(task), describe(stored_task)))
    if differences:
        name, given, stored = differences[0]
        raise InvalidParameterError(
            f"The {name!r} parameter of create_study must match the stored study {record.name!r} "
            f"when load_if_exists=True: it was created with {stored}. Got {given} instead. "
            "Choose another name, or open the study as stored with load_study."
        )


def _params(spec: dict[str, Any]) -> dict[str, Any]:
    # The knowledge is where tasks come from, not how the optimizer works: it may be given
    # again in another form (a KnowledgeBase built in memory has no spec).
    return {k: v for k, v in dict(spec.get("params", {})).items() if k != "knowledge"}


def _preset_space(chosen: Any, space: Any) -> Space:
    """The space of the preset ``chosen``: ``space`` must be it when given."""
    if space is None:
        return chosen.space
    if not isinstance(space, Space) or space.fingerprint() != chosen.space.fingerprint():
        raise InvalidParameterError(
            f"The 'space' parameter of create_study must be omitted or be the space of the "
            f"{chosen.name!r} preset ({chosen.space.to_dict()}) when 'preset' is given. "
            f"Got {describe(space)} instead."
        )
    return space


def _preset_knowledge(chosen: Any, knowledge: Any, optimizer: Any, store: Storage) -> Any:
    """``knowledge``, or without it (for an optimizer that learns) the bundle of the preset
    ``chosen`` plus the storage's finished studies."""
    learns = isinstance(optimizer, str) and (
        optimizer == "auto" or takes_knowledge(optimizer_class(optimizer))
    )
    if knowledge is None and learns:
        from metahpo.knowledge import bundled_names

        knowledge = [f"bundled:{chosen.knowledge_name}"] if chosen.knowledge_name in bundled_names() else []
        url = getattr(store, "url", None)
        if url is not None:
            knowledge.append(url)
        knowledge = knowledge or None
    return knowledge


def _check_preset_budgets(preset: str, scheduler: Any) -> None:
    """Budgets the preset's objective cannot train at would fail every trial that gets them."""
    from metahpo.presets import get

    chosen = get(preset)
    low, high = getattr(scheduler, "min_budget", None), getattr(scheduler, "max_budget", None)
    if low is None or high is None or chosen.min_budget <= low <= high <= chosen.max_budget:
        return
    raise InvalidParameterError(
        f"The 'scheduler' parameter of create_study must have budgets within the {chosen.name!r} "
        f"preset's range of {chosen.budget_unit}, [{chosen.min_budget}, {chosen.max_budget}]. "
        f"Got min_budget={low:g} and max_budget={high:g} instead."
    )


def load_study(name: str, storage: Storage | str | None = None, knowledge: Any = None) -> Study:
    """Open a stored study with the optimizer and scheduler it was created with.

    The optimizer's knowledge is opened again from the spec it stored; a knowledge base
    built in memory has no spec and is given again as ``knowledge``. A study ``"auto"``
    ran with GP-BO (too few related tasks) takes the knowledge it was created with and
    does not use it.
    """
    return Study.load(name, storage, knowledge)


def delete_study(name: str, storage: Storage | str | None = None) -> None:
    """Delete a study and all its trials.

    A SQLite URL must name an existing metahpo database, as for :func:`list_studies`.
    """
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameterError(
            "The 'name' parameter of delete_study must be a non-empty string, the name of a "
            f"stored study. Got {describe(name)} instead."
        )
    store = existing_storage(_url_or_default(storage))
    try:
        store.delete_study(name)
    except StudyNotFoundError as exc:
        raise StudyNotFoundError(f"{exc} {stored_names(store)}".rstrip()) from exc


def _same_task(stored: Any, given: Any) -> bool:
    """Whether two task records describe the same task: equal names and fields, and
    descriptors equal up to rounding, since computed meta-features (skewness, landmarker
    scores) can differ in their last bits between machines and library versions."""
    if isinstance(stored, dict) and isinstance(given, dict):
        return stored.keys() == given.keys() and all(_same_task(stored[k], given[k]) for k in stored)
    numbers = (int, float)
    if isinstance(stored, numbers) and isinstance(given, numbers) and not isinstance(stored, bool):
        return math.isclose(stored, given, rel_tol=1e-6, abs_tol=1e-9)
    return bool(stored == given)


def list_studies(storage: Storage | str | None = None) -> list[StudyRecord]:
    """Every study in the storage.

    A SQLite file that does not exist holds no study: the list is empty and no file is
    created (opening one creates its tables, so a mistyped path would become an empty
    database). Another program's SQLite file raises :class:`~metahpo.exceptions.StorageError`
    rather than gaining metahpo's tables.
    """
    url = _url_or_default(storage)
    if missing_sqlite_file(url) is not None:
        return []
    return existing_storage(url).list_studies()


def _url_or_default(storage: Storage | str | None) -> Storage | str | None:
    """``storage``, or the ``$METAHPO_STORAGE`` URL it stands for when ``None``."""
    return storage if storage is not None else os.environ.get(ENV_VAR) or None


