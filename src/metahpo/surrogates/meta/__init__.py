"""The meta-learned surrogate in one place: its training configuration, training loop,
continual update, model record and store, behind :class:`MetaModelProvider`.

* :class:`MetaTrainingConfig` — how the deep-kernel GP is meta-trained; :class:`TaskData`
  one task's encoded evaluations (:func:`tasks_to_data`).
* :func:`meta_train` — MAML across tasks; :func:`continual_update` fine-tunes after a study
  with replay; :func:`meta_test_loss` scores a model on held-out tasks; :func:`trend_prior`
  measures the prior of the trend's weight on the tasks.
* :class:`MetaModel` — θ and how it was made, as safetensors bytes.
* :class:`MetaModelStore` (a folder) and :class:`ArtefactMetaModelStore` (a storage's
  artefacts) keep versions.
* :class:`MetaModelProvider` — what MetaBO calls: the meta-model for a knowledge base and
  an encoding, trained once and cached, and its update when a study ends.
"""

from metahpo.surrogates.meta._config import (
    TASK_TRANSFORMS,
    MetaTrainingConfig,
    TaskData,
    check_task_transform,
)
from metahpo.surrogates.meta._model import MetaModel
from metahpo.surrogates.meta._provider import KnowledgeSource, MetaModelProvider, reads_space
from metahpo.surrogates.meta._store import (
    ArtefactMetaModelStore,
    MetaModelStore,
    default_store_root,
    model_key,
)
from metahpo.surrogates.meta._train import meta_train, tasks_to_data
from metahpo.surrogates.meta._trend import trend_prior
from metahpo.surrogates.meta._update import continual_update, meta_test_loss

__all__ = [
    "TASK_TRANSFORMS",
    "ArtefactMetaModelStore",
    "KnowledgeSource",
    "MetaModel",
    "MetaModelProvider",
    "MetaModelStore",
    "MetaTrainingConfig",
    "TaskData",
    "check_task_transform",
    "continual_update",
    "default_store_root",
    "meta_test_loss",
    "meta_train",
    "model_key",
    "reads_space",
    "tasks_to_data",
    "trend_prior",
]
