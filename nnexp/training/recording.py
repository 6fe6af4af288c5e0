"""One training recorded as an MLflow run: the one path that every trial of a study
(``nnexp.study.objective``) and every ``nnexp train`` take, so both record the same things
the same way.

A ``Recording`` wraps the run's ``RunLogger``: ``callbacks`` log the per-layer signals at
their sampled epochs and the epoch's learning curves every k-th epoch (``log_every``; the
first and last always), ``outcome`` turns whatever stopped the training into its
``TrialState`` and reason (the same reasons everywhere), ``close`` tags the outcome and the
signal diagnosis and ends the run with the state's MLflow status.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from nnexp.core import DivergenceError, EpochMetrics
from nnexp.core.schedules import changes
from nnexp.tracking.records import epoch_record
from nnexp.tracking.runs import TAG_PREFIX, RunLogger
from nnexp.tracking.signals import TrialSignals
from nnexp.tracking.states import TrialState

CURVE_POINTS = 200
INTERRUPTED = "interrupted by the user (Ctrl-C)"


class RecordedFailure(ValueError):
    """A failure whose message is the whole reason (no exception type in front of it)."""


def log_every(configured: int | None, epochs: int) -> int:
    """Record (and report for pruning) every k-th epoch: ``configured``, or a k that gives
    about ``CURVE_POINTS`` points, so a 15000-epoch full-batch trial is not dominated by
    logging. The first and last epochs are always recorded."""
    return configured or max(1, math.ceil(epochs / CURVE_POINTS))


class Recording:
    """The MLflow side of one training of ``config`` (a ``TrainConfig``) into ``run``, with
    the experiment's ``tracking`` settings (``log_every``, ``signals``, ``signals_every``).
    The learning rate is a curve only when the schedule changes it (else it is the
    ``learning_rate`` parameter alone)."""

    def __init__(self, run: RunLogger, config, tracking) -> None:
        self.run = run
        self.epochs = epochs = config.epochs
        self.learning_rates = changes(config)
        self.signals = TrialSignals(tracking.signals, tracking.signals_every, epochs)
        self.every = log_every(tracking.log_every, epochs)
        self.last_epoch = 0  # the last epoch recorded
        self.trained_seconds: float | None = None  # the core's clock at the last epoch

    @property
    def signals_every(self) -> int:
        """For ``nnexp.core.train(signals_every=...)`` (0: no signals)."""
        return self.signals.every

    def callbacks(self, before: Callable[[EpochMetrics], None] | None = None,
                  recorded: Callable[[EpochMetrics], None] | None = None) -> list:
        """The per-epoch callbacks for ``nnexp.core.train``: the layer signals, then
        ``before(m)`` on every epoch (checks that stop the training), the learning curves on
        the recorded epochs and ``recorded(m)`` after them (a pruner's report)."""

        def on_epoch(m: EpochMetrics) -> None:
            if before is not None:
                before(m)
            self.trained_seconds = m.elapsed_seconds
            if m.epoch % self.every and m.epoch not in (1, self.epochs):
                return
            self.run.metrics(epoch_record(m, self.learning_rates), step=m.epoch)
            self.last_epoch = m.epoch
            if recorded is not None:
                recorded(m)

        return [self.signals.callback(self.run), on_epoch]

    def outcome(self, err: BaseException, interrupted: str = INTERRUPTED
                ) -> tuple[TrialState, str, int | None]:
        """The state, reason and epoch of a training stopped by ``err``: diverged (its
        epoch), interrupted (``interrupted`` says by what), failed (``RecordedFailure``: its
        message; anything else: ``Type: message``)."""
        if isinstance(err, DivergenceError):
            self.signals.diverged(err)
            return TrialState.DIVERGED, str(err), err.epoch
        if isinstance(err, KeyboardInterrupt):
            return TrialState.INTERRUPTED, interrupted, None
        if isinstance(err, RecordedFailure):
            return TrialState.FAILED, str(err), None
        return TrialState.FAILED, f"{type(err).__name__}: {err}", None

    def close(self, state: TrialState, reason: str = "", epoch: int | None = None) -> None:
        """Tag the outcome (``nnexp.state``, ``nnexp.reason``, ``nnexp.<state>_epoch``) and
        the signal diagnosis, and end the run with the state's status."""
        tags = {TAG_PREFIX + "state": state}
        if reason:
            tags[TAG_PREFIX + "reason"] = reason[:5000]
        if epoch is not None:
            tags[TAG_PREFIX + f"{state}_epoch"] = epoch
        tags.update(self.signals.tags())
        self.run.tags(tags)
        self.run.end(state.status)
