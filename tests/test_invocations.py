"""Invocation numbers claimed in the Optuna study (nnexp.study.invocations), and the BLAS
threads each local worker gets."""

from __future__ import annotations

import multiprocessing

import optuna

from nnexp.recovery.workers import blas_threads
from nnexp.stores.study_storage import open_storage
from nnexp.study import invocations


def _study(url: str):
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return optuna.create_study(study_name="s", storage=open_storage(url), load_if_exists=True)


def test_invocations_are_numbered_in_order(tmp_path):
    study = _study(f"journal:{tmp_path / 'j.journal'}")
    keys = [invocations.new_key() for _ in range(3)]
    assert [invocations.claim(study, k) for k in keys] == [1, 2, 3]
    assert len(set(keys)) == 3


def test_a_study_from_before_claims_counts_its_earlier_invocations(tmp_path):
    study = _study(f"journal:{tmp_path / 'j.journal'}")
    for run_id in ("run-a", "run-a", "run-b"):  # two earlier invocations, by parent run id
        trial = study.ask()
        trial.set_user_attr("invocation", run_id)
        study.tell(trial, 1.0)
    key = invocations.new_key()
    assert invocations.claim(study, key) == 3
    trial = study.ask()
    trial.set_user_attr("invocation", key)  # the new invocation's own trials do not count
    study.tell(trial, 1.0)
    assert invocations.claim(study, invocations.new_key()) == 4


def _claim(url: str, start, out) -> None:
    study = _study(url)
    start.wait()
    out.put(invocations.claim(study, invocations.new_key()))


def test_invocations_starting_at_once_get_distinct_numbers(tmp_path):
    url = f"journal:{tmp_path / 'j.journal'}"
    _study(url)
    spawn = multiprocessing.get_context("spawn")
    start, out = spawn.Event(), spawn.Queue()
    processes = [spawn.Process(target=_claim, args=(url, start, out)) for _ in range(4)]
    for p in processes:
        p.start()
    start.set()
    numbers = sorted(out.get(timeout=60) for _ in processes)
    for p in processes:
        p.join(30)
    assert numbers == [1, 2, 3, 4]


def test_each_worker_leaves_a_cpu_to_the_main_process():
    assert blas_threads(1, cpus=2) == 1
    assert blas_threads(1, cpus=8) == 7
    assert blas_threads(2, cpus=8) == 3
    assert blas_threads(4, cpus=2) == 1
    assert blas_threads(1, cpus=1) == 1
