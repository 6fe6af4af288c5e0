"""``nnexp reproduce``'s use case: retrain a recorded trial from its stored ``config.yaml`` and
seed, with BLAS pinned to the trial's recorded thread count, and compare the metrics exactly.

A complete trial is compared on its final metrics (``final_*``, ``test_*``, ``epochs_run``,
``n_params``, ...), the objective and the last epoch's per-epoch metrics, as recorded on its
run. A pruned trial was stopped by the pruner at epoch ``nnexp.pruned_epoch``: the full
configuration is retrained (so a schedule over ``epochs`` is unchanged) and stopped after that
epoch, and the per-epoch metrics recorded at that step are compared. Timings
(``train_seconds``, ``3_epoch/seconds``) are never compared. Nothing is written to MLflow unless
``log`` is asked for (then the retraining is one more run, tagged ``nnexp.reproduces``).
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from nnexp.errors import NnexpError
from nnexp.tracking.records import EPOCH_SECONDS
from nnexp.tracking.runs import TAG_PREFIX
from nnexp.tracking.states import TrialState

TIMING = ("train_seconds", EPOCH_SECONDS)


@dataclass
class Reproduction:
    """The outcome: ``differences`` holds (metric, recorded, reproduced) for each metric that
    differs; ``compared`` every metric compared."""

    run_id: str
    study: str
    trial: int
    state: str
    threads: int
    stop_epoch: int | None
    compared: list[str] = field(default_factory=list)
    differences: list[tuple[str, float, float | None]] = field(default_factory=list)
    fingerprint_changed: bool = False
    logged_run_id: str | None = None

    @property
    def exact(self) -> bool:
        return not self.differences and bool(self.compared)


def find_run(client, uri: str, target: tuple[str, ...]):
    """The trial run that ``target`` names: (RUN_ID or runs:/RUN_ID,) or (STUDY, TRIAL)."""
    from nnexp.stores.recorded import find_trial, run_id_of, trial_run

    if len(target) == 1:
        run_id = run_id_of(target[0])
        if run_id is None:
            raise NnexpError(f"{target[0]!r} is not an MLflow run id (32 hex digits) or "
                             "runs:/<run_id>; give a trial's run id, or STUDY TRIAL.")
        return trial_run(client, run_id, uri)
    study, trial = target
    if not str(trial).isdigit():
        raise NnexpError(f"trial number {trial!r} is not a whole number; give STUDY TRIAL, "
                         "e.g. nnexp reproduce quickstart 3.")
    return find_trial(client, study, int(trial), uri)


def reproduce(target: tuple[str, ...], tracking_uri: str | None = None,
              config_file: str | Path | None = None, log: bool = False) -> Reproduction:
    """Retrain the trial ``target`` names (see ``find_run``) and compare; ``config_file``: a
    run file to train instead of the trial's own ``config.yaml`` (its recorded metrics, seed
    and threads still come from the trial)."""
    from nnexp.config.run import load_run_config
    from nnexp.stores.recorded import CONFIG_FILE, download, open_store
    from nnexp.stores.tracking_store import resolve_tracking_uri

    uri = resolve_tracking_uri(tracking_uri)
    client = open_store(uri)
    run = find_run(client, uri, target)
    tags, run_id = run.data.tags, run.info.run_id
    state = tags.get(TAG_PREFIX + "state", "")
    if state not in (TrialState.COMPLETE, TrialState.PRUNED):
        raise NnexpError(
            f"trial {tags[TAG_PREFIX + 'trial_number']} of study {tags[TAG_PREFIX + 'study']!r} "
            f"(run {run_id}) is {state or 'of no recorded state'}; only complete and pruned "
            "trials have metrics to reproduce. Pick a complete or pruned trial.")
    stop_epoch = int(tags[TAG_PREFIX + "pruned_epoch"]) if state == TrialState.PRUNED else None
    threads = int(tags.get(TAG_PREFIX + "blas_threads", 0) or 0) or None
    with tempfile.TemporaryDirectory(prefix="nnexp-reproduce-") as tmp:
        path = Path(config_file) if config_file else \
            download(client, run_id, CONFIG_FILE, Path(tmp), "train-ready config.yaml")
        if config_file and not path.is_file():
            raise NnexpError(f"--config {str(path)!r} does not exist; give the path of a run "
                             "file (e.g. a trial's config.yaml).")
        rc = load_run_config(path)
        out = Reproduction(run_id, tags[TAG_PREFIX + "study"],
                           int(tags[TAG_PREFIX + "trial_number"]), state, threads or 0,
                           stop_epoch)
        if log:
            from nnexp.training.train import train_run

            done = train_run(path, uri, threads=threads, stop_epoch=stop_epoch,
                             tags={TAG_PREFIX + "reproduces": run_id})
            metrics, history, fingerprint = done.metrics, done.history, done.fingerprint
            out.logged_run_id = done.run_id
        else:
            from nnexp.training.train import fit

            fitted = fit(rc, threads, stop_epoch=stop_epoch)
            metrics, history = fitted.metrics, fitted.result.history
            fingerprint = fitted.splits.fingerprint
            out.threads = fitted.threads
    out.fingerprint_changed = fingerprint != tags.get(TAG_PREFIX + "dataset_fingerprint")
    recorded, reproduced = _pairs(client, run, rc, metrics, history, stop_epoch)
    out.compared = sorted(recorded)
    for key in out.compared:
        mine = reproduced.get(key)
        if mine is None or not _same(recorded[key], mine):
            out.differences.append((key, recorded[key], mine))
    return out


def _pairs(client, run, rc, metrics: dict, history: list, stop_epoch: int | None
           ) -> tuple[dict[str, float], dict[str, float]]:
    """(recorded, reproduced) values by metric key, the ones to compare."""
    from nnexp.config.metrics import METRICS
    from nnexp.tracking.records import epoch_record

    if stop_epoch is not None:  # pruned: the per-epoch metrics recorded at the pruned epoch
        mine = epoch_record(history[stop_epoch - 1]) if len(history) >= stop_epoch else {}
        keys = [k for k in epoch_record(history[-1]) if k not in TIMING] if history else []
        recorded = {}
        for key in keys:
            at = [m.value for m in client.get_metric_history(run.info.run_id, key)
                  if m.step == stop_epoch]
            if at:
                recorded[key] = at[-1]
        return recorded, mine
    mine = dict(metrics)
    if history:
        mine.update(epoch_record(history[-1]))
    names = [m for m, _ in rc.objective]
    for i, metric in enumerate(names):
        mine["objective" if len(names) == 1 else f"objective_{i}"] = \
            METRICS[metric].final_value(metrics)
    recorded = {k: v for k, v in run.data.metrics.items() if k in mine and k not in TIMING}
    return recorded, mine


def _same(a: float, b: float) -> bool:
    """Bit-for-bit equal as stored (doubles), NaN equal to NaN."""
    a, b = float(a), float(b)
    return a == b or (math.isnan(a) and math.isnan(b))
