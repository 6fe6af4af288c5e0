"""scikit-learn estimators over nnexp's core: ``NNClassifier`` and ``NNRegressor``.

Every training setting of ``nnexp.core.TrainConfig`` is a constructor parameter of the same
name and default; ``fit`` validates the data with scikit-learn's ``validate_data``, trains
with ``nnexp.core.train`` and keeps the trained ``nnexp.core.Model`` as ``model_``. They work
in a ``Pipeline`` (a ``ColumnTransformer`` in front for a raw table), ``cross_val_score`` and
``GridSearchCV``, and pass scikit-learn's ``check_estimator`` except for the checks listed in
``EXPECTED_FAILED_CHECKS``::

    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from nnexp.sklearn import NNClassifier

    clf = make_pipeline(StandardScaler(), NNClassifier(hidden_layers=(64, 32), epochs=100))
    clf.fit(X_train, y_train).score(X_test, y_test)

The estimators are thin: the core trains, they only translate (labels, dtypes, shapes).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from nnexp.core import TrainConfig, train

EXPECTED_FAILED_CHECKS: dict[str, dict[str, str]] = {"NNClassifier": {}, "NNRegressor": {}}
"""scikit-learn checks each estimator is known to fail, with the reason (for
``check_estimator(expected_failed_checks=...)`` and ``parametrize_with_checks``)."""

_DEFAULTS = TrainConfig()


class _NNBase(BaseEstimator):
    """The shared constructor and fit of both estimators (the parameters of ``TrainConfig``)."""

    def __init__(self, hidden_layers: tuple[int, ...] = _DEFAULTS.hidden_layers,
                 activation: str = _DEFAULTS.activation, output: str = _DEFAULTS.output,
                 init: str = _DEFAULTS.init, init_scale: float = _DEFAULTS.init_scale,
                 optimizer: str = _DEFAULTS.optimizer,
                 learning_rate: float = _DEFAULTS.learning_rate, beta1: float = _DEFAULTS.beta1,
                 beta2: float = _DEFAULTS.beta2, epsilon: float = _DEFAULTS.epsilon,
                 schedule: str = _DEFAULTS.schedule, decay_rate: float = _DEFAULTS.decay_rate,
                 decay_steps: int = _DEFAULTS.decay_steps,
                 min_learning_rate: float = _DEFAULTS.min_learning_rate,
                 batch_size: int | None = _DEFAULTS.batch_size, epochs: int = _DEFAULTS.epochs,
                 l2: float = _DEFAULTS.l2, keep_prob: float | tuple[float, ...] =
                 _DEFAULTS.keep_prob, patience: int | None = None,
                 dtype: str = _DEFAULTS.dtype, seed: int = _DEFAULTS.seed) -> None:
        self.hidden_layers = hidden_layers
        self.activation = activation
        self.output = output
        self.init = init
        self.init_scale = init_scale
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.schedule = schedule
        self.decay_rate = decay_rate
        self.decay_steps = decay_steps
        self.min_learning_rate = min_learning_rate
        self.batch_size = batch_size
        self.epochs = epochs
        self.l2 = l2
        self.keep_prob = keep_prob
        self.patience = patience
        self.dtype = dtype
        self.seed = seed

    def _config(self) -> TrainConfig:
        """The parameters as a ``TrainConfig`` (its ``ValueError`` names a bad one)."""
        return TrainConfig(**{name: getattr(self, name)
                              for name in TrainConfig.__dataclass_fields__})

    def _fit(self, X, y, *, classifier: bool) -> _NNBase:
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32],
                             y_numeric=not classifier)
        config = self._config()
        if classifier:
            check_classification_targets(y)
        self.model_ = train(X, y, config).model
        return self

    def _X(self, X) -> np.ndarray:
        check_is_fitted(self, "model_")
        return validate_data(self, X, reset=False, dtype=[np.float64, np.float32])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


class NNClassifier(ClassifierMixin, _NNBase):
    """An L-layer network classifier (sigmoid output for two classes, softmax for more).

    Parameters: those of ``nnexp.core.TrainConfig``, same names and defaults.

    Attributes: ``classes_`` (n_classes,), ``n_features_in_``, ``feature_names_in_`` (when
    fitted on a DataFrame with string column names), ``model_`` (the ``nnexp.core.Model``).
    """

    def fit(self, X, y) -> NNClassifier:
        """X: (m, n_x) numbers; y: (m,) labels (any sortable kind, at least two classes)."""
        self._fit(X, y, classifier=True)
        self.classes_ = self.model_.classes
        return self

    def predict(self, X) -> np.ndarray:
        """X: (m, n_x) -> labels (m,) from ``classes_``."""
        X = self._X(X)
        return self.model_.predict(X)

    def predict_proba(self, X) -> np.ndarray:
        """X: (m, n_x) -> probabilities (m, n_classes), columns ordered as ``classes_``."""
        X = self._X(X)
        return self.model_.predict_proba(X)


class NNRegressor(RegressorMixin, _NNBase):
    """An L-layer network regressor (linear output, squared-error cost).

    Parameters: those of ``nnexp.core.TrainConfig``, same names and defaults.

    Attributes: ``n_features_in_``, ``feature_names_in_``, ``model_``.
    """

    def fit(self, X, y) -> NNRegressor:
        """X: (m, n_x) numbers; y: (m,) real values."""
        return self._fit(X, y, classifier=False)

    def predict(self, X) -> np.ndarray:
        """X: (m, n_x) -> predictions (m,)."""
        X = self._X(X)
        return self.model_.predict(X)

