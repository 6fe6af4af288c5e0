"""Trained models as MLflow artifacts, and the ``mlflow.pyfunc`` wrapper that serves them.

A model directory holds ``model.npz`` + ``model.json`` (``nnexp.core.Model``, which applies
the fitted scaler itself) and ``features.json`` (feature names and the one-hot encoding of
categorical columns), so the pyfunc model predicts straight from a pandas DataFrame of the
original columns: ``mlflow.pyfunc.load_model(uri).predict(df)`` and ``mlflow models serve``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd

MODEL_FILE = "model.npz"
FEATURES_FILE = "features.json"


def save_model_dir(model, feature_names: list[str], encoding: dict[str, list], task: str,
                   directory: Path) -> Path:
    """Write the model and its feature description into ``directory`` (created)."""
    directory.mkdir(parents=True, exist_ok=True)
    model.save(directory / MODEL_FILE)
    columns: list[str] = []
    for name in feature_names:
        column = name.split("=", 1)[0] if "=" in name and name.split("=", 1)[0] in encoding \
            else name
        if column not in columns:
            columns.append(column)
    (directory / FEATURES_FILE).write_text(json.dumps(
        {"feature_names": feature_names, "columns": columns, "encoding": encoding, "task": task},
        indent=2, default=str) + "\n")
    return directory


def stage_artifacts(run_file_content: dict[str, Any], model=None, splits=None) -> Path:
    """A new temporary folder holding ``config.yaml`` (a run file) and, when ``model`` is
    given, ``model/`` (see ``save_model_dir``; ``splits`` describes its features), ready to be
    handed to ``RunLogger.artifact``, which uploads and removes it."""
    import tempfile

    from nnexp.export.run_file import write_run_file

    stage = Path(tempfile.mkdtemp(prefix="nnexp-run-"))
    write_run_file(stage / "config.yaml", run_file_content)
    if model is not None:
        save_model_dir(model, splits.feature_names, splits.encoding, splits.task,
                       stage / "model")
    return stage


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


def log_pyfunc(run_id: str, model_dir: Path, registered_name: str | None,
               example) -> str:
    """Log ``model_dir`` as a pyfunc model in run ``run_id`` (registering it under
    ``registered_name`` if given); returns the registered ``models:/name/version`` URI."""
    import mlflow
    from mlflow.utils.logging_utils import disable_logging, enable_logging

    import nnexp

    disable_logging()  # MLflow notes on cloudpickle, int columns, "registered": nnexp says it
    try:
        with warnings.catch_warnings(), mlflow.start_run(run_id=run_id):
            warnings.simplefilter("ignore")
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=NnexpPyfunc(),
                artifacts={"model": str(model_dir)},
                code_paths=[str(Path(nnexp.__file__).parent)],
                pip_requirements=[f"numpy=={np.__version__}", f"pandas=={pd.__version__}",
                                  f"mlflow=={mlflow.__version__}"],
                input_example=example,
                registered_model_name=registered_name,
            )
    finally:
        enable_logging()
    version = info.registered_model_version
    return f"models:/{registered_name}/{version}" if registered_name and version else \
        info.model_uri
