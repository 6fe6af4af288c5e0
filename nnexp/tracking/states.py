"""How a trial ended, in nnexp's words, and the MLflow run status each outcome maps to.

The values are the strings recorded everywhere (Optuna user attribute ``state``, MLflow tag
``nnexp.state``, the trials table): ``TrialState`` is a ``str`` enum, so it serialises as they
are and compares equal to them (``TrialState.PRUNED == "pruned"``).
"""

from __future__ import annotations

from enum import Enum


class TrialState(str, Enum):
    """A trial's outcome. ``RUNNING`` is the tag of a run still training, not an outcome.
    (``str`` + ``Enum`` rather than ``StrEnum``, which needs Python 3.11.)"""

    COMPLETE = "complete"
    PRUNED = "pruned"
    FAILED = "failed"
    DIVERGED = "diverged"
    INTERRUPTED = "interrupted"
    RUNNING = "running"

    def __str__(self) -> str:
        return self.value

    @property
    def status(self) -> str:
        """The MLflow run status of this outcome."""
        return STATUS[self]



FAILED_STATES = frozenset({"failed", "diverged", "fail"})
"""The one failed-state rule: failed or diverged (the trial ran and produced no usable value),
or Optuna's own FAIL (``fail``) for a trial nnexp did not end itself."""


def is_failed(state: str) -> bool:
    """Whether a trial's state (``TrialState`` or its string) counts as failed."""
    return str(state) in FAILED_STATES


STATUS: dict[TrialState, str] = {
    TrialState.COMPLETE: "FINISHED",
    TrialState.PRUNED: "FINISHED",  # a normal outcome: the UI draws KILLED as a failure
    TrialState.DIVERGED: "FAILED",
    TrialState.FAILED: "FAILED",
    TrialState.INTERRUPTED: "KILLED",
    TrialState.RUNNING: "RUNNING",
}
