"""``nnexp train``'s use case: train one run file's configuration (a file, or a recorded run's
``config.yaml``) as a single MLflow run, logged exactly like a study's trial (per-epoch
curves, final metrics, config and model artifacts); ``fit`` is the training alone, which
``nnexp reproduce`` also uses. It lives beside the study runner because, like it, it ties
config, data, the core and tracking together; ``nnexp.tracking`` itself knows only MLflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nnexp.config import for_task
from nnexp.recovery.workers import available_cpus
from nnexp.tracking.records import final_metrics, log_final
from nnexp.tracking.runs import TAG_PREFIX, RunLogger, tag_is
from nnexp.tracking.states import TrialState


@dataclass
class TrainRunResult:
    run_id: str | None
    tracking_uri: str
    metrics: dict[str, float]
    state: str
    model_path: Path | None
    history: list = field(default_factory=list)
    fingerprint: str = ""


@dataclass
class Fitted:
    """One training of a run file's configuration (``fit``)."""

    rc: object
    splits: object
    config: object
    result: object
    metrics: dict[str, float]
    threads: int


def blas_threads(rc) -> int:
    """The BLAS threads a run file was trained with (``source.blas_threads``), else all cores."""
    return int(rc.source.get("blas_threads", 0) or 0) or available_cpus()


def fit(rc, threads: int | None = None, callbacks: list | None = None,
        stop_epoch: int | None = None, splits=None, signals_every: int = 0) -> Fitted:
    """Train run file ``rc``'s configuration on its data, BLAS pinned to ``threads`` (default:
    ``blas_threads(rc)``). ``stop_epoch``: stop after that epoch (the full configuration is
    trained, so a schedule over ``epochs`` is unchanged: how a pruned trial is reproduced).
    ``callbacks``: per-epoch callbacks for ``nnexp.core.train``, which samples the layer
    signals every ``signals_every`` epochs (0: none). Raises ``DivergenceError``."""
    from threadpoolctl import threadpool_limits

    from nnexp.core import train
    from nnexp.data import prepare

    splits = splits or prepare(rc.dataset)
    config = for_task(rc.train, splits.task)
    threads = threads or blas_threads(rc)
    callbacks = list(callbacks or [])
    if stop_epoch is not None:
        callbacks.append(lambda m: m.epoch >= stop_epoch)
    with threadpool_limits(limits=threads):
        result = train(splits.X_train, splits.y_train, config, splits.X_dev, splits.y_dev,
                       callbacks=callbacks, x_shift=splits.scaler.shift,
                       x_scale=splits.scaler.scale, signals_every=signals_every)
    return Fitted(rc, splits, config, result, final_metrics(result, splits), threads)


def resolve_config(reference: str | Path, tracking_uri: str | None, directory: Path) -> Path:
    """A local run file for ``reference``: an existing file, or the ``config.yaml`` artifact
    of a run (a run id or ``runs:/<run_id>``), downloaded into ``directory``."""
    from nnexp.errors import NnexpError
    from nnexp.stores.recorded import (
        CONFIG_FILE,
        download,
        get_run,
        open_store,
        run_id_of,
    )
    from nnexp.stores.tracking_store import resolve_tracking_uri

    path = Path(reference)
    if path.is_file():
        return path
    run_id = run_id_of(str(reference))
    if run_id is None:
        raise NnexpError(
            f"{str(reference)!r} is neither an existing run file nor an MLflow run id: give the "
            "path of a run file (e.g. a trial's config.yaml), a run id (32 hex digits) or "
            "runs:/<run_id>.")
    uri = resolve_tracking_uri(tracking_uri)
    client = open_store(uri)
    get_run(client, run_id, uri)
    return download(client, run_id, CONFIG_FILE, directory, "train-ready config.yaml")


def epoch_line(m, epochs: int) -> str:
    """One epoch as ``nnexp train`` shows it: ``epoch   3/30  cost 0.4120  dev accuracy 0.9100``."""
    return (f"epoch {m.epoch:4d}/{epochs}  cost {m.train_cost:.4f}  "
            f"dev {m.metric} {m.dev_metric:.4f}")


