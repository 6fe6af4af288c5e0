"""Invocation numbers, claimed in the Optuna storage before any trial runs.

Each ``nnexp search`` of a study is one invocation: numbered 1, 2, ... in the order they
start. The number names the parent run in MLflow (``<study> #<n>``, tag ``nnexp.invocation``)
and sets the workers' sampler seeds (``nnexp.study.worker.sampler_seed``), so two invocations
running at once never sample alike and the same sequence of invocations samples the same again.
It is claimed in the Optuna storage (not MLflow's), so workers can start before MLflow is even
imported.

Why a second study: two processes must never get the same number, whatever their clocks or
the order of their writes, and the one thing every Optuna storage hands out atomically is a
trial number (under the journal's file lock; in a database transaction that locks the study's
row). So beside each study nnexp keeps a bookkeeping study ``<study>::invocations``
(``BOOKKEEPING_SUFFIX``; nnexp's study lists leave it out, ``nnexp.stores.queries.study_names``)
and each invocation adds one complete trial to it, created with its attributes in one write:
user attribute ``key`` (a random id, also each trial's user attribute ``invocation`` in the
study). The invocation's number is that trial's number + 1 + the base.

The base counts the invocations recorded before the bookkeeping study, the old ways: study
system attributes ``nnexp.invocation:<key>`` = ``{"number", "time"}`` (the highest number),
and, in studies older still, one invocation per distinct ``invocation`` user attribute of the
trials that has no such claim. It is stored once: an invocation that finds the bookkeeping
study empty counts it and keeps it as user attribute ``base`` of its trial, and only trial 0's
counts, for every invocation alike. Trial 0's is right: when it was counted, no invocation had
a bookkeeping trial yet, so none of the trials counted was a new invocation's.

A write retried after a lost connection may add a second trial for one key: a number is then
skipped, never given twice.
"""

from __future__ import annotations

import uuid

from nnexp.stores.queries import BOOKKEEPING_SUFFIX

PREFIX = "nnexp.invocation:"
"""The study system attributes of invocations numbered before the bookkeeping study."""


def new_key() -> str:
    """A random id for this invocation (32 hex digits)."""
    return uuid.uuid4().hex


def bookkeeping_name(study_name: str) -> str:
    """The name of the bookkeeping study kept beside study ``study_name``."""
    return study_name + BOOKKEEPING_SUFFIX


def _claims(storage, study_id: int) -> dict[str, dict]:
    return {k[len(PREFIX):]: v for k, v in storage.get_study_system_attrs(study_id).items()
            if k.startswith(PREFIX) and isinstance(v, dict)}


def _earlier(storage, study_id: int, claims: dict[str, dict]) -> int:
    """How many invocations came before claims existed: the distinct ``invocation``
    attributes of the study's trials that are not claim keys."""
    keys = {t.user_attrs.get("invocation") for t in storage.get_all_trials(study_id,
                                                                          deepcopy=False)}
    return len(keys - set(claims) - {None})


def _base(storage, study_id: int) -> int:
    """How many invocations of the study were numbered the old ways (see the module
    docstring)."""
    claims = _claims(storage, study_id)
    return max([c["number"] for c in claims.values()] + [_earlier(storage, study_id, claims)],
               default=0)


def _bookkeeping_study(storage, study_name: str) -> int:
    """The id of the bookkeeping study of ``study_name``, created if there is none."""
    import optuna

    name = bookkeeping_name(study_name)
    try:
        return storage.get_study_id_from_name(name)
    except KeyError:
        pass
    try:
        return storage.create_new_study([optuna.study.StudyDirection.MINIMIZE], name)
    except optuna.exceptions.DuplicatedStudyError:  # another invocation made it meanwhile
        return storage.get_study_id_from_name(name)


def claim(study, key: str) -> int:
    """Claim the next invocation number of ``study`` for ``key`` and return it (see the module
    docstring)."""
    import optuna

    from nnexp.library_internals import storage_of

    storage = storage_of(study)
    books = _bookkeeping_study(storage, study.study_name)
    attrs: dict = {"key": key}
    if storage.get_n_trials(books) == 0:
        attrs["base"] = _base(storage, storage.get_study_id_from_name(study.study_name))
    trial = optuna.trial.create_trial(state=optuna.trial.TrialState.COMPLETE, value=0.0,
                                      user_attrs=attrs)
    number = storage.get_trial_number_from_id(storage.create_new_trial(books, trial))
    first = storage.get_trial(storage.get_trial_id_from_study_id_trial_number(books, 0))
    return first.user_attrs["base"] + number + 1
