"""A pruner that reads the study's completed trials once per trial, not once per epoch.

Optuna's median (percentile) pruner compares a trial's intermediate value with those of every
completed trial at each report: ``study.get_trials(states=(COMPLETE,))`` each time, which on
the journal storage builds the list anew, so a 30-epoch trial of a 1000-trial study reads
30000 trials. ``cached(pruner)`` wraps a percentile or median pruner so that the list is read
at the first report of each trial and reused for its later reports; completed trials do not
change, so the only difference is that trials another process completes meanwhile count from
the next trial on. Other pruners are returned as they are.
"""

from __future__ import annotations

from typing import Any


def cached(pruner):
    """``pruner`` with its completed trials read once per trial (see the module docstring)."""
    import optuna
    from optuna.trial import TrialState

    if not isinstance(pruner, optuna.pruners.PercentilePruner):
        return pruner
    complete = (TrialState.COMPLETE,)

    class _View:
        """The study as the pruner sees it: completed trials from the cache."""

        def __init__(self, study, trials: list) -> None:
            self._study, self._trials = study, trials

        def get_trials(self, deepcopy: bool = True, states=None) -> list:
            if not deepcopy and states is not None and tuple(states) == complete:
                return self._trials
            return self._study.get_trials(deepcopy=deepcopy, states=states)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._study, name)

    class CachedPruner(optuna.pruners.BasePruner):
        def __init__(self) -> None:
            self.inner = pruner
            self._trial: tuple[int, int] | None = None  # (id of the study, trial number)
            self._view: _View | None = None

        def prune(self, study, trial) -> bool:
            key = (id(study), trial.number)
            if key != self._trial or self._view is None:
                self._trial = key
                self._view = _View(study, study.get_trials(deepcopy=False, states=complete))
            return self.inner.prune(self._view, trial)

    return CachedPruner()
