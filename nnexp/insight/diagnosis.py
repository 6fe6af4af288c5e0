"""Bias and variance in the course's terms, for the best trials.

Errors: classification error = 1 - accuracy; regression error = rmse (the target's units).
With a target error (``target_error`` in the experiment file: human-level error or a Bayes
proxy; 0 when not given, so the bias figure is then relative to zero error)::

    avoidable bias = train error - target error
    variance       = dev error - train error

A gap is **high** when it is at least ``HIGH_GAP`` (classification: 0.05, five percentage
points of error) or, for regression, at least ``HIGH_GAP_REGRESSION`` (0.10) times the dev
target's standard deviation (estimated from the dev rmse and r2 as rmse / sqrt(1 - r2)), so
that a gap is judged against the spread of what is predicted. For classification the variance
threshold is raised to two standard errors of the dev error, 2 sqrt(e (1 - e) / n_dev), when
the dev set is small enough for that to be larger: a gap that the dev set's sampling noise
could produce is not called high. The verdict: high bias, high
variance, both, or fine; the larger gap is the one to work on first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nnexp.insight.evidence import StudyEvidence, Trial

HIGH_GAP = 0.05
HIGH_GAP_REGRESSION = 0.10

BIAS_MOVES = ("a bigger network (more hidden units or layers)", "train longer (more epochs)",
              "a better optimiser (Adam, a tuned learning rate) or another architecture")
VARIANCE_MOVES = ("more data", "regularisation (L2 or dropout)",
                  "a smaller network (fewer units or layers)")


@dataclass
class Diagnosis:
    """One trial's errors and verdict: ``verdict`` is 'high bias', 'high variance', 'high bias
    and high variance', 'fine', or 'unknown' (no final train metric recorded)."""

    trial: int
    train_error: float | None
    dev_error: float | None
    target: float
    target_given: bool
    threshold: float  # for avoidable bias
    variance_threshold: float
    unit: str  # "error (1 - accuracy)" or "rmse"
    verdict: str

    @property
    def avoidable_bias(self) -> float | None:
        return None if self.train_error is None else self.train_error - self.target

    @property
    def variance(self) -> float | None:
        if self.train_error is None or self.dev_error is None:
            return None
        return self.dev_error - self.train_error

    @property
    def high_bias(self) -> bool:
        return self.avoidable_bias is not None and self.avoidable_bias >= self.threshold

    @property
    def high_variance(self) -> bool:
        return self.variance is not None and self.variance >= self.variance_threshold

    def moves(self) -> list[str]:
        """The next moves in the course's words, the larger problem first."""
        bias, variance = self.avoidable_bias or 0.0, self.variance or 0.0
        out = []
        if self.high_bias:
            out.append(("bias", list(BIAS_MOVES)))
        if self.high_variance:
            out.append(("variance", list(VARIANCE_MOVES)))
        out.sort(key=lambda x: -(bias if x[0] == "bias" else variance))
        return [m for _, ms in out for m in ms]

    def evidence(self) -> str:
        """'train error 0.412, dev error 0.425, target 0 (none given): avoidable bias 0.412,
        variance 0.013; high means >= 0.05'."""
        if self.train_error is None:
            return "no final train metric recorded for this trial"
        target = f"target {self.target:.3g}" + ("" if self.target_given
                                                else " (none given: relative to zero error)")
        return (f"train {self.unit} {self.train_error:.3g}, dev {self.unit} "
                f"{self.dev_error:.3g}, {target}: avoidable bias {self.avoidable_bias:.3g}, "
                f"variance {self.variance:.3g}; high means >= {self.threshold:.3g}"
                + (f" (variance: >= {self.variance_threshold:.3g}, two standard errors of "
                   "the dev error)" if self.variance_threshold > self.threshold else ""))


def errors(trial: Trial, classification: bool) -> tuple[float | None, float | None]:
    """(train error, dev error) from the run's final metrics; None where not recorded."""
    m = trial.metrics
    if classification:
        train, dev = m.get("final_train_accuracy"), m.get("final_dev_accuracy")
        return (None if train is None else 1 - train), (None if dev is None else 1 - dev)
    return m.get("final_train_rmse"), m.get("final_dev_rmse")


def threshold_for(trial: Trial, classification: bool) -> float:
    """The size of a gap that counts as high (see the module's docstring)."""
    if classification:
        return HIGH_GAP
    rmse, r2 = trial.metrics.get("final_dev_rmse"), trial.metrics.get("final_dev_r2")
    if rmse is None or r2 is None or not math.isfinite(r2) or r2 >= 1:
        return HIGH_GAP_REGRESSION * (rmse or 1.0)
    return HIGH_GAP_REGRESSION * rmse / math.sqrt(max(1 - r2, 1e-12))


def diagnose_trial(trial: Trial, ev: StudyEvidence) -> Diagnosis:
    train, dev = errors(trial, ev.is_classification)
    target = ev.target_error if ev.target_error is not None else 0.0
    threshold = threshold_for(trial, ev.is_classification)
    variance_threshold = threshold
    if ev.is_classification and dev is not None and ev.n_dev:
        variance_threshold = max(threshold, 2 * math.sqrt(dev * (1 - dev) / ev.n_dev))
    d = Diagnosis(trial.number, train, dev, target, ev.target_error is not None,
                  threshold, variance_threshold,
                  "error" if ev.is_classification else "rmse", "unknown")
    if train is not None and dev is not None:
        d.verdict = {(True, True): "high bias and high variance", (True, False): "high bias",
                     (False, True): "high variance", (False, False): "fine"}[
            (d.high_bias, d.high_variance)]
    return d


def diagnose(ev: StudyEvidence, top: int = 3) -> list[Diagnosis]:
    """The diagnosis of the ``top`` best trials, best first."""
    return [diagnose_trial(t, ev) for t in ev.trials[:top]]
