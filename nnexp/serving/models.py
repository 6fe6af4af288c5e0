"""Trained models as MLflow artifacts, and logging them as ``mlflow.pyfunc`` models.

A model directory holds ``model.npz`` + ``model.json`` (``nnexp.core.Model``, which applies
the fitted scaler itself and keeps the original class labels), ``features.json`` (feature
names, the raw columns it reads, the task and the class labels) and, for a table,
``preparation.skops`` + ``preparation.json`` (``nnexp.data.Preparation``: the fitted column
preparation and its decisions), so a model predicts straight from raw rows of the original
table (``nnexp.serving.predict.predict_frame``). It is the one format of a trial's ``model/``
artifact, of ``nnexp train -o DIR`` and of the registered model (a pyfunc model holding the
directory, served by ``nnexp.serving.pyfunc``): ``nnexp predict``,
``mlflow.pyfunc.load_model(uri).predict(df)``.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

MODEL_FILE = "model.npz"
FEATURES_FILE = "features.json"


@dataclass(frozen=True)
class SavedModel:
    """A loaded model directory: the network, ``features.json`` and a table's preparation
    (None for a model of arrays)."""

    model: Any
    features: dict[str, Any]
    preparation: Any = None


def save_model_dir(model, features, directory: Path) -> Path:
    """Write the model and its input description into ``directory`` (created).

    features : anything with ``feature_names``, ``task`` and ``preparation`` (a fitted
        ``nnexp.data.Preparation`` or None), such as ``nnexp.data.Splits``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    model.save(directory / MODEL_FILE)
    preparation = features.preparation
    columns = preparation.inputs if preparation is not None else list(features.feature_names)
    classes = None if model.classes is None else \
        [c.item() if isinstance(c, np.generic) else c for c in model.classes]
    (directory / FEATURES_FILE).write_text(json.dumps(
        {"feature_names": list(features.feature_names), "columns": columns,
         "task": features.task, "classes": classes, "table": preparation is not None},
        indent=2, default=str) + "\n")
    if preparation is not None:
        preparation.save(directory)
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


def load_model_dir(directory: Path) -> SavedModel:
    """The model in a model directory, with its features description and preparation."""
    from nnexp.core import Model

    features = json.loads((directory / FEATURES_FILE).read_text())
    preparation = None
    if features.get("table"):
        from nnexp.data import Preparation

        preparation = Preparation.load(directory)
    return SavedModel(Model.load(directory / MODEL_FILE), features, preparation)


def stage_artifacts(files: dict[str, str], model=None, features=None) -> Path:
    """A new temporary folder holding ``files`` (name -> text, e.g. ``config.yaml``) and, when
    ``model`` is given, ``model/`` (see ``save_model_dir``; ``features`` is anything with
    ``feature_names``, ``task`` and ``preparation``, such as ``nnexp.data.Splits``), ready to be
    handed to ``RunLogger.artifact``, which uploads and removes it."""
    import tempfile

    stage = Path(tempfile.mkdtemp(prefix="nnexp-run-"))
    for name, text in files.items():
        (stage / name).write_text(text)
    if model is not None:
        save_model_dir(model, features, stage / "model")
    return stage


def stage_column_report(preparation) -> Path:
    """A new temporary folder holding a table's column report as ``columns.txt`` (the table
    ``nnexp validate`` prints) and ``columns.json``, for the parent run's ``data/``
    (``RunLogger.artifact(stage, "data")``, which removes the folder once sent)."""
    import tempfile

    from nnexp.data.preparation import report_lines

    stage = Path(tempfile.mkdtemp(prefix="nnexp-columns-"))
    rows = preparation.report()
    (stage / "columns.txt").write_text("\n".join(report_lines(rows)) + "\n")
    (stage / "columns.json").write_text(json.dumps(rows, indent=1) + "\n")
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


