"""MetaSearchCV against scikit-learn's estimator checks, in a Pipeline, with clone."""

from __future__ import annotations

import re

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import metahpo as mh
from metahpo.integrations.sklearn import MetaSearchCV

# Every check of check_estimator runs: none is skipped or expected to fail. (A meta-
# estimator needs its inner estimator's tags, target tags included: without them
# check_supervised_y_2d fails on a regressor.)


def _searches() -> list[MetaSearchCV]:
    return [
        MetaSearchCV(LogisticRegression(max_iter=200), {"C": mh.Float(0.1, 10.0, log=True)},
                     n_trials=2, cv=2, optimizer="random", random_state=0),
        MetaSearchCV(Ridge(), {"alpha": mh.Float(0.1, 10.0, log=True)},
                     n_trials=2, cv=2, optimizer="random", random_state=0),
    ]


@parametrize_with_checks(_searches())
def test_sklearn_estimator_checks(estimator, check):  # type: ignore[no-untyped-def]
    check(estimator)


def test_search_in_a_pipeline_with_conditions_and_clone() -> None:
    from sklearn.svm import SVC

    X, y = load_iris(return_X_y=True)
    # gamma means something to the RBF kernel only: inactive (masked) for the linear one.
    space = mh.Space(
        {"clf__kernel": mh.Categorical(["rbf", "linear"]), "clf__gamma": mh.Float(1e-3, 1.0, log=True)},
        {"clf__gamma": mh.Equals("clf__kernel", "rbf")},
    )
    pipe = make_pipeline(StandardScaler(), SVC())
    pipe.steps[-1] = ("clf", pipe.steps[-1][1])
    search = MetaSearchCV(pipe, space, n_trials=6, cv=3, optimizer="sobol", random_state=0)
    copy = clone(search)
    assert copy.get_params()["n_trials"] == 6
    outer = make_pipeline(StandardScaler(), clone(search)).fit(X, y)
    fitted = outer[-1]
    assert fitted.best_score_ > 0.9 and set(fitted.best_params_) <= {"clf__kernel", "clf__gamma"}
    assert fitted.cv_results_["rank_test_score"].min() == 1
    column = fitted.cv_results_["param_clf__gamma"]
    inactive = [p["clf__kernel"] == "linear" for p in fitted.cv_results_["params"]]
    assert any(inactive) and not all(inactive)
    assert list(np.ma.getmaskarray(column)) == inactive
    # Typed as GridSearchCV types them: numbers as numbers, text as objects.
    assert column.dtype == np.float64 and fitted.cv_results_["param_clf__kernel"].dtype == object
    assert np.all(np.log10(column.compressed()) < 0.1)
    assert outer.score(X, y) > 0.9 and outer.predict(X).shape == y.shape


def test_with_refit_false_the_best_estimators_methods_are_not_there() -> None:
    X, y = load_iris(return_X_y=True)
    search = MetaSearchCV(LogisticRegression(max_iter=200), {"C": mh.Float(0.1, 10.0, log=True)},
                          n_trials=2, cv=2, optimizer="random", random_state=0, refit=False)
    assert hasattr(search, "predict")  # before fit: as the estimator has it
    search.fit(X, y)
    assert not hasattr(search, "predict") and not hasattr(search, "predict_proba")
    with pytest.raises(AttributeError, match="has no attribute 'predict'"):  # as GridSearchCV says
        search.predict(X)


def test_hyperband_budget_goes_to_the_budget_parameter() -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = load_iris(return_X_y=True)
    search = MetaSearchCV(
        HistGradientBoostingClassifier(early_stopping=False),
        {"learning_rate": mh.Float(0.01, 0.5, log=True)}, n_trials=6, cv=2, optimizer="random",
        scheduler=mh.Hyperband(min_budget=3, max_budget=9, eta=3), budget_param="max_iter",
        random_state=0,
    ).fit(X, y)
    assert set(search.cv_results_["budget"]) <= {3.0, 9.0}
    assert search.best_estimator_.max_iter == 9
    # The best is the study's best trial, at the largest budget reached, and the refit its config.
    best = search.study_.best_trial
    assert search.cv_results_["budget"][search.best_index_] == best.budget == 9.0
    assert search.best_score_ == pytest.approx(best.value)
    assert search.best_params_ == {"learning_rate": best.config["learning_rate"], "max_iter": 9}
    assert search.best_estimator_.learning_rate == best.config["learning_rate"]


def test_tied_scores_share_a_rank() -> None:
    class Constant(LogisticRegression):
        def score(self, X, y, sample_weight=None):  # type: ignore[no-untyped-def]
            return 0.5

    X, y = load_iris(return_X_y=True)
    search = MetaSearchCV(Constant(), {"C": mh.Float(0.1, 1.0)}, n_trials=4, cv=2,
                          optimizer="random", random_state=0).fit(X, y)
    assert list(search.cv_results_["rank_test_score"]) == [1, 1, 1, 1]
    with pytest.raises(mh.InvalidParameterError, match="budget_param"):
        MetaSearchCV(LogisticRegression(), {"C": mh.Float(0.1, 1.0)}, scheduler=mh.Hyperband(1, 9, 3)).fit(X, y)


@pytest.mark.parametrize(
    ("space", "budget_param", "unknown"),
    [({"c": mh.Float(0.1, 1.0)}, None, "['c']"), ({"C": mh.Float(0.1, 1.0)}, "n_estimators", "['n_estimators']")],
)
def test_names_the_estimator_does_not_have_are_refused_before_any_trial(space, budget_param, unknown) -> None:
    X, y = load_iris(return_X_y=True)
    scheduler = mh.Hyperband(1, 9, 3) if budget_param else None
    search = MetaSearchCV(LogisticRegression(), space, n_trials=3, scheduler=scheduler,
                          budget_param=budget_param, storage=None)
    with pytest.raises(mh.InvalidParameterError, match=rf"must name parameters of the estimator.*Got {re.escape(unknown)}"):
        search.fit(X, y)
    assert not hasattr(search, "study_")


