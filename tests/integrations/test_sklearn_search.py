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
    assert outer.score(X, y) > 0.9 and outer.predict(X).shape == y.shape


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
