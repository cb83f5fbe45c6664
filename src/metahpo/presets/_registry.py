"""The presets by name, and the size of each preset's bundled knowledge."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.presets import _boosting, _mlp, _trees
from metahpo.presets._preset import FLOAT32_LIMIT, SQUARE_LIMIT, Preset

_PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            "hgb-classifier",
            "scikit-learn HistGradientBoostingClassifier",
            "classification",
            _trees.HGB_CLASSIFIER_SPACE,
            1,
            81,
            "boosting rounds",
            "hgb-classifier",
            _build=_trees.build_hgb,
            _staged=_trees.staged_hgb,
        ),
        Preset(
            "hgb-regressor",
            "scikit-learn HistGradientBoostingRegressor",
            "regression",
            _trees.HGB_REGRESSOR_SPACE,
            1,
            27,
            "boosting rounds",
            "hgb-regressor",
            _build=_trees.build_hgb,
            _staged=_trees.staged_hgb,
        ),
        Preset(
            "random-forest-classifier",
            "scikit-learn RandomForestClassifier",
            "classification",
            _trees.FOREST_SPACE,
            1,
            32,
            "trees",
            "random-forest-classifier",
            feature_limit=FLOAT32_LIMIT,
            _build=_trees.build_forest,
            _staged=_trees.staged_forest,
        ),
        Preset(
            "logistic-regression",
            "scikit-learn LogisticRegression (standardised features)",
            "classification",
            _trees.LOGISTIC_SPACE,
            1,
            100,
            "L-BFGS iterations",
            "logistic-regression",
            _build=_trees.build_logistic,
            _staged=_trees.staged_logistic,
            handles_missing=False,
            feature_limit=SQUARE_LIMIT,
            _one_fit_per_budget=True,
        ),
        Preset(
            "xgboost-classifier",
            "XGBoost XGBClassifier (hist)",
            "classification",
            _boosting.XGBOOST_SPACE,
            1,
            81,
            "boosting rounds",
            "xgboost-classifier",
            extra="xgboost",
            feature_limit=FLOAT32_LIMIT,
            _build=_boosting.build_xgboost,
            _staged=_boosting.staged_xgboost,
        ),
        Preset(
            "lightgbm-classifier",
            "LightGBM LGBMClassifier",
            "classification",
            _boosting.LIGHTGBM_SPACE,
            1,
            81,
            "boosting rounds",
            "lightgbm-classifier",
            extra="lightgbm",
            _build=_boosting.build_lightgbm,
            _staged=_boosting.staged_lightgbm,
        ),
        Preset(
            "mlp-classifier",
            "PyTorch MLP (2 hidden layers, AdamW)",
            "classification",
            _mlp.MLP_SPACE,
            1,
            9,
            "epochs",
            "mlp-classifier",
            handles_missing=False,
            feature_limit=SQUARE_LIMIT,  # it standardises the features, squaring them
            _build=_mlp.build_mlp,
            _staged=_mlp.staged_mlp,
        ),
    )
}


@dataclass(frozen=True)
class PresetInfo:
    """One row of :func:`list_presets`: a preset and the size of its bundled knowledge."""

    name: str
    family: str
    task_type: str
    budget_unit: str
    tasks: int
    configs: int
    evaluations: int
    budgets: tuple[float, ...]


def names() -> list[str]:
    """The preset names, sorted."""
    return sorted(_PRESETS)


def get(name: str) -> Preset:
    """The preset ``name``.

    Example:
        >>> import metahpo as mh
        >>> mh.presets.get("xgboost-classifier").budget_unit
        'boosting rounds'
    """
    if not isinstance(name, str) or name not in _PRESETS:
        raise InvalidParameterError(
            f"The 'preset' parameter must be one of {names()}. Got {describe(name)} instead."
        )
    return _PRESETS[name]


def objective(
    name: str, X: Any, y: Any, cv: int = 5, scoring: str | None = None, seed: int = 0
) -> Callable[[Any], float]:
    """The objective of preset ``name`` on ``(X, y)``: see :meth:`Preset.objective`."""
    return get(name).objective(X, y, cv=cv, scoring=scoring, seed=seed)


def list_presets() -> list[PresetInfo]:
    """Every preset with the size of its bundled knowledge (tasks, configs, evaluations, budgets).

    Example:
        >>> import metahpo as mh
        >>> [info.name for info in mh.presets.list_presets()][:2]
        ['hgb-classifier', 'hgb-regressor']
    """
    rows = []
    for name in names():
        preset = _PRESETS[name]
        size = knowledge_size(preset.knowledge_name)
        rows.append(
            PresetInfo(
                name,
                preset.family,
                preset.task_type,
                preset.budget_unit,
                size["tasks"],
                size["configs"],
                size["evaluations"],
                tuple(size["budgets"]),
            )
        )
    return rows


@functools.cache
def knowledge_size(knowledge_name: str) -> dict[str, Any]:
    """Tasks, configs per task, evaluations and budgets of a bundled knowledge directory
    (zeros when it is not bundled), from its manifest and Parquet metadata only."""
    import importlib.resources

    import pyarrow.parquet as pq

    root = importlib.resources.files("metahpo.knowledge").joinpath("data").joinpath(knowledge_name)
    manifest_file = root.joinpath("manifest.json")
    if not manifest_file.is_file():
        return {"tasks": 0, "configs": 0, "evaluations": 0, "budgets": []}
    manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    evaluations = 0
    for entry in manifest["spaces"]:
        with importlib.resources.as_file(root.joinpath(entry["table"])) as path:
            evaluations += pq.ParquetFile(path).metadata.num_rows
    provenance = manifest.get("provenance", {})
    return {
        "tasks": len(manifest["tasks"]),
        "configs": int(provenance.get("n_configs", 0)),
        "evaluations": evaluations,
        "budgets": [float(b) for b in provenance.get("budgets", [])],
    }
