"""What a person names after a search: a recorded run (by id or ``runs:/`` URI), a study's
trial, a run's ``config.yaml`` or ``model/``, a registered model (``models:/...``).

Every lookup that fails is an ``NnexpError`` naming what was asked for and the fix (exit 2),
and an existing tracking store is never created by looking into it: a default SQLite store
that is not there is an error saying where nnexp looked, not a new empty ``mlflow.db``.
"""

from __future__ import annotations

import re
from pathlib import Path

from nnexp.errors import NnexpError, first_line, mask_url
from nnexp.tracking.runs import TAG_PREFIX, trial_filter

RUN_ID = re.compile(r"[0-9a-f]{32}")
CONFIG_FILE = "config.yaml"
MODEL_PATH = "model"


def run_id_of(reference: str) -> str | None:
    """The run id in ``reference`` (a bare MLflow run id or ``runs:/<run_id>[/path]``), or
    None when it is neither."""
    if reference.startswith("runs:/"):
        return reference[len("runs:/"):].strip("/").split("/", 1)[0] or None
    return reference if RUN_ID.fullmatch(reference) else None


def open_store(uri: str):
    """An ``MlflowClient`` for the existing store at ``uri`` (``tracking_store.connect``),
    refusing to create a SQLite database that does not exist yet."""
    from nnexp.stores.tracking_store import connect, missing_database

    if missing_database(uri) is not None:
        raise NnexpError(
            f"there is no MLflow tracking store at {mask_url(uri)!r}. Run the command from the "
            "folder that holds the study's mlruns/ (where you ran nnexp search), or pass "
            "--tracking-uri (or set MLFLOW_TRACKING_URI) to the store's URI.")
    return connect(uri)


def get_run(client, run_id: str, uri: str):
    """The run ``run_id`` of the store, or an ``NnexpError`` saying it is not there."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_run(run_id)
    except MlflowException:
        raise NnexpError(
            f"there is no MLflow run {run_id!r} in the tracking store {mask_url(uri)!r}. Check "
            "the run id (the MLflow UI or nnexp search's output shows it), or pass "
            "--tracking-uri for the store that holds it.") from None


def trial_run(client, run_id: str, uri: str):
    """The run ``run_id``, which must be an nnexp trial (tags ``nnexp.study`` and
    ``nnexp.trial_number``)."""
    run = get_run(client, run_id, uri)
    tags = run.data.tags
    if TAG_PREFIX + "study" not in tags or TAG_PREFIX + "trial_number" not in tags:
        raise NnexpError(
            f"MLflow run {run_id!r} ({run.info.run_name or 'unnamed'}) is not an nnexp trial: "
            "it has no nnexp.study and nnexp.trial_number tags. Give the run id of a trial "
            "(a child run of an nnexp search), or STUDY TRIAL.")
    return run


def find_trial(client, study: str, number: int, uri: str):
    """The run of trial ``number`` of study ``study``, searched in every experiment."""
    experiments = [e.experiment_id for e in client.search_experiments()]
    found = client.search_runs(experiments, max_results=1,
                               filter_string=trial_filter(study, number)) \
        if experiments else []
    if not found:
        raise NnexpError(
            f"no trial {number} of study {study!r} is recorded in the tracking store "
            f"{mask_url(uri)!r}. Check the study name and trial number (nnexp search prints "
            "them), or pass --tracking-uri for the store that holds the study.")
    return found[0]


def download(client, run_id: str, path: str, directory: Path, what: str) -> Path:
    """Download artifact ``path`` of run ``run_id`` into ``directory``; an ``NnexpError``
    naming ``what`` it should have been when the run has none."""
    names = {a.path for a in client.list_artifacts(run_id)}
    if path not in names:
        raise NnexpError(
            f"MLflow run {run_id!r} has no {path!r} artifact, so it has no {what}. Give the "
            f"run of an nnexp trial or nnexp train run that has one (it has: "
            f"{', '.join(sorted(names)) or 'no artifacts'}).")
    try:
        return Path(client.download_artifacts(run_id, path, str(directory)))
    except Exception as err:  # noqa: BLE001 - any failure to read the artifact store
        raise NnexpError(f"cannot download {path!r} of MLflow run {run_id!r}: "
                         f"{first_line(err)}. Check that the artifact store is reachable.") \
            from None


def download_model_uri(uri: str, model_uri: str, directory: Path) -> Path:
    """Download registered model ``model_uri`` (``models:/<name>/<version>`` or
    ``models:/<name>@<alias>``) into ``directory``."""
    import mlflow
    from mlflow.exceptions import MlflowException

    try:
        return Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri,
                                                        dst_path=str(directory),
                                                        tracking_uri=uri, registry_uri=uri))
    except MlflowException as err:
        raise NnexpError(
            f"cannot find the model {model_uri!r} in the tracking store {mask_url(uri)!r} "
            f"({first_line(err)}). Check the name and the version or alias (models:/<study>/"
            "<version> or models:/<study>@champion), or pass --tracking-uri for the store "
            "that holds it.") from None
