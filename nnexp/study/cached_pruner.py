"""Median and percentile pruning as nnexp runs them: completed trials read once per trial, not
once per epoch, and compared best with best.

Optuna's median (percentile) pruner compares a trial's intermediate value with those of every
completed trial at each report: ``study.get_trials(states=(COMPLETE,))`` each time, which on
the journal storage builds the list anew, so a 30-epoch trial of a 1000-trial study reads
30000 trials. ``cached(pruner)`` wraps a percentile or median pruner so that the list is read
at the first report of each trial and reused for its later reports; completed trials do not
change, so the only difference is that trials another process completes meanwhile count from
the next trial on. Other pruners are returned as they are.

With ``compare`` ``best_so_far`` (nnexp's default, ``nnexp.config.study.COMPARE``) the pruner
sees each completed trial with its best value up to each step instead of its value at that
step, so the trial judged (whose best value so far Optuna takes) is set against the others'
best values so far, not against single noisy epochs. The completed trials' running bests are
computed once per trial and kept, so a long study does not recompute them.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np


def best_so_far(trial, maximize: bool):
    """A copy of finished ``trial`` whose intermediate value at each step is its best value up
    to that step (NaN values ignored, as Optuna's pruners do)."""
    steps = sorted(trial.intermediate_values)
    values = np.array([trial.intermediate_values[s] for s in steps], dtype=float)
    running = (np.fmax if maximize else np.fmin).accumulate(values)
    best = copy.copy(trial)
    best.intermediate_values = dict(zip(steps, running.tolist()))
    return best


def cached(pruner, compare: str = "at_step"):
    """``pruner`` with its completed trials read once per trial and, with ``compare``
    ``best_so_far``, shown as their best values so far (see the module docstring)."""
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
            self.compare = compare
            self._trial: tuple[int, int] | None = None  # (id of the study, trial number)
            self._view: _View | None = None
            self._best: dict[tuple[int, int], Any] = {}  # (id of the study, trial number): copy

        def prune(self, study, trial) -> bool:
            key = (id(study), trial.number)
            if key != self._trial or self._view is None:
                self._trial = key
                self._view = _View(study, self._completed(study))
            return self.inner.prune(self._view, trial)

        def _completed(self, study) -> list:
            trials = study.get_trials(deepcopy=False, states=complete)
            if self.compare != "best_so_far":
                return trials
            maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
            for t in trials:
                if (id(study), t.number) not in self._best:
                    self._best[id(study), t.number] = best_so_far(t, maximize)
            return [self._best[id(study), t.number] for t in trials]

    return CachedPruner()
