"""One trial: sample a configuration, train it with the core, record everything in MLflow.

The objective reports the per-epoch dev metric to Optuna for pruning and logs the epoch's
metrics to the trial's MLflow run. Outcomes are typed and recorded on both sides (Optuna user
attribute ``state`` and MLflow tag ``nnexp.state``): complete, pruned (with the epoch),
diverged (NaN/inf cost, with the epoch), failed (with the exception message) and interrupted
(Ctrl-C, SIGTERM, the invocation's main process gone). Each trial records its worker
(``host:pid:start``, ``nnexp.recovery.workers``) and its invocation (its random id, user
attribute ``invocation``, also the parent run's tag ``nnexp.invocation_key``), so a dead
worker's trial can be told apart and this invocation's trials counted. A retry of a trial
whose worker died (``study.retries``) tags its run ``nnexp.retry_of`` (the original trial
number) and ``nnexp.retry_of_run`` (its run). A store
that stops answering for longer than ``study.outage_seconds`` fails the trial and stops the
worker (``StoreOutage``). Diverged and failed trials are Optuna FAIL trials; the study goes
on. An objective that is NaN or infinite although training did not diverge (r2 on a constant
dev target) is a failed trial whose reason names the metric. Metrics are read through the one
registry, ``nnexp.config.metrics.METRICS``; outcomes are ``nnexp.tracking.states.TrialState``
values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nnexp.config.metrics import METRICS
from nnexp.config.run import run_file, run_file_text
from nnexp.core import EpochMetrics, TrainConfig, train
from nnexp.errors import first_line
from nnexp.execution.interrupt import Interrupt
from nnexp.library_internals import retry_of
from nnexp.recovery import workers
from nnexp.tracking.records import final_metrics, log_final
from nnexp.tracking.runs import TAG_PREFIX, RunLogger
from nnexp.tracking.states import TrialState
from nnexp.tracking.writer import Writer
from nnexp.training.recording import INTERRUPTED, RecordedFailure, Recording

if TYPE_CHECKING:
    from nnexp.config import Experiment
    from nnexp.data import Splits

TIE_BREAK = "dev_cost"
"""The trial user attribute that breaks ties between equal objective values: the final dev
cost (log loss for a classifier, mean squared error for a regressor), lower first; what a
person who took the course compares next (``nnexp.tracking.summary.best_trials``)."""


class UndefinedObjective(RecordedFailure):
    """Training finished, but an objective's value is NaN or infinite (not divergence)."""


@dataclass(frozen=True)
class StudyContext:
    """Everything a worker process needs to run trials (picklable)."""

    experiment: Experiment
    splits: Splits
    study_name: str
    storage_url: str | None
    tracking_uri: str
    mlflow_experiment_id: str | None  # None in a local worker: its main process knows it
    mlflow_experiment_name: str
    parent_run_id: str | None  # likewise
    sampler: str
    pruner: str
    pruner_options: dict[str, Any]
    study_seed: int | None
    blas_threads: int
    git_commit: str | None
    invocation: int = 1
    key: str = ""  # the invocation's random id (``nnexp.study.invocations``)
    outbox: str | None = None  # the invocation's outbox folder (``nnexp.tracking.outbox``)


def objective_value(metric: str, final: dict[str, float]) -> float:
    """The value of objective ``metric`` for a finished training run (its final metrics)."""
    return METRICS[metric].final_value(final)


def epoch_value(metric: str, m: EpochMetrics, dev_variance: float) -> float | None:
    """The per-epoch value of objective ``metric`` reported to the pruner (None: not per epoch)."""
    return METRICS[metric].epoch_value(m, dev_variance)


def undefined_reason(metric: str, value: float, dev_variance: float, task: str) -> str:
    """Why objective ``metric`` came out NaN or infinite after training that did not diverge."""
    why = "the dev target is constant (r2 undefined)" if metric == "dev_r2" and \
        task == "regression" and dev_variance == 0 else \
        "the metric is undefined for this data although training did not diverge"
    return f"objective {metric} is {value}: {why}"


def _add_to_front(front: list[list[float]], point: list[float], ranked: bool = False) -> bool:
    """Add ``point`` (objective values, every one maximised) to the Pareto ``front`` unless a
    point there is at least as good in every objective and not equal (then ``front`` is left
    as is and False returned). ``ranked``: one objective and its tie-break, compared in that
    order (kept unless one is >= it). Points it dominates leave the front."""
    for other in front:
        if ranked:
            if other >= point:
                return False
        elif all(o >= v for o, v in zip(other, point)) and other != point:
            return False
    if ranked:
        front[:] = [point]
        return True
    front[:] = [o for o in front if not all(v >= x for v, x in zip(point, o))] + [point]
    return True