def train_run(config_path: str | Path, tracking_uri: str | None = None,
              output: Path | None = None, on_epoch=None, threads: int | None = None,
              stop_epoch: int | None = None, tags: dict | None = None) -> TrainRunResult:
    """Train the configuration in ``config_path`` (a run file, a run id or ``runs:/<run_id>``,
    whose ``config.yaml`` is downloaded) and record it in MLflow, as a study records a trial
    (``nnexp.training.recording``: curves, layer signals, outcome, config and model).

    ``output``: also write a model directory there (``save_model_dir``: model, feature names,
    a table's preparation, class labels), which ``nnexp predict`` reads. ``on_epoch(m,
    epochs)``: called after every epoch (the command prints ``epoch_line``). ``threads``,
    ``stop_epoch``: see ``fit``; ``tags``: more tags for the run. A diverged run is recorded as
    FAILED and raises ``nnexp.errors.NnexpError``. A failed artifact upload is tagged on the run
    (``nnexp.write_error``), reported as a warning, and the run still ends FINISHED.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="nnexp-config-") as tmp:
        local = resolve_config(config_path, tracking_uri, Path(tmp))
        from nnexp.config.run import load_run_config

        rc = load_run_config(local)
    return _train_run(rc, config_path, tracking_uri, output, on_epoch, threads, stop_epoch,
                      tags)


GROUP_ROLE = "retrained"
"""``nnexp.role`` of the run that groups the ``nnexp train`` runs of one study."""


def retrained_group(client, experiment_id: str, study: str | None, run_file_name: str,
                    reproduces: bool = False) -> tuple[str, str]:
    """Where an ``nnexp train`` run goes, so that the study's run list stays readable: (the
    id of the run it is nested under, its own name).

    The parent is one run per study and experiment, ``<study> retrained`` (``nnexp train``
    for a run file of no study), created FINISHED on first use beside the study's parent
    runs ``<study> #1``, ``#2``, ...; the name is ``<run file name> retrained #k`` (k: its
    retrainings so far, this one included; ``reproduced #k`` for ``nnexp reproduce --log``),
    never the name of the trial it retrains.
    """
    from nnexp import __version__

    group = f"{study} retrained" if study else "nnexp train"
    found = client.search_runs(
        [experiment_id], max_results=1, order_by=["attributes.start_time ASC"],
        filter_string=f"{tag_is('role', GROUP_ROLE)} and {tag_is('group', group)}")
    if found:
        parent = found[0].info.run_id
    else:
        parent = client.create_run(experiment_id, run_name=group, tags={
            TAG_PREFIX + "role": GROUP_ROLE, TAG_PREFIX + "group": group,
            TAG_PREFIX + "version": __version__,
            **({TAG_PREFIX + "source.study": study} if study else {})}).info.run_id
        client.set_terminated(parent, "FINISHED")
    before = client.search_runs(
        [experiment_id], max_results=1000,
        filter_string=f"{tag_is('role', 'train')} and {tag_is('retrains', run_file_name)}")
    verb = "reproduced" if reproduces else "retrained"
    return parent, f"{run_file_name} {verb} #{len(before) + 1}"


def _train_run(rc, config_path, tracking_uri, output, on_epoch, threads, stop_epoch, tags
               ) -> TrainRunResult:
    from nnexp.config.run import run_file, run_file_text
    from nnexp.core import DivergenceError
    from nnexp.data import prepare
    from nnexp.errors import NnexpError, first_line, warn
    from nnexp.serving.models import save_model_dir, stage_artifacts
    from nnexp.stores.tracking_store import connect, ensure_experiment, resolve_tracking_uri
    from nnexp.training.recording import Recording

    splits = prepare(rc.dataset)
    config = for_task(rc.train, splits.task)
    uri = resolve_tracking_uri(tracking_uri, rc.tracking.uri)
    client = connect(uri)
    experiment_id = ensure_experiment(client, rc.tracking.experiment_name or rc.name, uri)
    threads = threads or blas_threads(rc)
    source = str(config_path) if not Path(config_path).is_file() else \
        str(Path(config_path).resolve())
    tags = dict(tags or {})
    group, name = retrained_group(client, experiment_id, rc.source.get("study"),
                                  rc.name, TAG_PREFIX + "reproduces" in tags)
    run = RunLogger.start(client, experiment_id, name, {
        TAG_PREFIX + "role": "train", TAG_PREFIX + "retrains": rc.name,
        TAG_PREFIX + "seed": config.seed,
        TAG_PREFIX + "dataset": splits.name, TAG_PREFIX + "blas_threads": threads,
        TAG_PREFIX + "dataset_fingerprint": splits.fingerprint,
        TAG_PREFIX + "run_file": source,
        **{f"{TAG_PREFIX}source.{k}": v for k, v in rc.source.items()}, **tags},
        parent_run_id=group)
    run.params(config.to_dict())
    recording = Recording(run, config, rc.tracking)
    shown = (lambda m: on_epoch(m, config.epochs)) if on_epoch else None
    try:
        fitted = fit(rc, threads, recording.callbacks(recorded=None, before=shown), stop_epoch,
                     splits, recording.signals_every)
    except BaseException as err:
        state, reason, epoch = recording.outcome(err)
        recording.close(state, reason, epoch)
        if isinstance(err, DivergenceError):
            raise NnexpError(f"{config_path}: {err}. Lower train.learning_rate.") from None
        raise
    result, metrics = fitted.result, fitted.metrics
    log_final(run, metrics)
    run.tags({TAG_PREFIX + "stop_reason": result.stop_reason})
    content = run_file(rc.name, rc.dataset, config.to_dict(), rc.objective, rc.source,
                       {"experiment_name": rc.tracking.experiment_name or rc.name})
    try:
        run.artifact(stage_artifacts({"config.yaml": run_file_text(content)}, result.model,
                                     splits))
    except Exception as err:  # noqa: BLE001 - reported below; the run is still ended
        run.write_errors.append(f"artifacts: {first_line(err)}")
        run.tags({TAG_PREFIX + "artifact_error": first_line(err)})
    finally:
        recording.close(TrialState.COMPLETE)
    for message in run.write_errors:
        warn(f"run {run.run_id}: {message}")
    saved = save_model_dir(result.model, splits,
                           Path(output)) if output else None
    return TrainRunResult(run.run_id, uri, metrics, TrialState.COMPLETE, saved,
                          list(result.history), splits.fingerprint)
