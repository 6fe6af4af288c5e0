"""Where MLflow records runs: the tracking URI, its database and the experiment.

The default is a SQLite database inside ``mlruns/`` with artifacts beside it
(``mlruns/mlflow.db`` and ``mlruns/artifacts/``): no server, and not MLflow's plain file store,
which MLflow 3.13+ refuses. nnexp always sets the URI explicitly, because a ``mlruns/`` folder
in the working directory would otherwise make MLflow pick that file store and raise.
"""

from __future__ import annotations

import os
from pathlib import Path

from nnexp.errors import NnexpError, first_line, url_scheme

HOME = Path("mlruns")
DB_NAME = "mlflow.db"
SCHEMES = ("sqlite", "postgresql", "mysql", "mssql", "http", "https", "databricks", "file")


def default_tracking_uri(home: Path = HOME) -> str:
    """``sqlite:///<abs>/mlruns/mlflow.db``."""
    return f"sqlite:///{(home / DB_NAME).resolve()}"


def resolve_tracking_uri(cli_uri: str | None = None, configured: str | None = None) -> str:
    """The URI to use: ``--tracking-uri``, else ``MLFLOW_TRACKING_URI``, else the experiment's
    ``tracking.uri``, else the default SQLite database in ``./mlruns``."""
    return cli_uri or os.environ.get("MLFLOW_TRACKING_URI") or configured or default_tracking_uri()


def artifact_root(uri: str) -> str | None:
    """Artifact location for new experiments: ``artifacts/`` beside a SQLite database, or None
    (the server's or store's own default) for other stores."""
    if uri.startswith("sqlite:///"):
        return (Path(uri[len("sqlite:///"):]).parent / "artifacts").resolve().as_uri()
    return None


def _check_uri(uri: str) -> None:
    scheme = url_scheme(uri)
    if scheme not in SCHEMES:
        raise NnexpError(
            f"tracking URI {uri!r} is not one MLflow can use: it must start with one of "
            f"{', '.join(s + ':' for s in SCHEMES)} (for example sqlite:///mlruns/mlflow.db). "
            "Fix --tracking-uri, MLFLOW_TRACKING_URI or tracking.uri in the experiment file.")
    if scheme == "file" and os.environ.get("MLFLOW_ALLOW_FILE_STORE", "").lower() != "true":
        raise NnexpError(
            f"tracking URI {uri!r} is MLflow's plain file store, which MLflow 3.13+ refuses. Use "
            "a SQLite database instead, e.g. --tracking-uri sqlite:///mlruns/mlflow.db.")


def quiet_mlflow() -> None:
    """Keep MLflow's informational logs and progress bars out of nnexp's output."""
    import logging

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def connect(uri: str):
    """Open (creating if needed) the tracking store at ``uri`` and return an ``MlflowClient``.

    Call this once in the parent process before workers start: it runs MLflow's first-time
    database migrations, which race when several processes do it at once.
    """
    _check_uri(uri)
    if uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
    import mlflow
    from mlflow import MlflowClient

    quiet_mlflow()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        client.search_experiments(max_results=1)
    except ImportError as err:
        raise NnexpError(
            f"the MLflow tracking store {uri!r} needs a database driver that is not installed "
            f"({err}). Install it (for PostgreSQL: pip install 'psycopg[binary]') or use "
            "another --tracking-uri.") from None
    except Exception as err:  # noqa: BLE001 - any failure to open the store is the user's URI
        raise NnexpError(
            f"cannot open the MLflow tracking store {uri!r}: {first_line(err)}. Check that the "
            "URI is right and the database or server is reachable (fix --tracking-uri, "
            "MLFLOW_TRACKING_URI or tracking.uri in the experiment file).") from None
    return client


def ensure_experiment(client, name: str, uri: str) -> str:
    """The id of the MLflow experiment ``name``, created (artifacts beside the DB) if absent,
    marked as a model-training experiment (see ``mark_model_training``)."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            client.restore_experiment(found.experiment_id)
        mark_model_training(client, found)
        return found.experiment_id
    return client.create_experiment(name, artifact_location=artifact_root(uri),
                                    tags={EXPERIMENT_KIND: MODEL_TRAINING})


EXPERIMENT_KIND, MODEL_TRAINING = "mlflow.experimentKind", "custom_model_development"


def mark_model_training(client, experiment) -> None:
    """Tag ``experiment`` so that the MLflow UI opens it in its model-training view (runs,
    metric charts) rather than the GenAI view (traces) MLflow 3 opens untagged ones in."""
    if experiment.tags.get(EXPERIMENT_KIND) != MODEL_TRAINING:
        client.set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND, MODEL_TRAINING)
