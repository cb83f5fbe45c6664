"""Bridges to the tools users already have; each module imports its tool on import.

* :mod:`metahpo.integrations.optuna`: ``MetaHPOSampler`` and ``knowledge_from_optuna``
  (the ``optuna`` extra);
* :mod:`metahpo.integrations.sklearn`: ``MetaSearchCV`` (the ``sklearn`` extra);
* :mod:`metahpo.integrations.callbacks`: XGBoost, LightGBM, PyTorch and PyTorch Lightning
  callbacks that report to a trial and stop it when the scheduler says so.

Nothing is imported here, so ``import metahpo.integrations`` needs none of them.
"""
