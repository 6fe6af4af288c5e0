"""Reading what a study recorded, for the inspection commands: its Optuna study (by name, in a
storage that must already exist) and its MLflow runs (all of them in one ``search_runs`` query).

Nothing here creates a store: inspecting an empty directory says so instead of leaving an
empty ``mlruns/`` behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnexp.errors import NnexpError, did_you_mean, mask_url

ROLE_PARENT = "parent"
DEFAULT_UI_URL = "http://127.0.0.1:5000"
MODEL_TRAINING_VIEW = "workflowType=machine_learning"
"""The query every MLflow UI link nnexp prints ends with. MLflow 3.17's UI opens a page in the
GenAI view (traces, evaluations, judges) unless its URL (or the browser's last choice) asks for
the model-training view (runs, metric charts): the experiment tag ``mlflow.experimentKind``
alone does not switch it. The value is the UI's own (``workflowType`` in its JS bundle:
``genai`` or ``machine_learning``)."""


def _journal_path(url: str | None) -> Path | None:
    """The file of a journal storage URL (None: the default journal), else None."""
    from nnexp.stores.study_storage import DEFAULT_JOURNAL

    if url is None:
        return DEFAULT_JOURNAL.resolve()
    if url.startswith("journal:"):
        return Path(url[len("journal:"):]).expanduser()
    return None


def open_existing_storage(url: str | None):
    """The Optuna storage at ``url`` (None: ``mlruns/optuna.journal``), which must exist.

    Raises ``NnexpError`` (exit 2) when the journal file or SQLite database is missing (the
    message says how to make one), or when ``open_storage`` refuses the URL.
    """
    from nnexp.stores.study_storage import open_storage
    from nnexp.stores.tracking_store import missing_database

    journal = _journal_path(url)
    missing = journal if journal is not None and not journal.is_file() else None
    if url:
        missing = missing_database(url) or missing
    if missing is not None:
        where = "the default storage" if url is None else f"the storage {mask_url(url)!r}"
        raise NnexpError(
            f"no Optuna studies here: {where} has no file {str(missing)!r}. Run a study first "
            "(nnexp search EXPERIMENT.yaml) in this directory, or give the storage it used "
            "with --storage (for example journal:path/to/mlruns/optuna.journal).")
    return open_storage(url)


BOOKKEEPING_SUFFIX = "::invocations"
"""The name's end of the study nnexp keeps beside each study, ``<study>::invocations``, to
number its invocations (``nnexp.study.invocations``): not a study of the user's."""


def study_names(storage) -> list[str]:
    """The names of the studies in ``storage``, less nnexp's bookkeeping studies
    (``BOOKKEEPING_SUFFIX``)."""
    import optuna

    return [name for name in optuna.get_all_study_names(storage)
            if not name.endswith(BOOKKEEPING_SUFFIX)]


def load_study(name: str, storage_url: str | None = None):
    """The Optuna study ``name`` in ``storage_url``; an unknown name raises ``NnexpError``
    listing the known studies (with a did-you-mean), an empty storage says it is empty."""
    import optuna

    storage = open_existing_storage(storage_url)
    names = study_names(storage)
    where = "the default storage (mlruns/optuna.journal)" if storage_url is None \
        else f"the storage {mask_url(storage_url)!r}"
    if not names:
        raise NnexpError(f"{where} holds no studies yet. Run one with nnexp search "
                         "EXPERIMENT.yaml, or give the storage that holds yours with --storage.")
    if name not in names:
        raise NnexpError(
            f"no study named {name!r} in {where}.{did_you_mean(name, names, sentence=True)} "
            f"Known studies: {', '.join(sorted(names))} (nnexp studies lists them).")
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna.load_study(study_name=name, storage=storage)


def resolve_study(study, storage_url: str | None = None):
    """``study`` as an ``optuna.Study``: an ``optuna.Study`` as is, a name loaded from
    ``storage_url``."""
    if isinstance(study, str):
        return load_study(study, storage_url)
    return study


def tracking_client(tracking_uri: str | None = None):
    """An ``MlflowClient`` for ``--tracking-uri`` / ``MLFLOW_TRACKING_URI`` / the default, or
    None when it is the default SQLite database and that does not exist (nothing recorded)."""
    from nnexp.stores.tracking_store import (
        connect,
        default_tracking_uri,
        missing_database,
        resolve_tracking_uri,
    )

    uri = resolve_tracking_uri(tracking_uri)
    if uri == default_tracking_uri() and missing_database(uri) is not None:
        return None
    return connect(uri)


