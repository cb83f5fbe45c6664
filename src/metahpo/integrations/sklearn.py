"""``MetaSearchCV``: a metahpo study behind scikit-learn's ``GridSearchCV`` interface."""

from __future__ import annotations

import numbers
from copy import deepcopy
from typing import Any

import numpy as np

from metahpo._validation import check_int, describe
from metahpo.exceptions import DuplicatedStudyError, InvalidParameterError
from metahpo.space import Param, Space
from metahpo.study import create_study

try:
    from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
    from sklearn.metrics import check_scoring
    from sklearn.model_selection import check_cv, cross_validate
    from sklearn.utils import get_tags
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.validation import check_is_fitted, indexable
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "metahpo.integrations.sklearn needs scikit-learn: install the 'sklearn' extra "
        "(pip install 'metahpo[sklearn]')."
    ) from exc

__all__ = ["MetaSearchCV"]


def _best_has(attr: str) -> Any:
    def check(self: MetaSearchCV) -> bool:
        if hasattr(self, "best_estimator_"):
            getattr(self.best_estimator_, attr)
        elif hasattr(self, "cv_results_"):
            # Fitted with refit=False: there is no estimator to delegate to (GridSearchCV's
            # behaviour: the method is not there, rather than "not fitted").
            raise AttributeError(f"This {type(self).__name__} was fitted with refit=False: it has no {attr!r}.")
        else:
            getattr(self.estimator, attr)
        return True

    return check


