"""Invocation numbers claimed by processes that start at once (nnexp.study.invocations): on one
journal file, one SQLite database and one PostgreSQL database, with and without invocations
numbered the old way before them, one process's clock an hour behind."""

from __future__ import annotations

import multiprocessing

import optuna
import pytest

from nnexp.stores.study_storage import open_storage
from nnexp.study import invocations

PROCESSES, CLAIMS = 6, 2


def _study(url: str):
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna.create_study(study_name="s", storage=open_storage(url), load_if_exists=True)


def _claim(url: str, start, out, behind: bool) -> None:
    """Claim ``CLAIMS`` numbers once all processes are ready at barrier ``start``; put them
    (or the error) on ``out``. ``behind``: this process's clock is an hour behind."""
    if behind:
        import time

        now = time.time
        time.time = lambda: now() - 3600.0
    try:
        study = _study(url)
        start.wait(timeout=120)  # every process has its study: all claim at once
        out.put([invocations.claim(study, invocations.new_key()) for _ in range(CLAIMS)])
    except BaseException as err:  # noqa: BLE001 - the test shows it
        out.put(repr(err))


@pytest.fixture(params=["journal", "sqlite", "postgresql"])
def url(request, tmp_path) -> str:
    if request.param == "journal":
        return f"journal:{tmp_path / 'j.journal'}"
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'optuna.db'}"
    return request.getfixturevalue("postgres_url")


def _old_claims(url: str) -> int:
    """Two invocations before claims, then three claimed (two of which kept number 4): the
    next number is 5."""
    study, storage = _study(url), open_storage(url)
    for run_id in ("run-a", "run-b", "a", "b", "c"):
        trial = study.ask()
        trial.set_user_attr("invocation", run_id)
        study.tell(trial, 1.0)
    for key, number in (("a", 3), ("b", 4), ("c", 4)):
        storage.set_study_system_attr(storage.get_study_id_from_name("s"),
                                      invocations.PREFIX + key, {"number": number, "time": 0.0})
    return 4


@pytest.mark.parametrize("old", [False, True], ids=["new", "after-old-claims"])
def test_invocations_starting_at_once_get_distinct_numbers(url, old):
    base = _old_claims(url) if old else 0
    _study(url)
    spawn = multiprocessing.get_context("spawn")
    start, out = spawn.Barrier(PROCESSES), spawn.Queue()
    processes = [spawn.Process(target=_claim, args=(url, start, out, i == 0))
                 for i in range(PROCESSES)]
    for p in processes:
        p.start()
    results = [out.get(timeout=120) for _ in processes]
    for p in processes:
        p.join(30)
    assert all(isinstance(r, list) for r in results), results
    numbers = sorted(n for r in results for n in r)
    assert numbers == list(range(base + 1, base + PROCESSES * CLAIMS + 1))
    assert invocations.claim(_study(url), invocations.new_key()) == base + PROCESSES * CLAIMS + 1