class Objective:
    """Callable for ``study.optimize``: trains one trial and returns its objective value(s)."""

    def __init__(self, ctx: StudyContext, client, writer: Writer | None = None,
                 interrupt: Interrupt | None = None) -> None:
        self.ctx = ctx
        self.client = client
        self.writer = writer
        self.interrupt = interrupt
        self.worker = str(workers.current())
        self.metrics = [metric for metric, _ in ctx.experiment.objective]
        self.directions = [d for _, d in ctx.experiment.objective]
        y_dev = ctx.splits.y_dev
        self._front: list[list[float]] | None = None  # best values so far, maximised
        self._front_read = 0
        self.dev_variance = float(np.var(y_dev)) if ctx.splits.task == "regression" else 0.0

    def __call__(self, trial) -> float | tuple[float, ...]:
        import optuna

        ctx, exp = self.ctx, self.ctx.experiment
        if self.interrupt is not None and self.interrupt.requested:
            trial.set_user_attr("state", TrialState.INTERRUPTED)
            trial.set_user_attr("reason", self.interrupt.reason)
            raise KeyboardInterrupt
        trial.set_user_attr("worker", self.worker)
        trial.set_user_attr("invocation", ctx.key)
        params = exp.space.suggest(trial)
        try:
            config = exp.train_config(params, trial.number, ctx.study_seed)
        except ValueError as err:  # sampled values that do not make a valid network together
            trial.set_user_attr("state", TrialState.FAILED)
            trial.set_user_attr("reason", f"invalid configuration: {err}")
            raise
        trial.set_user_attr("seed", config.seed)
        trial.set_user_attr("config", config.to_dict())
        run = RunLogger.start(self.client, ctx.mlflow_experiment_id, f"trial-{trial.number}",
                              self._tags(trial, config), parent_run_id=ctx.parent_run_id,
                              writer=self.writer)
        run.params(config.to_dict())
        run.params({f"sampled.{k}": v for k, v in params.items()})
        recording = Recording(run, config, exp.tracking)
        state, reason, epoch = TrialState.COMPLETE, "", None
        try:
            result = train(ctx.splits.X_train, ctx.splits.y_train, config,
                           ctx.splits.X_dev, ctx.splits.y_dev,
                           callbacks=recording.callbacks(self._check, self._pruner(trial)),
                           x_shift=ctx.splits.scaler.shift, x_scale=ctx.splits.scaler.scale,
                           signals_every=recording.signals_every)
            final = final_metrics(result, ctx.splits)
            values = [objective_value(m, final) for m in self.metrics]
            for metric, value in zip(self.metrics, values):
                if not math.isfinite(value):
                    raise UndefinedObjective(undefined_reason(metric, value, self.dev_variance,
                                                              ctx.splits.task))
        except optuna.TrialPruned as err:
            state, reason, epoch = TrialState.PRUNED, str(err), recording.last_epoch
            if recording.trained_seconds is not None:  # its training time so far
                run.metrics({"train_seconds": recording.trained_seconds})
            try:  # a pruned trial is reproducible too (to its pruned epoch): its config.yaml
                self._artifacts(trial, run, config, None, None)
            except Exception as upload:  # noqa: BLE001 - the trial is still recorded as pruned
                run.tags({TAG_PREFIX + "artifact_error": first_line(upload)[:5000]})
            raise
        except BaseException as err:
            state, reason, epoch = recording.outcome(
                err, self.interrupt.reason if self.interrupt is not None else INTERRUPTED)
            raise
        finally:
            if state == TrialState.INTERRUPTED:
                try:  # a second Ctrl-C or a broken connection must not mask the interruption
                    self._close(trial, recording, state, reason, epoch)
                except Exception:  # noqa: BLE001 - the runner closes dangling runs at the end
                    pass
            elif state != TrialState.COMPLETE:
                self._close(trial, recording, state, reason, epoch)
        trial.set_user_attr(TIE_BREAK, final.get("final_dev_cost"))
        log_final(run, final)
        run.metrics({f"objective_{i}" if len(values) > 1 else "objective": v
                     for i, v in enumerate(values)})
        try:
            self._artifacts(trial, run, config, result, values)
        except Exception as err:  # noqa: BLE001 - the trial's value stands; the run still ends
            message = f"{type(err).__name__}: {first_line(err)}"
            trial.set_user_attr("artifact_error", message)
            run.tags({TAG_PREFIX + "artifact_error": message[:5000]})
        self._close(trial, recording, state, "", None)
        return values[0] if len(values) == 1 else tuple(values)

    def _check(self, m: EpochMetrics) -> None:
        """Every epoch: stop on an interruption or a lost tracking store."""
        if self.interrupt is not None:
            self.interrupt.check()
        if self.writer is not None:
            self.writer.check()

    def _pruner(self, trial):
        """On each recorded epoch: report the objective's epoch value and prune (one
        objective; Optuna cannot prune several)."""
        import optuna

        if len(self.metrics) != 1:
            return None

        def report(m: EpochMetrics) -> None:
            value = epoch_value(self.metrics[0], m, self.dev_variance)
            if value is None or not math.isfinite(value):
                return
            trial.report(value, step=m.epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at epoch {m.epoch}")

        return report

    def _tags(self, trial, config: TrainConfig) -> dict[str, Any]:
        ctx = self.ctx
        tags = {"study": ctx.study_name, "trial_number": trial.number,
                "state": TrialState.RUNNING,
                "sampler": ctx.sampler, "pruner": ctx.pruner, "seed": config.seed,
                "study_seed": ctx.study_seed, "dataset": ctx.splits.name,
                "dataset_fingerprint": ctx.splits.fingerprint, "blas_threads": ctx.blas_threads,
                "experiment_file": str(ctx.experiment.path)}
        if ctx.git_commit:
            tags["git_commit"] = ctx.git_commit
        tags["worker"] = self.worker
        original = retry_of(trial)
        if original is not None:  # a retry of a trial whose worker died
            tags["retry_of"] = original
            if self.client is not None:  # else the main process adds it (``relay``)
                from nnexp.tracking.summary import trial_run_id

                try:
                    run_id = trial_run_id(self.client, ctx.mlflow_experiment_id, trial.study,
                                          original)
                except Exception:  # noqa: BLE001 - only a link; the trial number is recorded
                    run_id = None
                if run_id:
                    tags["retry_of_run"] = run_id
        out = {TAG_PREFIX + k: v for k, v in tags.items()}
        out["mlflow.source.git.commit"] = ctx.git_commit or ""
        return out

    def _artifacts(self, trial, run: RunLogger, config: TrainConfig, result,
                   values: list[float] | None) -> None:
        """The train-ready config.yaml, and the model when it is kept, as one upload
        (``result`` None: a pruned trial, config.yaml only)."""
        from nnexp.serving.models import stage_artifacts

        ctx, exp = self.ctx, self.ctx.experiment
        content = run_file(f"{exp.name}-trial-{trial.number}", exp.dataset, config.to_dict(),
                           exp.objective, source={"experiment": str(exp.path),
                                                  "study": ctx.study_name,
                                                  "trial": trial.number,
                                                  "blas_threads": ctx.blas_threads},
                           tracking={"experiment_name": ctx.mlflow_experiment_name})
        keep = result is not None and self._keep_model(trial, values,
                                                       trial.user_attrs.get(TIE_BREAK))
        run.artifact(stage_artifacts({"config.yaml": run_file_text(content)},
                                     result.model if keep else None, ctx.splits))
        if keep:
            trial.set_user_attr("model_logged", True)

    REFRESH_TRIALS = 50
    """``_keep_model`` re-reads the study's completed trials every this many trials (other
    processes' trials); in between it compares with the best kept in memory."""

    def _keep_model(self, trial, values: list[float], tie: float | None) -> bool:
        """Whether the model of a trial that completed with ``values`` (and dev cost ``tie``)
        is a new best (one objective, ties broken by the lower dev cost) or on the Pareto
        front (several). The front is kept in memory: read from
        the study once, then every ``REFRESH_TRIALS`` trials, and updated with each trial this
        process completes, so the check does not read every trial each time. A front that
        misses another process's newest trials can only keep a model too many, never one
        too few."""
        mode = self.ctx.experiment.tracking.log_models
        if mode != "best":
            return mode == "all"
        signs = [1 if d == "maximize" else -1 for d in self.directions]
        ranked = len(signs) == 1  # one objective: ties go to the lower dev cost

        def point(values: list[float], tie: float | None) -> list[float]:
            return [s * v for s, v in zip(signs, values)] + \
                ([-(tie if tie is not None else math.inf)] if ranked else [])

        if self._front is None or trial.number - self._front_read >= self.REFRESH_TRIALS:
            import optuna

            done = trial.study.get_trials(deepcopy=False,
                                          states=(optuna.trial.TrialState.COMPLETE,))
            self._front, self._front_read = [], trial.number
            for t in done:
                if t.values is not None and len(t.values) == len(signs):
                    _add_to_front(self._front, point(t.values, t.user_attrs.get(TIE_BREAK)),
                                  ranked)
        return _add_to_front(self._front, point(values, tie), ranked)

    def _close(self, trial, recording: Recording, state: TrialState, reason: str,
               epoch: int | None) -> None:
        """Record the outcome: the MLflow run first, then the Optuna trial (a storage that is
        down raises there; the run is closed all the same)."""
        write_errors = list(recording.run.write_errors)
        try:
            recording.close(state, reason, epoch)
        except Exception as err:  # the record cannot be kept (a full disk): said in Optuna
            trial.set_user_attr("state", TrialState.FAILED)
            trial.set_user_attr("reason", first_line(err)[:5000])
            raise
        settle = getattr(self.writer, "settle", None)
        if settle is not None:  # a Dask task's own writer: the record is in MLflow first
            settle()
        trial.set_user_attr("state", state)
        if reason:
            trial.set_user_attr("reason", reason)
        if epoch is not None:
            trial.set_user_attr("epoch", epoch)
        if write_errors:  # writes of this trial that failed so far (later ones: run tag)
            trial.set_user_attr("write_error", write_errors[0])
