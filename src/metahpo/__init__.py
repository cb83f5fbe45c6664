"""metahpo: hyperparameter optimization that learns from every study it has run.

Example:
    >>> import metahpo as mh
    >>> space = mh.Space({"x": mh.Float(-5.0, 5.0)})
    >>> study = mh.create_study(space=space, optimizer="random", seed=0)
    >>> study.optimize(lambda trial: (trial.config["x"] - 1.0) ** 2, n_trials=20, show_progress=False)
    >>> study.best_value < 1.0
    True
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# Public name -> module. Imported on first attribute access so that `import metahpo`
# stays fast: torch, SQLAlchemy, dask and the dashboard load only when used.
_LAZY: dict[str, str] = {
    "Space": "metahpo.space",
    "Float": "metahpo.space",
    "Int": "metahpo.space",
    "Categorical": "metahpo.space",
    "Equals": "metahpo.space",
    "In": "metahpo.space",
    "Range": "metahpo.space",
    "AllOf": "metahpo.space",
    "AnyOf": "metahpo.space",
    "TrialState": "metahpo.trial",
    "FrozenTrial": "metahpo.trial",
    "Study": "metahpo.study",
    "TrialHandle": "metahpo.study",
    "create_study": "metahpo.study",
    "load_study": "metahpo.study",
    "delete_study": "metahpo.study",
    "list_studies": "metahpo.study",
    "RandomSearch": "metahpo.optimizers",
    "Sobol": "metahpo.optimizers",
    "GPBO": "metahpo.optimizers",
    "MetaBO": "metahpo.optimizers",
    "Portfolio": "metahpo.optimizers",
    "FullBudget": "metahpo.schedulers",
    "SuccessiveHalving": "metahpo.schedulers",
    "Hyperband": "metahpo.schedulers",
    "ASHA": "metahpo.schedulers",
    "InMemoryStorage": "metahpo.storage",
    "SQLStorage": "metahpo.storage",
    "Task": "metahpo.knowledge",
    "KnowledgeBase": "metahpo.knowledge",
    "bundled_knowledge": "metahpo.knowledge",
    "presets": "metahpo.presets",
    "MetahpoError": "metahpo.exceptions",
    "InvalidParameterError": "metahpo.exceptions",
    "StorageError": "metahpo.exceptions",
    "TrialPruned": "metahpo.exceptions",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'metahpo' has no attribute {name!r}")
    imported = importlib.import_module(module)
    value = imported if module == f"metahpo.{name}" else getattr(imported, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
