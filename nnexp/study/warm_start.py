"""The next study starts from what the last one learnt: an earlier study's finished trials
that lie inside the new search space enter the new study as finished trials (Optuna's
``add_trials``: values, states and intermediate values kept), so its sampler and pruner start
informed.

A trial lies inside the new space when the new space, asked for its parameters, gets every
one of them from the trial (within the new ranges and choices) and the training
configuration they make is the one the trial trained (the seed aside): a setting the new
experiment fixes otherwise, more epochs say, leaves the trial out. Complete and pruned
trials are carried over; failed ones are not. The earlier study must have trained on the
same data (the recorded fingerprint), else the command stops (exit 2). Each carried trial
keeps its user attributes and gets ``warm_start_from`` = ``<study>#<number>``; the new
study records ``warm_start`` = {study, trials}. It happens once per study: resuming it does
not carry them again.
"""

from __future__ import annotations

import math
from typing import Any

from nnexp.errors import NnexpError

FROM_ATTR = "warm_start_from"
STUDY_ATTR = "warm_start"


class _Outside(Exception):
    """The trial's parameters do not answer the new space."""


class _Replay:
    """A stand-in for an Optuna trial that answers a search space's questions with a
    finished trial's values and records the distribution each was asked with."""

    def __init__(self, params: dict[str, Any]) -> None:
        self.params = params
        self.distributions: dict[str, Any] = {}

    def _take(self, name: str, distribution, inside: bool) -> Any:
        if name not in self.params or not inside:
            raise _Outside(name)
        self.distributions[name] = distribution
        return self.params[name]

    def suggest_int(self, name: str, low: int, high: int, step: int = 1,
                    log: bool = False) -> int:
        from optuna.distributions import IntDistribution

        value = self.params.get(name)
        inside = isinstance(value, int) and low <= value <= high and (value - low) % step == 0
        return self._take(name, IntDistribution(low, high, log=log, step=step), inside)

    def suggest_float(self, name: str, low: float, high: float, step: float | None = None,
                      log: bool = False) -> float:
        from optuna.distributions import FloatDistribution

        value = self.params.get(name)
        inside = isinstance(value, (int, float)) and low <= value <= high and (
            step is None or math.isclose(round((value - low) / step) * step + low, value,
                                         rel_tol=1e-9, abs_tol=1e-12))
        return self._take(name, FloatDistribution(low, high, log=log, step=step), inside)

    def suggest_categorical(self, name: str, choices: list) -> Any:
        from optuna.distributions import CategoricalDistribution

        return self._take(name, CategoricalDistribution(choices),
                          name in self.params and self.params[name] in choices)


def _same_training(new: dict[str, Any], old: dict[str, Any] | None) -> bool:
    if old is None:
        return False
    return {k: v for k, v in new.items() if k != "seed"} == \
        {k: v for k, v in old.items() if k != "seed"}


def carry_over(study, source, exp, fingerprint: str) -> int:
    """Add ``source``'s finished trials that lie inside ``exp``'s space to ``study`` (see the
    module docstring); returns how many. Raises ``NnexpError`` when ``source`` trained on
    other data than ``fingerprint``."""
    import optuna

    if study.user_attrs.get(STUDY_ATTR):
        return 0
    recorded = (source.user_attrs.get("data") or {}).get("fingerprint")
    if recorded is not None and recorded != fingerprint:
        raise NnexpError(
            f"cannot warm-start from study {source.study_name!r}: its trials trained on data "
            f"fingerprint {recorded}, this experiment's data have {fingerprint}. Warm-start "
            "only from a study of the same data, or leave warm_start out.")
    carried = []
    for t in source.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,
                                                       optuna.trial.TrialState.PRUNED)):
        replay = _Replay(t.params)
        try:
            params = exp.space.suggest(replay)
            config = exp.train_config(params, t.number).to_dict()
        except (_Outside, ValueError):
            continue
        if not _same_training(config, t.user_attrs.get("config")):
            continue
        carried.append(optuna.trial.create_trial(
            state=t.state, values=t.values if t.state.name == "COMPLETE" else None,
            params=params, distributions=replay.distributions,
            user_attrs={**t.user_attrs, FROM_ATTR: f"{source.study_name}#{t.number}"},
            intermediate_values=dict(t.intermediate_values)))
    if carried:
        study.add_trials(carried)
    study.set_user_attr(STUDY_ATTR, {"study": source.study_name, "trials": len(carried)})
    return len(carried)
