"""The ``mlflow.pyfunc`` model that serves a trained nnexp model from a pandas DataFrame.

It reads a model directory written by ``nnexp.tracking.models.save_model_dir``
(``model.npz`` + ``model.json`` + ``features.json``) and one-hot encodes the original columns
as the model was trained on: ``mlflow.pyfunc.load_model(uri).predict(df)`` and ``mlflow models
serve``. ``nnexp.tracking.models.log_pyfunc`` logs it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd

from nnexp.tracking.models import FEATURES_FILE, MODEL_FILE


def frame_to_X(frame, features: dict[str, Any]) -> np.ndarray:
    """A DataFrame of the original columns -> X (m, n_x) as the model was trained on."""
    from nnexp.data import one_hot

    missing = [c for c in features["columns"] if c not in frame.columns]
    if missing:
        raise ValueError(f"input is missing column(s) {missing}; expected {features['columns']}")
    X, _ = one_hot(frame[features["columns"]], features["encoding"])
    return X


class NnexpPyfunc(mlflow.pyfunc.PythonModel):
    """Predicts from a DataFrame: a ``prediction`` column, and ``proba_<class>`` columns for
    classifiers."""

    def load_context(self, context) -> None:
        from nnexp.core import Model

        directory = Path(context.artifacts["model"])
        self.model = Model.load(directory / MODEL_FILE)
        self.features = json.loads((directory / FEATURES_FILE).read_text())

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        X = frame_to_X(pd.DataFrame(model_input), self.features)
        out = pd.DataFrame({"prediction": self.model.predict(X)})
        if self.model.is_classifier:
            proba = self.model.predict_proba(X)
            for j, label in enumerate(self.model.classes):
                out[f"proba_{label}"] = proba[:, j]
        return out
