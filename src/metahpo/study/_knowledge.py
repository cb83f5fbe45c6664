"""Which knowledge a study learns from: the knowledge given to it checked and opened, the
knowledge a stored study recorded opened again, and the default knowledge."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.knowledge import (
    KnowledgeBase,
    bundled_names,
    bundled_space_counts,
    check_sources,
    spec_with_credentials,
)
from metahpo.optimizers import optimizer_class, refuse_knowledge, takes_knowledge
from metahpo.space import Space
from metahpo.storage import (
    Storage,
    StudyRecord,
    absolute_sqlite_url,
    missing_sqlite_file,
    sqlite_path,
)

__all__ = [
    "check_given_knowledge",
    "check_knowledge_argument",
    "default_knowledge",
    "instance_knowledge_error",
    "open_stored_spec",
    "reachable_knowledge",
    "reopened_knowledge",
    "resolve_knowledge",
    "study_knowledge",
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
    """Refuse ``knowledge=`` that
    :func:`~metahpo.study._optimizer_choice.build_optimizer` would refuse, without opening
    a storage: a value of another type, a source that does not exist (see
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
        raise instance_knowledge_error(optimizer)


def _is_spec(knowledge: Any) -> bool:
    return isinstance(knowledge, str) or (
        isinstance(knowledge, Sequence) and all(isinstance(s, str) for s in knowledge)
    )


def _knowledge_type_error(knowledge: Any) -> InvalidParameterError:
    return InvalidParameterError(
        "The 'knowledge' parameter must be a KnowledgeBase, a knowledge spec ('bundled:NAME', "
        f"a storage URL or a directory), a list of specs or None. Got {describe(knowledge)} instead."
    )


def instance_knowledge_error(optimizer: Any) -> InvalidParameterError:
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
    return open_stored_spec(spec, storage, study)


def open_stored_spec(spec: Any, storage: Storage, study: str) -> KnowledgeBase | None:
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
