"""Trained models as MLflow artifacts, and logging them as ``mlflow.pyfunc`` models.

A model directory holds ``model.npz`` + ``model.json`` (``nnexp.core.Model``, which applies
the fitted scaler itself) and ``features.json`` (feature names and the one-hot encoding of
categorical columns), so the pyfunc model (``nnexp.export.pyfunc``) predicts straight from a
pandas DataFrame of the original columns: ``mlflow.pyfunc.load_model(uri).predict(df)`` and
``mlflow models serve``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

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


def stage_artifacts(files: dict[str, str], model=None, features=None) -> Path:
    """A new temporary folder holding ``files`` (name -> text, e.g. ``config.yaml``) and, when
    ``model`` is given, ``model/`` (see ``save_model_dir``; ``features`` is anything with
    ``feature_names``, ``encoding`` and ``task``, such as ``nnexp.data.Splits``), ready to be
    handed to ``RunLogger.artifact``, which uploads and removes it."""
    import tempfile

    stage = Path(tempfile.mkdtemp(prefix="nnexp-run-"))
    for name, text in files.items():
        (stage / name).write_text(text)
    if model is not None:
        save_model_dir(model, features.feature_names, features.encoding, features.task,
                       stage / "model")
    return stage


def log_pyfunc(run_id: str, model_dir: Path, registered_name: str | None, example,
               python_model) -> str:
    """Log ``model_dir`` as a pyfunc model in run ``run_id`` (registering it under
    ``registered_name`` if given) served by ``python_model`` (an ``mlflow.pyfunc.PythonModel``
    such as ``nnexp.export.pyfunc.NnexpPyfunc``, which reads the directory's files); returns
    the registered ``models:/name/version`` URI."""
    import mlflow
    import mlflow.pyfunc
    from mlflow.utils.logging_utils import disable_logging, enable_logging

    import nnexp

    disable_logging()  # MLflow notes on cloudpickle, int columns, "registered": nnexp says it
    try:
        with warnings.catch_warnings(), mlflow.start_run(run_id=run_id):
            warnings.simplefilter("ignore")
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=python_model,
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
