"""The :class:`Preset` record: a model family's space, builder, objective and bundled knowledge."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from metahpo._validation import describe
from metahpo.exceptions import InvalidParameterError
from metahpo.presets._losses import check_scoring, classification_loss
from metahpo.space import Space

if TYPE_CHECKING:
    from metahpo.knowledge import KnowledgeBase
    from metahpo.surrogates.meta import MetaModel

TASK_TYPES = ("classification", "regression")
# The largest feature magnitude a model computes with: scikit-learn's forests and XGBoost
# store features as float32; a standardisation squares them (its variance overflows).
FLOAT32_LIMIT = float(np.finfo(np.float32).max)
SQUARE_LIMIT = 1e150


@dataclass(frozen=True)
class Split:
    """One train/validation split; classification labels are ``0 .. n_classes-1``."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_valid: np.ndarray
    y_valid: np.ndarray
    task_type: str
    n_classes: int = 0

    def classification_loss(self, proba: np.ndarray, classes: Any, scoring: str) -> float:
        return classification_loss(proba, classes, self.y_valid, self.n_classes, scoring)


@dataclass(frozen=True)
class Preset:
    """A model family users tune often: its search space, how to build the model from a
    config and a budget, the validation loss it is tuned on, and its bundled knowledge.

    Attributes:
        name: the preset's name (``"lightgbm-classifier"``).
        family: the model family (``"LightGBM"``).
        task_type: ``"classification"`` or ``"regression"``.
        space: the search space.
        min_budget, max_budget: the budget range (``budget_unit``: boosting rounds, trees,
            epochs, iterations); ``trial.budget=None`` trains at ``max_budget``.
        budget_unit: what the budget counts.
        knowledge_name: the bundled knowledge directory (spec ``"bundled:<knowledge_name>"``).
        extra: the pip extra that installs the family's library, if it needs one.
        handles_missing: whether the model takes missing feature values (NaN) as they are.
        feature_limit: the largest feature magnitude the model computes with.
    """

    name: str
    family: str
    task_type: str
    space: Space
    min_budget: int
    max_budget: int
    budget_unit: str
    knowledge_name: str
    extra: str | None = None
    handles_missing: bool = True
    feature_limit: float = math.inf
    _build: Callable[[dict[str, Any], int, str], Any] = field(default=None, repr=False)  # type: ignore[assignment]
    _staged: Callable[..., list[float]] = field(default=None, repr=False)  # type: ignore[assignment]
    _one_fit_per_budget: bool = field(default=False, repr=False)

    @property
    def loss_name(self) -> str:
        """The default validation loss: ``log_loss`` (classifiers) or ``1-r2`` (regressors)."""
        return check_scoring(None, self.task_type, self.name)

    def build(self, config: Any, budget: float | None = None) -> Any:
        """An unfitted scikit-learn-style model for ``config`` trained for ``budget``.

        Example:
            >>> import metahpo as mh
            >>> preset = mh.presets.get("hgb-classifier")
            >>> model = preset.build(preset.space.sobol(1, seed=0)[0], budget=9)
            >>> model.max_iter
            9
        """
        return self._build(self.space.validate(config), self.check_budget(budget), self.task_type)

    def check_budget(self, budget: float | None) -> int:
        """``budget`` as a whole number in the preset's range; ``None`` is ``max_budget``."""
        if budget is None:
            return self.max_budget
        if (
            isinstance(budget, bool)
            or not isinstance(budget, (int, float, np.integer, np.floating))
            or not math.isfinite(budget)
            or not self.min_budget <= budget <= self.max_budget
        ):
            raise InvalidParameterError(
                f"The 'budget' parameter of the {self.name!r} preset must be a number of "
                f"{self.budget_unit} in [{self.min_budget}, {self.max_budget}] or None. "
                f"Got {describe(budget)} instead."
            )
        return round(float(budget))

    def validation_losses(
        self, config: Any, split: Split, budgets: list[int], scoring: str | None = None
    ) -> list[float]:
        """Train once and return the validation loss after each of ``budgets``.

        This is what the bundled meta-data was built with, and what :meth:`objective`
        computes on each fold, so the bundle and a user's objective agree.
        """
        clean = self.space.validate(config)
        if isinstance(budgets, (str, bytes)) or not isinstance(budgets, Sequence) or not budgets:
            raise InvalidParameterError(
                "The 'budgets' parameter of Preset.validation_losses must be a non-empty list "
                f"of budgets. Got {describe(budgets)} instead."
            )
        steps = [self.check_budget(b) for b in budgets]
        scoring = check_scoring(scoring, self.task_type, self.name)
        seen = np.unique(split.y_train) if self.task_type == "classification" else ()
        if len(seen) == 1:
            # A fold that trains on one class (a class of one member is validated on
            # alone): any classifier predicts that class, and some refuse to be fitted.
            certain = np.ones((len(split.y_valid), 1))
            return [split.classification_loss(certain, seen, scoring)] * len(steps)
        if self._one_fit_per_budget:

            def build(budget: int) -> Any:
                return self._build(clean, budget, self.task_type)

            return self._staged(build, split, steps, scoring)
        model = self._build(clean, max(steps), self.task_type)
        return self._staged(model, split, steps, scoring)

    def objective(
        self, X: Any, y: Any, cv: int = 5, scoring: str | None = None, seed: int = 0
    ) -> Callable[[Any], float]:
        """A metahpo objective ``trial -> loss``: the mean validation loss over ``cv`` folds.

        Classifiers are scored with the log-loss (``scoring="error"``: ``1 - accuracy``),
        regressors with ``1 - R²`` (``scoring="rmse"``: the RMSE), on stratified
        (classifiers) or plain ``KFold`` splits shuffled with ``seed``. Each trial trains
        at ``trial.budget`` (``max_budget`` when it is ``None``).

        Example:
            >>> import metahpo as mh
            >>> from sklearn.datasets import load_iris
            >>> X, y = load_iris(return_X_y=True)
            >>> objective = mh.presets.get("hgb-classifier").objective(X, y, cv=3)
        """
        from metahpo.presets._boosting import import_extra
        from metahpo.presets._objective import make_objective

        if self.extra is not None:
            # Every trial would fail on the same import: said once, before the first.
            import_extra(self.extra, self.extra)  # each extra is named after its package
        return make_objective(
            self, X, y, cv, check_scoring(scoring, self.task_type, self.name), seed
        )

    def knowledge(self) -> KnowledgeBase:
        """The bundled knowledge (the meta-data of this preset's space), loaded from disk."""
        from metahpo.knowledge import bundled_knowledge

        return bundled_knowledge(self.knowledge_name)

    def meta_model(self) -> MetaModel | None:
        """The ready-trained meta-model shipped with the knowledge, or ``None`` without one."""
        from metahpo.knowledge import bundled_meta_model

        return bundled_meta_model(self.knowledge_name)

    def knowledge_size(self) -> dict[str, Any]:
        """``{"tasks", "configs", "evaluations", "budgets"}`` of the bundled knowledge, read from its manifest."""
        from metahpo.presets._registry import knowledge_size

        return knowledge_size(self.knowledge_name)