class MetaSearchCV(MetaEstimatorMixin, BaseEstimator):
    """Cross-validated hyperparameter search driven by a metahpo study.

    Follows ``GridSearchCV``: after ``fit``, ``best_params_``, ``best_score_``,
    ``best_estimator_`` (with ``refit=True``) and ``cv_results_`` are set and ``predict``,
    ``predict_proba``, ``decision_function``, ``transform`` and ``score`` use the refitted
    best estimator. Each trial is one cross-validation of one config; the study
    maximises the mean test score.

    Args:
        estimator: the estimator to tune (cloned for every fit).
        space: a :class:`~metahpo.space.Space` or a dict of parameter name -> metahpo
            parameter, over ``estimator.set_params`` names (``"clf__C"`` in a pipeline).
        n_trials: the number of configs evaluated.
        cv, scoring: as in ``GridSearchCV`` (one scorer; ``fit(X, y, groups=...)`` hands
            ``groups`` to the splitter).
        scheduler: a metahpo scheduler (Hyperband, ASHA...) with ``budget_param``, the
            estimator parameter set to ``int(trial.budget)`` (``n_estimators``, ``max_iter``).
            ``best_index_``, ``best_params_`` and ``best_score_`` are then the study's best
            trial at the largest budget reached (a low budget's score may rank higher in
            ``cv_results_``), and ``best_estimator_`` is refitted at the full budget.
        storage: where the study is kept (``None``: in memory).
        optimizer, knowledge: as in :func:`metahpo.create_study`.
        refit: refit the best config on the whole data.
        random_state: the study's seed, an int from 0 to 2**63 - 1 (``None``: a fresh one).
        error_score: the score of a fit that fails: a number scores it (``np.nan``, the
            default, fails the trial, which ``cv_results_`` keeps with NaN scores ranked
            last); ``"raise"`` raises the fit's error from ``fit``.
        study_name: the study's name (a fresh one per fit by default).

    Example:
        >>> import metahpo as mh
        >>> from sklearn.datasets import load_iris
        >>> from sklearn.linear_model import LogisticRegression
        >>> X, y = load_iris(return_X_y=True)
        >>> search = MetaSearchCV(LogisticRegression(max_iter=500),
        ...                       {"C": mh.Float(1e-2, 1e2, log=True)}, n_trials=4, cv=3,
        ...                       optimizer="random", random_state=0)
        >>> search.fit(X, y).best_score_ > 0.9
        True
    """

    def __init__(
        self,
        estimator: Any,
        space: Any,
        n_trials: int = 20,
        cv: Any = None,
        scoring: Any = None,
        scheduler: Any = None,
        storage: Any = None,
        optimizer: Any = "auto",
        knowledge: Any = None,
        budget_param: str | None = None,
        refit: bool = True,
        random_state: int | None = None,
        error_score: Any = np.nan,
        study_name: str | None = None,
    ) -> None:
        self.estimator = estimator
        self.space = space
        self.n_trials = n_trials
        self.cv = cv
        self.scoring = scoring
        self.scheduler = scheduler
        self.storage = storage
        self.optimizer = optimizer
        self.knowledge = knowledge
        self.budget_param = budget_param
        self.refit = refit
        self.random_state = random_state
        self.error_score = error_score
        self.study_name = study_name

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = deepcopy(inner.classifier_tags)
        tags.regressor_tags = deepcopy(inner.regressor_tags)
        tags.target_tags = deepcopy(inner.target_tags)
        tags.input_tags.pairwise = inner.input_tags.pairwise
        tags.input_tags.sparse = inner.input_tags.sparse
        return tags

    def _check_scoring_options(self) -> None:
        """Refuse what GridSearchCV takes but this search does not: several metrics (a
        study has one objective), a refit by metric name, an error_score that is no score."""
        if isinstance(self.scoring, (list, tuple, set, dict)):
            raise InvalidParameterError(
                "The 'scoring' parameter of MetaSearchCV must be one scorer (a name or a "
                f"callable): a study maximises one score. Got {describe(self.scoring)} instead."
            )
        if not isinstance(self.refit, bool):
            raise InvalidParameterError(
                f"The 'refit' parameter of MetaSearchCV must be True or False. Got {describe(self.refit)} instead."
            )
        score = self.error_score
        if score != "raise" and (isinstance(score, bool) or not isinstance(score, numbers.Real)):
            raise InvalidParameterError(
                "The 'error_score' parameter of MetaSearchCV must be 'raise' or a number "
                f"(np.nan by default). Got {describe(score)} instead."
            )

    def _space(self) -> Space:
        if isinstance(self.space, Space):
            return self.space
        if isinstance(self.space, dict):
            bad = next(((k, v) for k, v in self.space.items() if not isinstance(v, Param)), None)
            if bad is None:
                return Space(self.space)
            raise InvalidParameterError(
                "The 'space' parameter of MetaSearchCV must map each parameter name to a "
                f"metahpo Float, Int or Categorical. Got {describe(bad[1])} for {bad[0]!r} "
                "instead (a list of values is mh.Categorical([...]))."
            )
        raise InvalidParameterError(
            "The 'space' parameter of MetaSearchCV must be a metahpo Space or a dict of "
            f"parameter name -> Float / Int / Categorical. Got {describe(self.space)} instead."
        )

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> MetaSearchCV:
        """Run the study and refit the best config (see the class docstring)."""
        if isinstance(self.n_trials, bool) or not isinstance(self.n_trials, (int, np.integer)) or self.n_trials < 1:
            raise InvalidParameterError(
                f"The 'n_trials' parameter of MetaSearchCV must be an int >= 1. Got {describe(self.n_trials)} instead."
            )
        self._check_scoring_options()
        # Checked here, under its own name: create_study would name its 'seed' parameter.
        seed = None if self.random_state is None else check_int(
            self.random_state, "random_state", "MetaSearchCV", minimum=0, maximum=2**63 - 1
        )
        space = self._space()
        if self.scheduler is not None and self.budget_param is None:
            raise InvalidParameterError(
                "MetaSearchCV with a scheduler needs 'budget_param', the estimator parameter "
                "the budget sets (e.g. 'n_estimators'). Got None instead."
            )
        # Names the estimator does not have would fail every trial: refuse them first.
        known = set(self.estimator.get_params(deep=True))
        names = [*space.names, *([self.budget_param] if self.scheduler is not None else [])]
        unknown = [name for name in names if name not in known]
        if unknown:
            raise InvalidParameterError(
                f"The 'space' and 'budget_param' parameters of MetaSearchCV must name parameters "
                f"of the estimator (estimator.get_params()). Got {unknown}, which it does not have."
            )
        # As GridSearchCV without metadata routing: groups go to the splitter, the rest to fit.
        groups = fit_params.pop("groups", None)
        X, y, groups = indexable(X, y, groups)
        classifier = get_tags(self.estimator).estimator_type == "classifier"
        cv = check_cv(self.cv, y, classifier=classifier)
        n_splits = cv.get_n_splits(X, y, groups)
        scorer = check_scoring(self.estimator, self.scoring)
        try:
            study = create_study(
                name=self.study_name, space=space, storage=self.storage, direction="maximize",
                optimizer=self.optimizer, knowledge=self.knowledge, scheduler=self.scheduler,
                seed=seed,
            )
        except DuplicatedStudyError as exc:
            # create_study's advice (load_if_exists=True) is no option of MetaSearchCV.
            raise DuplicatedStudyError(
                f"The 'study_name' parameter of MetaSearchCV names a study the storage already "
                f"holds ({self.study_name!r}), and each fit creates its own study. Choose another "
                "name, delete that study (mh.delete_study), or leave study_name=None for a fresh "
                "name per fit."
            ) from exc
        rows: list[dict[str, Any]] = []

        def objective(trial: Any) -> float:
            params = self._params(trial.config, trial.budget)
            estimator = clone(self.estimator).set_params(**params)
            scores: np.ndarray
            times: tuple[Any, Any]
            try:
                result = cross_validate(
                    estimator, X, y, groups=groups, cv=cv, scoring=scorer, params=fit_params,
                    error_score=self.error_score,
                )
                scores = np.asarray(result["test_score"], dtype=float)
                times = (result["fit_time"], result["score_time"])
            except ValueError as exc:
                # scikit-learn raises this when every fold's fit failed (with error_score
                # not "raise"); GridSearchCV scores such a candidate error_score, so do we.
                if self.error_score == "raise" or "fits failed" not in str(exc):
                    raise
                scores = np.full(n_splits, float(self.error_score))
                times = (np.full(n_splits, np.nan), np.full(n_splits, np.nan))
            # Kept in cv_results_ even when the trial fails, as GridSearchCV keeps it.
            rows.append({"number": trial.number, "params": params, "config": dict(trial.config),
                         "budget": trial.budget, "scores": scores, "fit_time": times[0],
                         "score_time": times[1]})
            if not np.all(np.isfinite(scores)):
                # A failed fit scores error_score (NaN by default): the trial fails, as
                # metahpo refuses NaN values; a finite error_score is a value like any other.
                raise ValueError(
                    f"Cross-validation scored {scores.tolist()}: a fit failed (see the "
                    "FitFailedWarning); set error_score='raise' to see why."
                )
            return float(np.mean(scores))

        # error_score="raise" stops the search at the first failed fit, as GridSearchCV does.
        catch: tuple[type[BaseException], ...] = () if self.error_score == "raise" else (Exception,)
        study.optimize(objective, n_trials=self.n_trials, show_progress=False, catch=catch)
        if not any(np.all(np.isfinite(row["scores"])) for row in rows):
            # Every trial failed. A fit on the whole data with the first config raises the
            # estimator's own error (bad input: NaN, wrong target type), as GridSearchCV's
            # refit does; otherwise say why with the first trial's error.
            first = study.trials[0]
            if first.config:
                params = self._params(first.config, first.budget)
                clone(self.estimator).set_params(**params).fit(X, y, **fit_params)
            errors = [t.error for t in study.trials if t.error]
            raise ValueError(
                f"All {len(study.trials)} trials of MetaSearchCV failed. The first error:\n"
                + (errors[0] if errors else "unknown")
            )
        self.study_ = study
        self.cv_results_ = self._results(rows, space, n_splits)
        self.n_splits_ = n_splits
        # The study's best trial: under a scheduler, the best at the largest budget reached,
        # which the refit trains at the full budget (a low budget's score may rank higher).
        self.best_index_ = [row["number"] for row in rows].index(study.best_trial.number)
        self.best_score_ = float(self.cv_results_["mean_test_score"][self.best_index_])
        self.best_params_ = dict(self.cv_results_["params"][self.best_index_])
        self.scorer_ = scorer
        if self.refit:
            best = self._params(study.best_config, self._final_budget())
            self.best_estimator_ = clone(self.estimator).set_params(**best).fit(X, y, **fit_params)
            for name in ("classes_", "n_features_in_", "feature_names_in_"):
                if hasattr(self.best_estimator_, name):
                    setattr(self, name, getattr(self.best_estimator_, name))
        return self

    def __getstate__(self) -> dict[str, Any]:
        # The study holds its storage (locks, connections): not part of a pickled model.
        state = self.__dict__.copy()
        state.pop("study_", None)
        return state

    def _final_budget(self) -> float | None:
        return None if self.scheduler is None else self.study_.scheduler.max_budget

    def _params(self, config: Any, budget: float | None) -> dict[str, Any]:
        params = dict(config)
        if self.budget_param is not None and budget is not None:
            params[self.budget_param] = round(budget)
        return params

    def _results(self, rows: list[dict[str, Any]], space: Space, n_splits: int) -> dict[str, Any]:
        scores = np.array([row["scores"] for row in rows]).reshape(len(rows), n_splits)
        # A fold that failed (NaN) makes the mean NaN, ranked last, as in GridSearchCV.
        means = np.mean(scores, axis=1) if scores.size else np.zeros(0)
        from scipy.stats import rankdata

        filled = np.where(np.isnan(means), -np.inf, means)
        ranks = rankdata(-filled, method="min").astype(np.int32)  # ties share a rank
        results: dict[str, Any] = {
            "params": [row["params"] for row in rows],
            "budget": np.array([np.nan if row["budget"] is None else row["budget"] for row in rows]),
            "mean_fit_time": np.array([np.mean(row["fit_time"]) for row in rows]),
            "std_fit_time": np.array([np.std(row["fit_time"]) for row in rows]),
            "mean_score_time": np.array([np.mean(row["score_time"]) for row in rows]),
            "std_score_time": np.array([np.std(row["score_time"]) for row in rows]),
            "mean_test_score": means,
            "std_test_score": np.std(scores, axis=1) if scores.size else np.zeros(0),
            "rank_test_score": ranks,
        }
        for k in range(n_splits):
            results[f"split{k}_test_score"] = scores[:, k]
        for name in space:
            # Masked where the parameter is inactive (conditional spaces), and typed by its
            # values (numbers as numbers, text as objects), as in GridSearchCV.
            present = {i: row["config"][name] for i, row in enumerate(rows) if name in row["config"]}
            inferred = np.array(list(present.values()))
            dtype = inferred.dtype if present and inferred.dtype.kind not in "UO" and inferred.ndim == 1 else object
            values = np.ma.MaskedArray(np.empty(len(rows), dtype=dtype), mask=True)
            for i, value in present.items():
                values[i] = value
            results[f"param_{name}"] = values
        return results

    # Delegation to the refitted best estimator --------------------------------------------
    @available_if(_best_has("predict"))
    def predict(self, X: Any) -> Any:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict(X)

    @available_if(_best_has("predict_proba"))
    def predict_proba(self, X: Any) -> Any:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_proba(X)

    @available_if(_best_has("predict_log_proba"))
    def predict_log_proba(self, X: Any) -> Any:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_log_proba(X)

    @available_if(_best_has("decision_function"))
    def decision_function(self, X: Any) -> Any:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.decision_function(X)

    @available_if(_best_has("transform"))
    def transform(self, X: Any) -> Any:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.transform(X)

    @available_if(_best_has("score"))
    def score(self, X: Any, y: Any = None) -> float:
        """The ``scoring`` score of the best estimator on ``X`` (its own ``score`` without one)."""
        check_is_fitted(self, "best_estimator_")
        if self.scoring is None:
            return float(self.best_estimator_.score(X, y))
        return float(self.scorer_(self.best_estimator_, X, y))