def test_a_study_name_fitted_twice_says_what_to_do_in_metasearchcv_terms(tmp_path) -> None:
    X, y = load_iris(return_X_y=True)
    search = MetaSearchCV(LogisticRegression(max_iter=200), {"C": mh.Float(0.1, 10.0, log=True)},
                          n_trials=2, cv=2, optimizer="random", random_state=0,
                          storage=f"sqlite:///{tmp_path}/cv.db", study_name="cv")
    search.fit(X, y)
    with pytest.raises(mh.exceptions.DuplicatedStudyError, match=r"'study_name' parameter of MetaSearchCV .*'cv'.*study_name=None"):
        search.fit(X, y)


def test_groups_go_to_the_splitter_as_in_grid_search() -> None:
    from sklearn.model_selection import GroupKFold

    X, y = load_iris(return_X_y=True)
    groups = np.arange(len(y)) % 5
    search = MetaSearchCV(LogisticRegression(max_iter=300), {"C": mh.Float(0.1, 1.0)}, n_trials=2,
                          cv=GroupKFold(3), optimizer="random", random_state=0)
    search.fit(X, y, groups=groups)
    assert search.n_splits_ == 3 and np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def _failing_search(error_score) -> MetaSearchCV:  # type: ignore[no-untyped-def]
    # lbfgs takes no l1 penalty: those fits fail on every fold.
    return MetaSearchCV(LogisticRegression(max_iter=300), {"penalty": mh.Categorical(["l2", "l1"])},
                        n_trials=4, cv=3, optimizer="random", random_state=0, error_score=error_score)


def test_error_score_scores_failed_fits_as_grid_search_does() -> None:
    import warnings

    X, y = load_iris(return_X_y=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scored = _failing_search(0.0).fit(X, y)
        failed = _failing_search(np.nan).fit(X, y)
    for search in (scored, failed):
        assert len(search.cv_results_["params"]) == 4  # every trial has its row
        l1 = np.array([p["penalty"] == "l1" for p in search.cv_results_["params"]])
        assert any(l1) and search.best_params_ == {"penalty": "l2"}
        ranks = search.cv_results_["rank_test_score"]
        assert min(ranks[l1]) > max(ranks[np.logical_not(l1)])  # failed fits rank last
    assert np.all(scored.cv_results_["mean_test_score"][l1] == 0.0)
    assert np.all(np.isnan(failed.cv_results_["mean_test_score"][l1]))
    with pytest.raises(ValueError, match="penalty"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _failing_search("raise").fit(X, y)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [({"scoring": ["accuracy", "roc_auc"]}, "'scoring' parameter of MetaSearchCV must be one scorer"),
     ({"refit": "accuracy"}, "'refit' parameter of MetaSearchCV must be True or False"),
     ({"error_score": "ignore"}, "'error_score' parameter of MetaSearchCV"),
     ({"space": {"C": mh.Float(0.1, 1.0), "penalty": ["l2"]}}, r"Got \['l2'\] for 'penalty'"),
     # Before, the error named create_study's 'seed', a parameter the user never passed.
     ({"random_state": -1}, r"The 'random_state' parameter of MetaSearchCV must be an int >= 0.* Got -1"),
     ({"random_state": np.random.RandomState(0)}, r"'random_state' parameter of MetaSearchCV must be an int")],
)
def test_options_it_cannot_honour_are_refused_before_a_trial(kwargs, fragment) -> None:  # type: ignore[no-untyped-def]
    X, y = load_iris(return_X_y=True)
    options = {"space": {"C": mh.Float(0.1, 1.0)}, **kwargs}
    with pytest.raises(mh.InvalidParameterError, match=fragment):
        MetaSearchCV(LogisticRegression(), n_trials=np.int64(2), cv=2, optimizer="random", **options).fit(X, y)


def test_cv_results_have_the_time_spreads_of_grid_search() -> None:
    X, y = load_iris(return_X_y=True)
    search = MetaSearchCV(LogisticRegression(max_iter=300), {"C": mh.Float(0.1, 1.0)}, n_trials=np.int64(2),
                          cv=2, optimizer="random", random_state=0).fit(X, y)
    assert {"std_fit_time", "std_score_time"} <= set(search.cv_results_)


class _FailsOnOneFold(Ridge):
    """A ridge whose fit fails on the 6-row training fold when alpha > 5 (3-fold CV of 10 rows)."""

    def fit(self, X, y, sample_weight=None):  # type: ignore[no-untyped-def]
        if self.alpha > 5 and len(X) == 6:
            raise RuntimeError("bad fold")
        return super().fit(X, y, sample_weight)


def test_a_config_that_failed_on_one_fold_ranks_last_not_on_its_other_folds() -> None:
    import warnings

    X, y = np.arange(20.0).reshape(10, 2), np.arange(10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search = MetaSearchCV(_FailsOnOneFold(), {"alpha": mh.Float(0.1, 10.0)}, n_trials=8, cv=3,
                              optimizer="random", random_state=0).fit(X, y)
    results = search.cv_results_
    failed = np.array([p["alpha"] > 5 for p in results["params"]])
    assert failed.any() and not failed.all()
    assert np.all(np.isnan(results["mean_test_score"][failed]))
    assert min(results["rank_test_score"][failed]) > max(results["rank_test_score"][~failed])
    assert results["rank_test_score"][search.best_index_] == 1
