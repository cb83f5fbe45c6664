"""Optuna studies as knowledge: one task per study, pruned trials as lower-budget evaluations.

The mapping, decided once here and documented in ``docs/knowledge-sources.md``:

* **Space.** ``FloatDistribution(low, high, log, step)`` becomes ``Float(low, high, log=log)``
  and ``IntDistribution(low, high, log, step)`` becomes ``Int(low, high, log=log)``: a
  ``step`` is not kept (the grid values lie in the range, so every evaluation is valid, and
  a new study may search between them). A distribution with ``low == high`` becomes
  ``Categorical([low])``. ``CategoricalDistribution(choices)`` becomes ``Categorical(choices)``.
* **Conditional parameters.** Trials of one study may suggest different parameters
  (define-by-run). The task keeps the parameters *every* usable trial has (the
  intersection), so no trial is dropped; a parameter outside it is marginalised over, as
  when a task is mapped onto a smaller space. When one parameter's distribution changed
  between trials, the ranges are joined (``log`` only if every trial used it; ``Int``
  only if every trial used an int) and categorical choices are united; a parameter that
  was categorical in some trials and numeric in others is left out, with a warning.
* **Evaluations.** A COMPLETE trial's value is a loss (negated for ``maximize``). When
  the study reported intermediate values, budgets are Optuna steps plus one (Optuna's
  pruners count steps from 0, so ``step + 1`` is the number of steps done and always
  > 0): a PRUNED trial's intermediate values are evaluations at those budgets, and a
  COMPLETE trial's value is an evaluation at the full budget, ``max step + 1`` over the
  study, with its intermediate values at earlier steps as lower-budget evaluations. A
  study without intermediate values is a full-budget task (``budgets=None``). FAIL,
  RUNNING and WAITING trials, PRUNED trials without intermediate values and non-finite
  values are skipped.
* **Studies left out.** A multi-objective study, or one with fewer than ``min_trials``
  usable trials (COMPLETE, or PRUNED with intermediate values), or none of whose
  parameters is shared by every trial: skipped with a warning when every study of a
  storage is read; an error when the study was named in ``study_names`` or passed itself.
  An invalid descriptor in ``descriptors`` is the caller's mistake: always an error.
* **Provenance.** The task is named after the study (with ``prefix``); its source is
  ``optuna:<storage URL, password masked>:<study>``; its descriptor is ``descriptors[name]``
  when given, else the study's ``user_attrs["task"]`` (what metahpo's ``create_study(task=)``
  writes) or ``user_attrs["descriptor"]`` when that is a valid ``{name: number}`` dict; its
  kind of problem is the descriptor's ``n_classes``, else the kind ``user_attrs["task"]``
  records (``Task(..., kind="regression").to_dict()``): :func:`optuna_task_record`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

from metahpo._validation import check_int, describe
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge._descriptors import task_type_of
from metahpo.knowledge._kind import stored_task_kind
from metahpo.knowledge._task import MIN_TASK_TRIALS, Task, check_descriptor
from metahpo.space import Categorical, Float, Int, Param, Space
from metahpo.storage import mask_password, mask_passwords_in, missing_sqlite_file

__all__ = ["optuna_task_record", "read_optuna"]

logger = logging.getLogger(__name__)

OPTUNA_EXTRA = "pip install 'metahpo[optuna]'"
# The table every Optuna storage has (its schema version): a database without it is not one.
_OPTUNA_TABLE = "version_info"


def _import_optuna() -> Any:
    try:
        import optuna
    except ImportError as exc:
        raise ImportError(
            f"Reading Optuna studies needs the 'optuna' package: {OPTUNA_EXTRA}."
        ) from exc
    return optuna


def read_optuna(
    source: Any,
    study_names: Sequence[str] | None = None,
    *,
    min_trials: int = MIN_TASK_TRIALS,
    prefix: str = "",
    descriptors: Mapping[str, Mapping[str, float]] | None = None,
) -> list[Task]:
    """One task per Optuna study of ``source`` (a storage URL, an ``optuna.Study`` or an
    Optuna storage object), all validated before any is returned."""
    owner = "KnowledgeBase.from_optuna"
    optuna = _import_optuna()
    min_trials = check_int(min_trials, "min_trials", owner, minimum=1)
    if not isinstance(prefix, str):
        raise InvalidParameterError(
            f"The 'prefix' parameter of {owner} must be a string. Got {describe(prefix)} instead."
        )
    given = _check_descriptors(descriptors, owner)
    if isinstance(source, optuna.Study):
        if study_names is not None:
            raise InvalidParameterError(
                f"The 'study_names' parameter of {owner} must be None when an optuna.Study is "
                f"given. Got {describe(study_names)} instead."
            )
        label = _study_label(source)
        studies = [(source, True)]
    else:
        storage, label = _open_storage(optuna, source, owner)
        try:
            available = optuna.get_all_study_names(storage)
        except _read_errors(optuna) as exc:
            raise InvalidParameterError(
                _not_optuna(source, label, exc) or f"Cannot read Optuna studies from {label}: {_reason(exc)}"
            ) from exc
        names = _check_names(study_names, available, label, owner)
        explicit = study_names is not None
        studies = [
            (optuna.load_study(study_name=name, storage=storage), explicit) for name in names
        ]
    unknown = sorted(set(given) - {study.study_name for study, _ in studies})
    if unknown:
        raise InvalidParameterError(
            f"The 'descriptors' parameter of {owner} names studies that are not imported: "
            f"{unknown}."
        )
    tasks = []
    for study, explicit in studies:
        task = _study_task(optuna, study, label, min_trials, prefix, given, explicit)
        if task is not None:
            tasks.append(task)
    return tasks


def _check_descriptors(descriptors: Any, owner: str) -> dict[str, dict[str, float] | None]:
    """The caller's descriptors, each checked: a bad one is the caller's mistake, refused
    whether or not its study is named in ``study_names`` (only what a study's own data
    lacks skips it)."""
    if descriptors is None:
        return {}
    if not isinstance(descriptors, Mapping):
        raise InvalidParameterError(
            f"The 'descriptors' parameter of {owner} must map study names to descriptors or be "
            f"None. Got {describe(descriptors)} instead."
        )
    checked: dict[str, dict[str, float] | None] = {}
    for study_name, descriptor in descriptors.items():
        if not isinstance(study_name, str):
            raise InvalidParameterError(
                f"The 'descriptors' parameter of {owner} must map study names (strings) to "
                f"descriptors. Got the key {describe(study_name)} instead."
            )
        try:
            checked[study_name] = check_descriptor(descriptor, f"descriptors[{study_name!r}]")
        except InvalidParameterError as exc:
            raise InvalidParameterError(
                f"The 'descriptors' parameter of {owner} holds an invalid descriptor for the "
                f"Optuna study {study_name!r}: {exc}"
            ) from exc
    return checked


# Sources ------------------------------------------------------------------------------------
def _open_storage(optuna: Any, source: Any, owner: str) -> tuple[Any, str]:
    if isinstance(source, optuna.storages.BaseStorage):
        return source, _storage_label(source)
    if not isinstance(source, str) or "://" not in source:
        raise InvalidParameterError(
            f"The 'storage' parameter of {owner} must be an Optuna storage URL (e.g. "
            "'sqlite:///optuna.db'), an optuna.Study or an Optuna storage. "
            f"Got {describe(mask_password(source) if isinstance(source, str) else source)} instead."
        )
    label = mask_password(source)
    missing = missing_sqlite_file(source)
    if missing is not None:
        raise InvalidParameterError(
            f"There is no Optuna storage at {label}: the file {missing!r} does not exist."
        )
    try:
        # Reading never creates tables; a database that is not Optuna's fails here or
        # when its studies are listed.
        return optuna.storages.RDBStorage(source, skip_table_creation=True), label
    except _read_errors(optuna) as exc:
        raise InvalidParameterError(
            _not_optuna(source, label, exc) or f"Cannot open the Optuna storage {label}: {_reason(exc)}"
        ) from exc


def _not_optuna(source: Any, label: str, exc: BaseException) -> str | None:
    """Why the database at ``source`` is no Optuna storage, when reading it failed for a
    missing Optuna table and its tables say so (the driver's "no such table: version_info"
    says it only to who knows Optuna's schema); ``None`` otherwise, and the driver's error
    is the one to give. Other failures (a server that does not answer) are not tried again."""
    if not isinstance(source, str) or _OPTUNA_TABLE not in str(exc.__cause__ or exc):
        return None
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.exc import SQLAlchemyError

    try:
        engine = create_engine(source)
        try:
            tables = set(inspect(engine).get_table_names())
        finally:
            engine.dispose()
    except SQLAlchemyError:
        return None
    if _OPTUNA_TABLE in tables:
        return None
    if any(table.startswith("metahpo_") for table in tables):
        return (
            f"{label} is not an Optuna storage. It is a metahpo storage: KnowledgeBase.open(url) "
            "reads its finished studies, and `metahpo kb import URL` imports them."
        )
    return f"{label} is not an Optuna storage: it has no {_OPTUNA_TABLE!r} table, which every Optuna storage has."


def _read_errors(optuna: Any) -> tuple[type[BaseException], ...]:
    """What opening or reading a storage that is not a readable Optuna database raises:
    Optuna's own errors, SQLAlchemy's (bad URL, missing driver, no such table) and the
    schema-version check's ``RuntimeError``."""
    from sqlalchemy.exc import SQLAlchemyError

    return (optuna.exceptions.OptunaError, SQLAlchemyError, RuntimeError, ValueError)


def _reason(exc: BaseException) -> str:
    # Optuna wraps database errors in a generic message; the cause says what went wrong.
    cause = exc.__cause__ or exc
    text = str(cause).splitlines()[0] if str(cause) else ""
    return mask_passwords_in(f"{type(cause).__name__}: {text}"[:300])




def _storage_label(storage: Any) -> str:
    # RDBStorage keeps its URL in `url`; Optuna wraps it in a cache whose backend is
    # `_backend`. Other storages are named by their type.
    for candidate in (storage, getattr(storage, "_backend", None)):
        url = getattr(candidate, "url", None)
        if isinstance(url, str):
            return mask_password(url)
    return type(storage).__name__


def _study_label(study: Any) -> str:
    # optuna.Study exposes no public accessor for its storage.
    storage = getattr(study, "_storage", None)
    return "memory" if storage is None else _storage_label(storage)


def _check_names(
    study_names: Sequence[str] | None, available: list[str], label: str, owner: str
) -> list[str]:
    if study_names is None:
        return list(available)
    if isinstance(study_names, str) or not all(isinstance(n, str) for n in study_names):
        raise InvalidParameterError(
            f"The 'study_names' parameter of {owner} must be a list of study names or None. "
            f"Got {describe(study_names)} instead."
        )
    absent = [n for n in study_names if n not in available]
    if absent:
        raise InvalidParameterError(
            f"No Optuna study named {absent[0]!r} in {label}; it has {sorted(available)[:10]}."
        )
    return list(dict.fromkeys(study_names))


# One study ----------------------------------------------------------------------------------
def _study_task(
    optuna: Any,
    study: Any,
    label: str,
    min_trials: int,
    prefix: str,
    descriptors: Mapping[str, dict[str, float] | None],
    explicit: bool,
) -> Task | None:
    name = study.study_name
    where = f"Optuna study {name!r} in {label}"

    def leave_out(reason: str) -> None:
        if explicit:
            raise InvalidParameterError(f"Cannot import {where}: {reason}")
        logger.warning("Skipped %s: %s", where, reason)

    if len(study.directions) != 1:
        leave_out(
            f"it has {len(study.directions)} objectives and a task has one loss; import its "
            "single-objective studies instead."
        )
        return None
    state = optuna.trial.TrialState
    # A COMPLETE trial with only a non-finite value (`return float("inf")` on a bad config,
    # often before the other parameters were suggested) adds no evaluation: left out here,
    # it neither counts towards min_trials nor takes parameters out of the common space.
    usable = [
        t
        for t in study.get_trials(deepcopy=False)
        if (t.state == state.COMPLETE and (_finite(t.value) or t.intermediate_values))
        or (t.state == state.PRUNED and t.intermediate_values)
    ]
    if len(usable) < min_trials:
        leave_out(f"it has {len(usable)} usable trials (COMPLETE, or PRUNED with intermediate "
                  f"values); at least min_trials={min_trials} are needed.")
        return None
    space = _common_space(optuna, usable, where)
    if space is None:
        leave_out("no parameter is suggested, with one kind of distribution, in every trial.")
        return None
    sign = -1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1.0
    configs, losses, budgets, non_finite, outside = _evaluations(state, usable, space, sign)
    # A descriptor given by the caller replaces the study's; the kind the study records
    # still counts when that descriptor records none. The study's task is read only then:
    # one that the caller's descriptor replaces whole is no concern of a warning.
    if name in descriptors and task_type_of(descriptors[name]) is not None:
        recorded, kind = None, None
    else:
        recorded, kind = optuna_task_record(study.user_attrs, where)
    descriptor = descriptors.get(name, recorded)
    if non_finite:
        logger.warning("%s: %d non-finite values skipped.", where, non_finite)
    if outside:
        # Optuna runs enqueued or fixed values outside the declared range, with a warning.
        logger.warning("%s: %d trials with values outside their distributions skipped.", where, outside)
    try:
        return Task(
            name=prefix + name,
            space=space,
            configs=configs,
            losses=losses,
            budgets=budgets,
            descriptor=descriptor,
            source=f"optuna:{label}:{name}",
            kind=kind if task_type_of(descriptor) is None else None,
        )
    except InvalidParameterError as exc:
        leave_out(str(exc))  # one study that cannot be read does not stop a whole storage's
        return None


def _finite(value: Any) -> bool:
    return value is not None and math.isfinite(float(value))


def _evaluations(
    state: Any, trials: list[Any], space: Space, sign: float
) -> tuple[list[dict[str, Any]], list[float], list[float] | None, int, int]:
    """Each trial's evaluations, and how many non-finite values and trials with a value
    outside the space were left out."""
    steps = [step for t in trials for step in t.intermediate_values]
    full = None if not steps else float(max(steps) + 1)
    configs: list[dict[str, Any]] = []
    losses: list[float] = []
    budgets: list[float] = []
    non_finite = outside = 0
    for trial in trials:
        config = {n: trial.params[n] for n in space.names}
        if not space.contains(config):
            outside += 1
            continue
        rows: list[tuple[float | None, Any]] = []
        if full is not None:
            # A COMPLETE trial's value at the last step stands for that step.
            for step, value in sorted(trial.intermediate_values.items()):
                if trial.state != state.COMPLETE or step + 1 < full:
                    rows.append((float(step + 1), value))
        if trial.state == state.COMPLETE:
            rows.append((full, trial.value))
        for budget, value in rows:
            if not _finite(value):
                non_finite += 1
                continue
            configs.append(config)
            losses.append(sign * float(value))
            budgets.append(0.0 if budget is None else budget)
    return configs, losses, None if full is None else budgets, non_finite, outside


def _common_space(optuna: Any, trials: list[Any], where: str) -> Space | None:
    names = list(trials[0].distributions)
    for trial in trials[1:]:
        names = [n for n in names if n in trial.distributions]
    params: dict[str, Param] = {}
    for name in names:
        seen = list(dict.fromkeys(t.distributions[name] for t in trials))
        param = _merge(optuna, seen)
        if param is None:
            logger.warning(
                "%s: parameter %r left out: its distributions %s cannot be joined.",
                where, name, seen[:3],
            )
            continue
        params[name] = param
    return Space(params) if params else None


def _merge(optuna: Any, distributions: list[Any]) -> Param | None:
    """One metahpo parameter holding every value the ``distributions`` allow, or ``None``."""
    dist = optuna.distributions
    if all(isinstance(d, dist.CategoricalDistribution) for d in distributions):
        choices = list(dict.fromkeys(c for d in distributions for c in d.choices))
        if any(isinstance(c, float) and not math.isfinite(c) for c in choices):
            return None
        return Categorical(choices)
    numeric = (dist.FloatDistribution, dist.IntDistribution)
    if not all(isinstance(d, numeric) for d in distributions):
        return None
    low = min(d.low for d in distributions)
    high = max(d.high for d in distributions)
    log = all(d.log for d in distributions)
    if all(isinstance(d, dist.IntDistribution) for d in distributions):
        return Categorical([int(low)]) if low == high else Int(int(low), int(high), log=log)
    return Categorical([float(low)]) if low == high else Float(float(low), float(high), log=log)


def optuna_task_record(user_attrs: Mapping[str, Any], where: str) -> tuple[dict[str, float] | None, str | None]:
    """The descriptor and the kind of problem an Optuna study's ``user_attrs`` record.

    Read from ``user_attrs["task"]`` (what metahpo's ``create_study(task=)`` writes: a
    :class:`~metahpo.knowledge.Task`'s ``to_dict()`` form or a descriptor dict), else from
    ``user_attrs["descriptor"]``, as :func:`~metahpo.knowledge.stored_task_type` reads a
    stored study's task: the kind is the descriptor's ``n_classes``, else the task's
    ``kind``. It is the study's own data, not the caller's argument: a ``kind`` that is no
    kind, or that contradicts the descriptor, is ignored with a warning (the descriptor and
    its kind are kept), and an attribute that is no valid task is ignored with a warning
    naming ``where`` (the study). ``KnowledgeBase.from_optuna`` and
    ``metahpo.integrations.optuna.knowledge_from_optuna`` both read a study's task here.

    Example:
        >>> optuna_task_record({"task": {"name": "past", "kind": "regression"}}, "study 'past'")
        (None, 'regression')
    """
    for key in ("task", "descriptor"):
        if key in user_attrs:
            try:
                return stored_task_kind(user_attrs[key], f"the user_attrs[{key!r}] of {where}")
            except InvalidParameterError as exc:
                logger.warning("%s: user_attrs[%r] is not a task descriptor, ignored: %s", where, key, exc)
    return None, None
