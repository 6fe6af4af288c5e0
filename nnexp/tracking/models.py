"""Trained models as MLflow artifacts, and logging them as ``mlflow.pyfunc`` models.

A model directory holds ``model.npz`` + ``model.json`` (``nnexp.core.Model``, which applies
the fitted scaler itself and keeps the original class labels) and ``features.json`` (feature
names, the raw columns, the one-hot encoding of categorical columns, the task and the class
labels), so a model predicts straight from a pandas DataFrame of the original columns
(``nnexp.export.predict.predict_frame``). It is the one format of a trial's ``model/``
artifact, of ``nnexp train -o DIR`` and of the registered model (a pyfunc model holding the
directory, served by ``nnexp.export.pyfunc``): ``nnexp predict``,
``mlflow.pyfunc.load_model(uri).predict(df)``.
"""

from __future__ import annotations

import json
import warnings
from contextlib import contextmanager
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
    classes = None if model.classes is None else \
        [c.item() if isinstance(c, np.generic) else c for c in model.classes]
    (directory / FEATURES_FILE).write_text(json.dumps(
        {"feature_names": feature_names, "columns": columns, "encoding": encoding, "task": task,
         "classes": classes}, indent=2, default=str) + "\n")
    return directory


def is_model_dir(directory: Path) -> bool:
    return (directory / MODEL_FILE).is_file() and (directory / FEATURES_FILE).is_file()


def find_model_dir(root: Path) -> Path | None:
    """``root`` if it is a model directory, else the first one below it (a downloaded pyfunc
    model keeps it under ``artifacts/``), or None."""
    if is_model_dir(root):
        return root
    for features in sorted(root.rglob(FEATURES_FILE)):
        if is_model_dir(features.parent):
            return features.parent
    return None


def load_model_dir(directory: Path):
    """(``nnexp.core.Model``, the features description) of a model directory."""
    from nnexp.core import Model

    return Model.load(directory / MODEL_FILE), json.loads((directory / FEATURES_FILE).read_text())


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


CHAMPION = "champion"
PYFUNC_PATH = "pyfunc"


def champion(client, name: str):
    """The version of registered model ``name`` that holds the ``champion`` alias, or None."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return None


@contextmanager
def _installed_requirements_trusted():
    """Skip MLflow's check that the model's pip requirements match the installed packages:
    nnexp pins exactly the installed versions (``numpy==np.__version__``...), so it cannot
    find a mismatch, and it scans every installed distribution's metadata (0.5-2 s, the
    largest part of registering a model). A no-op if MLflow no longer has that check."""
    import mlflow.utils.environment as environment

    name = "warn_dependency_requirement_mismatches"
    original = getattr(environment, name, None)
    if original is None:
        yield
        return
    setattr(environment, name, lambda requirements: None)
    try:
        yield
    finally:
        setattr(environment, name, original)


def save_pyfunc(model_dir: Path, example, python_model, directory: Path) -> Path:
    """Write ``model_dir`` as an ``mlflow.pyfunc`` model into ``directory`` (which must not
    exist): the model directory under ``artifacts/``, nnexp's code, pinned requirements, the
    input example and the signature MLflow infers from it (``python_model`` is
    ``nnexp.export.pyfunc.NnexpPyfunc``)."""
    import mlflow
    import mlflow.pyfunc
    from mlflow.utils.logging_utils import disable_logging, enable_logging

    import nnexp

    disable_logging()  # MLflow notes on cloudpickle and int columns: noise here
    try:
        with warnings.catch_warnings(), _installed_requirements_trusted():
            warnings.simplefilter("ignore")
            mlflow.pyfunc.save_model(
                path=str(directory), python_model=python_model,
                artifacts={"model": str(model_dir)},
                code_paths=[str(Path(nnexp.__file__).parent)],
                pip_requirements=[f"numpy=={np.__version__}", f"pandas=={pd.__version__}",
                                  f"mlflow=={mlflow.__version__}"],
                input_example=example)
    finally:
        enable_logging()
    return directory


def register_trial_model(client, name: str, run_id: str, model_dir: Path, example,
                         python_model, tags: dict[str, str], description: str):
    """Register the model of trial run ``run_id`` as a new version of ``name`` and move the
    ``champion`` alias to it; returns the ``ModelVersion``.

    The pyfunc model is written into the trial's own run (artifact ``pyfunc/``; uploading
    artifacts does not reopen the finished run) and the version is created from there with
    ``create_model_version(name, source=<that artifact's URI>, run_id=run_id)``, MLflow's
    documented way to register a run's model, so the version's source and run are the trial.
    """
    import tempfile

    from mlflow.exceptions import MlflowException
    from mlflow.store.artifact.runs_artifact_repo import RunsArtifactRepository

    with tempfile.TemporaryDirectory(prefix="nnexp-pyfunc-") as tmp:
        local = save_pyfunc(model_dir, example, python_model, Path(tmp) / PYFUNC_PATH)
        client.log_artifacts(run_id, str(local), PYFUNC_PATH)
    try:
        client.create_registered_model(name)
    except MlflowException as err:
        if err.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    source = RunsArtifactRepository.get_underlying_uri(f"runs:/{run_id}/{PYFUNC_PATH}")
    version = client.create_model_version(name, source, run_id=run_id, tags=tags,
                                          description=description)
    client.set_registered_model_alias(name, CHAMPION, version.version)
    return version
