"""What a worker runs: the study's trials in this process, until its share is done or its
time is up. Local worker processes (``nnexp.execution.pool``) and Dask tasks
(``nnexp.execution.dask_workers``) are handed ``run_worker``; that package imports nothing of
the study's. A local worker relays its MLflow writes to the main process
(``nnexp.tracking.relay``) and never imports MLflow; a Dask task writes them itself.
"""

from __future__ import annotations

from contextlib import nullcontext

from nnexp.execution.interrupt import Interrupt
from nnexp.library_internals import cached_storage, storage_of
from nnexp.outage import retrying_storage
from nnexp.recovery import doctor
from nnexp.stores.study_storage import (
    default_storage_url,
    open_storage,
    storage_failure,
    use_heartbeat,
)
from nnexp.study.objective import Objective, StudyContext
from nnexp.tracking.writer import writing

PRELOAD = (__name__, "optuna", "threadpoolctl", "nnexp.study.samplers", "nnexp.serving.models")
"""What a local worker imports before its first trial ends (this module, Optuna, TPE, the
model files): the worker server imports them once (``nnexp.execution.pool.start_server``)."""


def sampler_seed(study_seed: int | None, invocation: int, index: int) -> int | None:
    """The sampler seed of worker ``index`` of invocation ``invocation`` (numbered from 1):
    ``study_seed + index`` for the first invocation, shifted by 1000 per later one, so
    invocations running at once (several machines, one study) never sample alike, and the
    same sequence of invocations samples the same again."""
    if study_seed is None:
        return None
    return (study_seed + 1000 * (invocation - 1) + index) % 2**32


def study_storage(url: str | None, settings):
    """The Optuna storage of ``url`` for running trials: on RDB storage with heartbeats every
    ``settings.heartbeat_seconds`` (stale after three missed) and ``settings.retries`` retries
    of a stale trial (Optuna's ``RetryHeartbeatStaleTrialCallback``); every call retried
    through an outage of up to ``settings.outage_seconds`` (``nnexp.outage``)."""
    import optuna

    storage = open_storage(url)
    if isinstance(storage, optuna.storages.RDBStorage):
        use_heartbeat(storage, settings.heartbeat_seconds, settings.retries)
        storage = cached_storage(storage)
    return retrying_storage(storage, url or default_storage_url(), settings.outage_seconds)


def run_worker(ctx: StudyContext, n_trials: int | None, timeout: float | None, index: int,
               callbacks: list | None = None, main_gone=None,
               relay=None) -> None:
    """Run trials of the study in this process until ``n_trials`` are done or time is up.
    ``main_gone()``: True once the main process of a worker process is gone (the worker
    stops at its next safe point).
    ``relay``: a ``nnexp.tracking.relay.Relay`` to the main process, which performs this
    worker's MLflow writes (a local worker: it never imports MLflow); None: written from here
    (a Dask task)."""
    import optuna
    from threadpoolctl import threadpool_limits

    from nnexp.study.samplers import make_pruner, make_sampler

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    client = None
    if relay is None:
        from nnexp.stores.tracking_store import quiet_mlflow, use_tracking_uri

        quiet_mlflow()
        use_tracking_uri(ctx.tracking_uri)
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=ctx.tracking_uri)
    exp = ctx.experiment
    seed = sampler_seed(ctx.study_seed, ctx.invocation, index)
    study = optuna.load_study(
        study_name=ctx.study_name, storage=study_storage(ctx.storage_url, exp.study),
        sampler=make_sampler(ctx.sampler, exp.study.sampler_options, seed, exp.space),
        pruner=make_pruner(ctx.pruner, ctx.pruner_options))
    if n_trials == 0:
        return

    def orphans(s, t=None) -> None:  # trials whose worker died meanwhile (stale heartbeats)
        if doctor.examine_trials(s, fix=True) and client is not None:
            doctor.examine_runs(s, client, [ctx.mlflow_experiment_id], fix=True)

    sink = nullcontext(relay) if relay is not None else \
        writing(outage_seconds=exp.study.outage_seconds, uri=ctx.tracking_uri)
    with sink as writer, threadpool_limits(limits=ctx.blas_threads), \
            Interrupt(main_gone=main_gone) as interrupt:  # an interruption wins
        rdb = bool(ctx.storage_url) and not ctx.storage_url.startswith("journal:")
        try:
            if rdb:
                orphans(study)
            study.optimize(Objective(ctx, client, writer, interrupt), n_trials=n_trials,
                           timeout=timeout, catch=(Exception,), gc_after_trial=False,
                           callbacks=[*(callbacks or []), lambda s, t: interrupt.check(),
                                      lambda s, t: writer.check(), *([orphans] if rdb else [])])
        except Exception as err:
            lost = storage_of(study).failed  # Optuna's own clean-up can fail on a lost store
            if lost is not None and err is not lost:
                raise lost from None
            failure = storage_failure(err)  # a failed journal append, which Optuna may hide
            if failure is not None:
                raise failure from None
            raise