def save_pyfunc(model_dir: Path, example, python_model, directory: Path) -> Path:
    """Write ``model_dir`` as an ``mlflow.pyfunc`` model into ``directory`` (which must not
    exist): the model directory under ``artifacts/``, nnexp's code, pinned requirements, the
    input example (raw rows, a DataFrame) and a signature naming its columns with MLflow's
    ``AnyType``: the model's own preparation reads raw values (an integer where floats were
    seen, a missing value, a date string), which MLflow's type checks would refuse
    (``python_model`` is ``nnexp.serving.pyfunc.NnexpPyfunc``)."""
    import mlflow
    import mlflow.pyfunc
    from mlflow.models import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec, Schema

    import nnexp
    from nnexp.library_internals import installed_requirements_trusted, mlflow_logging_disabled

    # MLflow's notes on cloudpickle and int columns are noise here
    with mlflow_logging_disabled(), warnings.catch_warnings(), installed_requirements_trusted():
        warnings.simplefilter("ignore")
        mlflow.pyfunc.save_model(
            path=str(directory), python_model=python_model,
            artifacts={"model": str(model_dir)},
            code_paths=[str(Path(nnexp.__file__).parent)],
            pip_requirements=requirements(),
            signature=ModelSignature(inputs=Schema([ColSpec(AnyType(), str(c))
                                                    for c in example.columns])),
            input_example=example)
    return directory


def requirements() -> list[str]:
    """The pyfunc model's pip requirements: exactly the installed versions of what loading
    it imports (a table's preparation needs scikit-learn and skops)."""
    from importlib.metadata import version

    names = ["numpy", "pandas", "mlflow", "scikit-learn", "skops"]
    return [f"{name}=={version(name)}" for name in names]


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

    from nnexp.library_internals import run_artifact_source

    with tempfile.TemporaryDirectory(prefix="nnexp-pyfunc-") as tmp:
        local = save_pyfunc(model_dir, example, python_model, Path(tmp) / PYFUNC_PATH)
        client.log_artifacts(run_id, str(local), PYFUNC_PATH)
    try:
        client.create_registered_model(name)
    except MlflowException as err:
        if err.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    source = run_artifact_source(f"runs:/{run_id}/{PYFUNC_PATH}")
    version = client.create_model_version(name, source, run_id=run_id, tags=tags,
                                          description=description)
    client.set_registered_model_alias(name, CHAMPION, version.version)
    return version


def register_best(study, client, experiment_id: str, name: str, trial, front: list[int],
                  metrics: list[str], example, python_model, tmp: Path, info: dict,
                  run_id: str | None = None) -> None:
    """Register ``trial`` (the study's best with a logged model) as a new version of ``name``
    unless the current ``champion`` version already is a best trial of this study (a
    resumption that did not improve the best adds no version). Sets ``info``'s
    ``model_uri`` (``models:/<name>/<version>``), ``model_trial`` and ``model_new``.
    ``run_id``: the trial's MLflow run when the caller has found it (None: searched here)."""
    from nnexp.tracking.runs import TAG_PREFIX
    from nnexp.tracking.summary import trial_run_id

    current = champion(client, name)
    if current is not None and current.tags.get(TAG_PREFIX + "study") == study.study_name \
            and current.tags.get(TAG_PREFIX + "trial_number", "").isdigit() \
            and int(current.tags[TAG_PREFIX + "trial_number"]) in front:
        info.update(model_uri=f"models:/{name}/{current.version}", model_new=False,
                    model_trial=int(current.tags[TAG_PREFIX + "trial_number"]))
        return
    run_id = run_id or trial_run_id(client, experiment_id, study, trial.number)
    if run_id is None:
        raise LookupError(f"no MLflow run found for trial {trial.number}")
    local = Path(client.download_artifacts(run_id, "model", str(tmp)))
    directions = [d.name.lower() for d in study.directions]
    names = metrics if len(metrics) == len(trial.values) else \
        [f"objective {i}" for i in range(len(trial.values))]
    scores = ", ".join(f"{m} = {v:.6g} ({d})" for m, v, d in zip(names, trial.values, directions))
    description = (f"nnexp study {study.study_name!r}, trial {trial.number} (MLflow run "
                   f"{run_id}): {scores}.")
    tags = {TAG_PREFIX + "study": study.study_name, TAG_PREFIX + "trial_number": str(trial.number),
            **{f"{TAG_PREFIX}value.{m}": repr(float(v)) for m, v in zip(names, trial.values)}}
    version = register_trial_model(client, name, run_id, local, example, python_model, tags,
                                   description)
    info.update(model_uri=f"models:/{name}/{version.version}", model_new=True,
                model_trial=trial.number)
