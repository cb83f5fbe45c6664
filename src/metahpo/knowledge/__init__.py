"""The knowledge base: past tasks, their descriptors and clusters, and warm-start portfolios.

What a meta-learning optimizer needs, in the order it uses it:

* :class:`KnowledgeBase` — :meth:`~KnowledgeBase.open` a spec (``"bundled:keel-hgb"``, a
  storage URL, a directory) or read Optuna studies (:meth:`~KnowledgeBase.from_optuna`), then :meth:`~KnowledgeBase.tasks` ``(space)`` gives every
  task mapped onto the study's space (:attr:`Task.missing` lists inputs to marginalise);
  :meth:`~KnowledgeBase.of_task_type` leaves out the tasks of another kind of problem
  (classification, regression: :attr:`Task.task_type`; :func:`task_kind` reads the kind a
  study's task records, :func:`stored_task_type` the kind a stored study records).
* :class:`Task` — one task's evaluations: :attr:`Task.unit` (configs in the unit cube),
  :attr:`Task.losses`, :attr:`Task.budgets`, :meth:`Task.at_budget`;
  :meth:`Task.from_history` turns a running study into a target task.
* :func:`nearest` / :meth:`KnowledgeBase.nearest` — the tasks most similar to a target
  (descriptors and/or the target's few observations against each task's losses at the
  nearest configs); cheap enough to call every round. :class:`LossLookup` is the
  nearest-config loss predictor behind it.
* :func:`meta_cluster_tasks` / :meth:`KnowledgeBase.clusters` — clusters on global
  structure (descriptors) and local structure (how the response surfaces rank the same
  configs) by meta-clustering: many base clusterings (:func:`base_clusterings` on a
  :func:`task_structure`), clustered by adjusted Rand index, and the consensus of the
  largest group (:func:`consensus_clustering`); :func:`cluster_tasks` is the single
  average-linkage clustering; :func:`task_map` places the tasks on a 2-D map with their
  clusters.
* :func:`greedy_portfolio` / :meth:`KnowledgeBase.portfolio` — the warm-start configs;
  :func:`choose_portfolio_neighbours` measures, one task held out at a time, how many
  nearest tasks they should be chosen on, and :func:`write_portfolio_rule` records it
  beside the knowledge (:meth:`KnowledgeBase.portfolio_neighbours` reads it back).
* :func:`write_knowledge` / :func:`read_knowledge` — the one on-disk format (``manifest.json``
  plus Parquet tables), behind :meth:`KnowledgeBase.save` and :meth:`KnowledgeBase.from_files`.

The meta-learned surrogate trained on these tasks lives in :mod:`metahpo.surrogates.meta`;
:attr:`KnowledgeBase.identity` and :meth:`KnowledgeBase.artefacts` tell it which knowledge
it learned from and where to share what it learned.
"""

from metahpo.knowledge._base import KnowledgeBase, bundled_knowledge
from metahpo.knowledge._clusters import Clustering, cluster_tasks, similarity_matrix
from metahpo.knowledge._descriptors import (
    CLASSIFICATION_FEATURES,
    REGRESSION_FEATURES,
    TASK_TYPES,
    harmonise_descriptor,
    meta_features,
    task_type_of,
)
from metahpo.knowledge._ensemble import BaseClustering, base_clusterings
from metahpo.knowledge._files import KnowledgeFiles, read_knowledge, write_knowledge
from metahpo.knowledge._identity import spec_identity, spec_with_credentials, spec_without_passwords
from metahpo.knowledge._kind import TASK_TYPE_KEY, stored_task_type, task_kind, task_type_attr
from metahpo.knowledge._lookup import LossLookup
from metahpo.knowledge._map import TaskMap, task_map
from metahpo.knowledge._mapping import is_related, map_task, shared_parameters
from metahpo.knowledge._meta_clusters import consensus_clustering, meta_cluster_tasks
from metahpo.knowledge._neighbours import (
    NeighboursChoice,
    choose_portfolio_neighbours,
    held_out_portfolio_regrets,
)
from metahpo.knowledge._optuna import optuna_task_record
from metahpo.knowledge._portfolio import greedy_portfolio, greedy_portfolio_sources, regret_matrix
from metahpo.knowledge._portfolio_file import (
    PORTFOLIO_FILE,
    read_portfolio_rule,
    write_portfolio_rule,
)
from metahpo.knowledge._similarity import (
    DescriptorScale,
    descriptor_similarity,
    nearest,
    rank_correlation,
    response_similarity,
    similarity,
)
from metahpo.knowledge._sources import (
    META_MODEL_BUDGETS_FILE,
    META_MODEL_FILE,
    bundled_meta_model,
    bundled_names,
    bundled_space_counts,
    check_sources,
)
from metahpo.knowledge._structure import TaskStructure, task_structure
from metahpo.knowledge._task import MIN_TASK_TRIALS, Task, descriptor_of

__all__ = [
    "CLASSIFICATION_FEATURES",
    "META_MODEL_BUDGETS_FILE",
    "META_MODEL_FILE",
    "MIN_TASK_TRIALS",
    "PORTFOLIO_FILE",
    "REGRESSION_FEATURES",
    "TASK_TYPES",
    "TASK_TYPE_KEY",
    "BaseClustering",
    "Clustering",
    "DescriptorScale",
    "KnowledgeBase",
    "KnowledgeFiles",
    "LossLookup",
    "NeighboursChoice",
    "Task",
    "TaskMap",
    "TaskStructure",
    "base_clusterings",
    "bundled_knowledge",
    "bundled_meta_model",
    "bundled_names",
    "bundled_space_counts",
    "check_sources",
    "choose_portfolio_neighbours",
    "cluster_tasks",
    "consensus_clustering",
    "descriptor_of",
    "descriptor_similarity",
    "greedy_portfolio",
    "greedy_portfolio_sources",
    "harmonise_descriptor",
    "held_out_portfolio_regrets",
    "is_related",
    "map_task",
    "meta_cluster_tasks",
    "meta_features",
    "nearest",
    "optuna_task_record",
    "rank_correlation",
    "read_knowledge",
    "read_portfolio_rule",
    "regret_matrix",
    "response_similarity",
    "shared_parameters",
    "similarity",
    "similarity_matrix",
    "spec_identity",
    "spec_with_credentials",
    "spec_without_passwords",
    "stored_task_type",
    "task_kind",
    "task_map",
    "task_structure",
    "task_type_attr",
    "task_type_of",
    "write_knowledge",
    "write_portfolio_rule",
]
