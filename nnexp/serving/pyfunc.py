"""The ``mlflow.pyfunc`` model that serves a trained nnexp model from a pandas DataFrame.

It reads a model directory written by ``nnexp.serving.models.save_model_dir`` (the network,
``features.json`` and a table's preparation) and prepares raw rows as the model was trained
on: ``mlflow.pyfunc.load_model(uri).predict(df)`` and ``mlflow models
serve``. ``nnexp.serving.models.register_trial_model`` registers it.
"""

from __future__ import annotations

from pathlib import Path

import mlflow.pyfunc
import pandas as pd

from nnexp.serving.models import load_model_dir
from nnexp.serving.predict import predict_frame


class NnexpPyfunc(mlflow.pyfunc.PythonModel):
    """Predicts from a DataFrame (``nnexp.serving.predict.predict_frame``): a ``prediction``
    column with the original labels, and ``proba_<class>`` columns for classifiers."""

    def load_context(self, context) -> None:
        self.saved = load_model_dir(Path(context.artifacts["model"]))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return predict_frame(self.saved, pd.DataFrame(model_input))
