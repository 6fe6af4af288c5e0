"""``nnexp train``'s use case: train one run file's configuration as a single MLflow run,
logged exactly like a study's trial (per-epoch curves, final metrics, config and model
artifacts). It lives beside the study runner because, like it, it ties config, data, the
core and tracking together; ``nnexp.tracking`` itself knows only MLflow."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from nnexp.config import for_task
from nnexp.tracking.records import epoch_record, final_metrics, log_final
from nnexp.tracking.runs import TAG_PREFIX, RunLogger
from nnexp.tracking.states import TrialState


@dataclass
class TrainRunResult:
    run_id: str
    tracking_uri: str
    metrics: dict[str, float]
    state: str
    model_path: Path | None


def train_run(config_path: str | Path, tracking_uri: str | None = None,
              output: Path | None = None, quiet: bool = False) -> TrainRunResult:
    """Train the configuration in ``config_path`` (a run file) and record it in MLflow.

    ``output``: also save the model (``.npz`` + ``.json``) there. A diverged run is recorded
    as FAILED and raises ``nnexp.errors.NnexpError``. A failed artifact upload is tagged on
    the run (``nnexp.write_error``), reported as a warning, and the run still ends FINISHED.
    """
    from threadpoolctl import threadpool_limits

    from nnexp.config.run import load_run_config, run_file, run_file_text
    from nnexp.core import DivergenceError, train
    from nnexp.data import prepare
    from nnexp.errors import NnexpError, first_line, warn
    from nnexp.tracking.models import stage_artifacts
    from nnexp.tracking.store import connect, ensure_experiment, resolve_tracking_uri

    rc = load_run_config(config_path)
    splits = prepare(rc.dataset)
    config = for_task(rc.train, splits.task)
    uri = resolve_tracking_uri(tracking_uri, rc.tracking.uri)
    client = connect(uri)
    experiment_id = ensure_experiment(client, rc.tracking.experiment_name or rc.name, uri)
    threads = int(rc.source.get("blas_threads", 0)) or (os.cpu_count() or 1)
    run = RunLogger.start(client, experiment_id, rc.name, {
        TAG_PREFIX + "role": "train", TAG_PREFIX + "seed": config.seed,
        TAG_PREFIX + "dataset": splits.name, TAG_PREFIX + "blas_threads": threads,
        TAG_PREFIX + "dataset_fingerprint": splits.fingerprint,
        TAG_PREFIX + "run_file": str(Path(config_path).resolve()),
        **{f"{TAG_PREFIX}source.{k}": v for k, v in rc.source.items()}})
    run.params(config.to_dict())

    def on_epoch(m) -> None:
        run.metrics(epoch_record(m), step=m.epoch)
        if not quiet:
            print(f"epoch {m.epoch:4d}/{config.epochs}  cost {m.train_cost:.4f}  "
                  f"dev {m.metric} {m.dev_metric:.4f}", flush=True)

    try:
        with threadpool_limits(limits=threads):
            result = train(splits.X_train, splits.y_train, config, splits.X_dev, splits.y_dev,
                           callbacks=[on_epoch], x_shift=splits.scaler.shift,
                           x_scale=splits.scaler.scale)
    except DivergenceError as err:
        run.tags({TAG_PREFIX + "state": TrialState.DIVERGED, TAG_PREFIX + "reason": str(err)})
        run.end(TrialState.DIVERGED.status)
        raise NnexpError(f"{config_path}: {err}. Lower train.learning_rate.") from None
    except BaseException as err:
        state = TrialState.INTERRUPTED if isinstance(err, KeyboardInterrupt) else \
            TrialState.FAILED
        run.tags({TAG_PREFIX + "state": state, TAG_PREFIX + "reason": repr(err)})
        run.end(state.status)
        raise
    metrics = final_metrics(result, splits)
    log_final(run, metrics)
    run.tags({TAG_PREFIX + "state": TrialState.COMPLETE,
              TAG_PREFIX + "stop_reason": result.stop_reason})
    content = run_file(rc.name, rc.dataset, config.to_dict(), rc.objective, rc.source,
                       {"experiment_name": rc.tracking.experiment_name or rc.name})
    try:
        run.artifact(stage_artifacts({"config.yaml": run_file_text(content)}, result.model,
                                     splits))
    except Exception as err:  # noqa: BLE001 - reported below; the run is still ended
        run.write_errors.append(f"artifacts: {first_line(err)}")
        run.tags({TAG_PREFIX + "artifact_error": first_line(err)})
    finally:
        run.end(TrialState.COMPLETE.status)
    for message in run.write_errors:
        warn(f"run {run.run_id}: {message}")
    saved = result.model.save(output) if output else None
    return TrainRunResult(run.run_id, uri, metrics, TrialState.COMPLETE, saved)
