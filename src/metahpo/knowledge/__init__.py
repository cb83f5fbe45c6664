"""The knowledge base: past tasks, their descriptors and clusters, and warm-start portfolios.

What a meta-learning optimizer needs, in the order it uses it:

* :class:`KnowledgeBase` — :meth:`~KnowledgeBase.open` a spec (``"bundled:keel-hgb"``, a
  storage URL, a directory), then :meth:`~KnowledgeBase.tasks` ``(space)`` gives every
  task mapped onto the study's space (:attr:`Task.missing` lists inputs to marginalise).
* :class:`Task` — one task's evaluations: :attr:`Task.unit` (configs in the unit cube),
  :attr:`Task.losses`, :attr:`Task.budgets`, :meth:`Task.at_budget`;
  :meth:`Task.from_history` turns a running study into a target task.
* :func:`nearest` / :meth:`KnowledgeBase.nearest` — the tasks most similar to a target
  (descriptors and/or the target's few observations against each task's losses at the
  nearest configs); cheap enough to call every round. :class:`LossLookup` is the
  nearest-config loss predictor behind it.
* :func:`cluster_tasks` — clusters on descriptors and response similarity.
* :func:`greedy_portfolio` / :meth:`KnowledgeBase.portfolio` — the warm-start configs.
* :func:`write_knowledge` / :func:`read_knowledge` — the one on-disk format (``manifest.json``
  plus Parquet tables), behind :meth:`KnowledgeBase.save` and :meth:`KnowledgeBase.from_files`.
* ``meta_train``, ``MetaModel``, ``MetaModelStore`` and friends — meta-training of the
  deep-kernel surrogate over these tasks, loaded on first access; ``meta_store_for(spec)``
  versions its meta-models in the spec's storage (``StorageMetaModelStore``) or on disk.
"""

from metahpo.knowledge._base import KnowledgeBase, bundled_knowledge
from metahpo.knowledge._clusters import Clustering, cluster_tasks, similarity_matrix
from metahpo.knowledge._descriptors import (
    CLASSIFICATION_FEATURES,
    REGRESSION_FEATURES,
    harmonise_descriptor,
    meta_features,
)
from metahpo.knowledge._files import KnowledgeFiles, read_knowledge, write_knowledge
from metahpo.knowledge._lookup import LossLookup
from metahpo.knowledge._mapping import map_task, shared_parameters
from metahpo.knowledge._portfolio import greedy_portfolio, regret_matrix
from metahpo.knowledge._similarity import (
    DescriptorScale,
    descriptor_similarity,
    nearest,
    rank_correlation,
    response_similarity,
    similarity,
)
from metahpo.knowledge._sources import bundled_names
from metahpo.knowledge._task import Task, descriptor_of

__all__ = [
    "CLASSIFICATION_FEATURES",
    "REGRESSION_FEATURES",
    "Clustering",
    "DescriptorScale",
    "KnowledgeBase",
    "KnowledgeFiles",
    "LossLookup",
    "Task",
    "bundled_knowledge",
    "bundled_names",
    "cluster_tasks",
    "descriptor_of",
    "descriptor_similarity",
    "greedy_portfolio",
    "harmonise_descriptor",
    "map_task",
    "meta_features",
    "nearest",
    "rank_correlation",
    "read_knowledge",
    "regret_matrix",
    "response_similarity",
    "shared_parameters",
    "similarity",
    "similarity_matrix",
    "write_knowledge",
]

# Meta-training of the deep-kernel surrogate across tasks (built on the records above);
# loaded on first use so that importing the knowledge base stays light.
_LAZY = {
    "MetaModel": "metahpo.knowledge._meta_training",
    "MetaTrainingConfig": "metahpo.knowledge._meta_training",
    "TaskData": "metahpo.knowledge._meta_training",
    "continual_update": "metahpo.knowledge._meta_training",
    "meta_test_loss": "metahpo.knowledge._meta_training",
    "meta_train": "metahpo.knowledge._meta_training",
    "MetaModelStore": "metahpo.knowledge._meta_store",
    "StorageMetaModelStore": "metahpo.knowledge._meta_store",
    "knowledge_key": "metahpo.knowledge._meta_store",
    "meta_store_for": "metahpo.knowledge._meta_store",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'metahpo.knowledge' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
