"""nnexp.sklearn: scikit-learn's own estimator checks, and the estimators in Pipeline,
cross_val_score and GridSearchCV, agreeing with the core they wrap."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_iris, make_regression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from nnexp.core import TrainConfig, train
from nnexp.sklearn import EXPECTED_FAILED_CHECKS, NNClassifier, NNRegressor


@parametrize_with_checks(
    [NNClassifier(epochs=20), NNRegressor(epochs=20)],
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS[type(est).__name__])
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_expected_failures_are_few_and_explained():
    for name, failures in EXPECTED_FAILED_CHECKS.items():
        assert len(failures) <= 3, name
        assert all(isinstance(reason, str) and reason for reason in failures.values())


def test_classifier_is_the_core_trained_on_the_same_data():
    X, y = load_iris(return_X_y=True)
    clf = NNClassifier(hidden_layers=(16,), epochs=30, seed=3).fit(X, y)
    core = train(X, y, TrainConfig(hidden_layers=(16,), epochs=30, seed=3)).model
    np.testing.assert_array_equal(clf.predict_proba(X), core.predict_proba(X))
    assert list(clf.classes_) == [0, 1, 2] and clf.n_features_in_ == 4
    assert clf.predict_proba(X).dtype == np.float32
    assert NNClassifier(dtype="float64", epochs=2).fit(X, y).predict_proba(X).dtype == np.float64


def test_string_labels_and_feature_names_from_a_dataframe():
    X, y = load_iris(return_X_y=True, as_frame=True)
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    clf = NNClassifier(hidden_layers=(8,), epochs=40).fit(X, labels)
    assert list(clf.feature_names_in_) == list(X.columns)
    assert set(clf.predict(X)) <= set(labels)
    assert clf.score(X, labels) > 0.8


def test_in_a_pipeline_with_a_column_transformer_on_a_raw_table():
    rng = np.random.default_rng(0)
    n = 300
    colour = rng.choice(["red", "green", "blue"], n)
    x = rng.normal(size=n)
    frame = pd.DataFrame({"colour": colour, "x": x})
    y = (colour == "red") ^ (x > 0)
    model = make_pipeline(
        make_column_transformer((OneHotEncoder(), ["colour"]), (StandardScaler(), ["x"])),
        NNClassifier(hidden_layers=(16, 16), epochs=60, learning_rate=0.01))
    scores = cross_val_score(model, frame, y, cv=3)
    assert scores.mean() > 0.9


def test_grid_search_over_constructor_parameters():
    X, y = make_regression(n_samples=200, n_features=5, noise=1.0, random_state=0)
    search = GridSearchCV(NNRegressor(epochs=40), {"hidden_layers": [(8,), (32,)],
                                                  "learning_rate": [1e-3, 1e-2]}, cv=2)
    search.fit(X, y)
    assert search.best_params_["hidden_layers"] in [(8,), (32,)]
    assert np.isfinite(search.best_score_)


def test_a_bad_parameter_is_named_at_fit():
    X, y = load_iris(return_X_y=True)
    with pytest.raises(ValueError, match="activation"):
        NNClassifier(activation="sigmoidal").fit(X, y)