def require_client(tracking_uri: str | None = None):
    """``tracking_client``, but an absent default store is an error (exit 2)."""
    client = tracking_client(tracking_uri)
    if client is None:
        from nnexp.stores.tracking_store import default_tracking_uri

        raise NnexpError(
            f"no MLflow runs here: the default tracking store {default_tracking_uri()!r} does "
            "not exist. Run a study first (nnexp search EXPERIMENT.yaml) in this directory, or "
            "give the store it used with --tracking-uri (or MLFLOW_TRACKING_URI).")
    return client


def search_all(client, experiment_ids: list[str], filter_string: str) -> list:
    """Every run matching ``filter_string`` (all pages), newest first."""
    runs, token = [], None
    while True:
        page = client.search_runs(experiment_ids, filter_string=filter_string,
                                  max_results=1000, order_by=["attributes.start_time DESC"],
                                  page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def _all_experiment_ids(client) -> list[str]:
    ids, token = [], None
    while True:
        page = client.search_experiments(max_results=1000, page_token=token)
        ids.extend(e.experiment_id for e in page)
        token = page.token
        if not token:
            return ids


@dataclass
class StudyRuns:
    """The MLflow runs of one study: trial runs by trial number (the newest run when a number
    has several), the parent runs (newest first), and their experiment."""

    trials: dict[int, Any] = field(default_factory=dict)
    parents: list = field(default_factory=list)
    experiment_id: str | None = None
    experiment_name: str | None = None

    def run_id(self, number: int) -> str | None:
        run = self.trials.get(number)
        return run.info.run_id if run is not None else None


def study_runs(client, study_name: str) -> StudyRuns:
    """All MLflow runs tagged with ``study_name`` (one ``search_runs`` query over every
    experiment), sorted into trial runs and parent runs."""
    from nnexp.tracking.runs import TAG_PREFIX, tag_is

    out = StudyRuns()
    if client is None:
        return out
    ids = _all_experiment_ids(client)
    if not ids:
        return out
    for run in search_all(client, ids, tag_is("study", study_name)):
        tags = run.data.tags
        if tags.get(TAG_PREFIX + "role") == ROLE_PARENT:
            out.parents.append(run)
        elif (TAG_PREFIX + "trial_number") in tags:
            number = int(tags[TAG_PREFIX + "trial_number"])
            out.trials.setdefault(number, run)  # newest first: keep the newest
        out.experiment_id = out.experiment_id or run.info.experiment_id
    if out.experiment_id is not None:
        out.experiment_name = client.get_experiment(out.experiment_id).name
    return out


def objective_metrics(study, runs: StudyRuns | None = None) -> list[str]:
    """The metric name of each objective: from the parent run's ``objective`` parameter, else
    the study's experiment file, else ``objective_<i>``."""
    import ast

    n = len(study.directions)
    for parent in (runs.parents if runs else []):
        raw = parent.data.params.get("objective")
        try:
            names = [str(x).split(":")[0] for x in ast.literal_eval(raw)] if raw else []
        except (ValueError, SyntaxError):
            names = []
        if len(names) == n:
            return names
    path = study.user_attrs.get("experiment_file")
    if path and Path(path).is_file():
        try:
            from nnexp.config import load_experiment

            names = [m for m, _ in load_experiment(path).objective]
            if len(names) == n:
                return names
        except Exception:  # noqa: BLE001 - a moved or edited file: fall back to plain names
            pass
    return ["objective"] if n == 1 else [f"objective_{i}" for i in range(n)]


def experiment_url(ui_url: str, experiment_id: str | None = None) -> str:
    """The MLflow UI page of an experiment's runs (None: the list of experiments), in the
    model-training view (``MODEL_TRAINING_VIEW``; ``nnexp ui`` serves at ``DEFAULT_UI_URL``)."""
    page = f"/#/experiments/{experiment_id}" if experiment_id else "/#/experiments"
    return f"{ui_url.rstrip('/')}{page}?{MODEL_TRAINING_VIEW}"


def run_url(ui_url: str, experiment_id: str, run_id: str) -> str:
    """The MLflow UI page of a run, in the model-training view (``MODEL_TRAINING_VIEW``)."""
    return (f"{ui_url.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"
            f"?{MODEL_TRAINING_VIEW}")


def top_trials(study, top: int | None = None) -> list:
    """The best ``top`` complete trials, best first (one objective; default 1), or the Pareto
    front by trial number (several objectives; all of it unless ``top``): ``best_trials``.
    Raises ``NnexpError`` when no trial has completed."""
    from nnexp.tracking.summary import best_trials

    if top is not None and top < 1:
        raise NnexpError(f"--top must be at least 1, got {top}.")
    chosen = best_trials(study, top)
    if not chosen:
        raise NnexpError(f"study {study.study_name!r} has no complete trial yet (nnexp show "
                         f"{study.study_name} counts its trials by state). Run more trials "
                         "with nnexp search.")
    return chosen
