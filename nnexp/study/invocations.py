"""Invocation numbers, claimed in the Optuna study before any trial runs.

Each ``nnexp search`` of a study is one invocation: numbered 1, 2, ... in the order they
start. The number names the parent run in MLflow (``<study> #<n>``, tag ``nnexp.invocation``)
and sets the workers' sampler seeds (``nnexp.study.worker.sampler_seed``), so two invocations
running at once never sample alike and the same sequence of invocations samples the same again.
It is claimed in the Optuna storage (not MLflow's), so workers can start before MLflow is even
imported.

A claim is a study system attribute ``nnexp.invocation:<key>`` = ``{"number", "time"}``,
written once per invocation (``key``: a random id, also each trial's user attribute
``invocation``). Claims are never overwritten by another invocation, so after writing its own
an invocation reads them all: of the claims with its number, the earliest (time, then key)
keeps it; the others claim the next free number and look again. Studies begun before claims
existed count one invocation per distinct ``invocation`` attribute of their trials.
"""

from __future__ import annotations

import time
import uuid

PREFIX = "nnexp.invocation:"
ATTEMPTS = 20


def new_key() -> str:
    """A random id for this invocation (32 hex digits)."""
    return uuid.uuid4().hex


def _claims(storage, study_id: int) -> dict[str, dict]:
    return {k[len(PREFIX):]: v for k, v in storage.get_study_system_attrs(study_id).items()
            if k.startswith(PREFIX) and isinstance(v, dict)}


def _earlier(storage, study_id: int, claims: dict[str, dict]) -> int:
    """How many invocations came before claims existed: the distinct ``invocation``
    attributes of the study's trials that are not claim keys."""
    keys = {t.user_attrs.get("invocation") for t in storage.get_all_trials(study_id,
                                                                          deepcopy=False)}
    return len(keys - set(claims) - {None})


def claim(study, key: str) -> int:
    """Claim the next invocation number of ``study`` for ``key`` and return it (see the module
    docstring)."""
    from nnexp.library_internals import storage_of

    storage = storage_of(study)
    study_id = storage.get_study_id_from_name(study.study_name)
    claims = _claims(storage, study_id)
    number = max([c["number"] for c in claims.values()] + [_earlier(storage, study_id, claims)],
                 default=0) + 1
    for _ in range(ATTEMPTS):
        storage.set_study_system_attr(study_id, PREFIX + key,
                                      {"number": number, "time": time.time()})
        claims = _claims(storage, study_id)
        same = sorted((c["time"], k) for k, c in claims.items() if c["number"] == number)
        if not same or same[0][1] == key:
            return number
        number = max(c["number"] for c in claims.values()) + 1
    return number
