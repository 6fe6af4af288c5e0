"""Studies that machines and invocations share: Optuna's tables created once when machines
start together on an empty database, sampler seeds that differ between concurrent
invocations, BLAS threads from the CPUs a container may use, and ``nnexp doctor`` on a torn
journal."""

from __future__ import annotations

import os
import threading

import optuna
from click.testing import CliRunner

from nnexp.cli import main
from nnexp.recovery import workers
from nnexp.stores.study_storage import open_storage, torn_tail
from nnexp.study.worker import sampler_seed


def test_machines_starting_together_on_an_empty_database_all_open_it(postgres_url):
    opened, errors = [], []

    def start() -> None:
        try:
            opened.append(open_storage(postgres_url))
        except Exception as err:  # noqa: BLE001 - collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors and len(opened) == 4
    study = optuna.create_study(study_name="together", storage=opened[0])
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert len(optuna.load_study(study_name="together", storage=opened[3]).trials) == 2


def test_sampler_seeds_differ_between_invocations_and_repeat_within_one():
    first = [sampler_seed(7, 1, i) for i in range(4)]
    assert first == [7, 8, 9, 10]  # the first invocation: study seed + worker index
    second = [sampler_seed(7, 2, i) for i in range(4)]
    assert not set(first) & set(second)  # two machines at once never sample alike
    assert second == [sampler_seed(7, 2, i) for i in range(4)]
    assert sampler_seed(None, 3, 1) is None
    assert 0 <= sampler_seed(2**32 - 1, 5, 3) < 2**32


def test_available_cpus_is_at_most_what_the_process_is_pinned_to():
    pinned = len(os.sched_getaffinity(0))
    assert 1 <= workers.available_cpus() <= pinned
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    try:
        assert workers.available_cpus() == 1
    finally:
        os.sched_setaffinity(0, set(range(os.cpu_count())))


def test_doctor_reports_then_repairs_a_torn_journal(workdir):
    journal = workdir / "mlruns" / "optuna.journal"
    storage = open_storage(f"journal:{journal}")
    study = optuna.create_study(study_name="torn", storage=storage)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    intact = journal.read_bytes()
    with open(journal, "ab") as f:
        f.write(b'{"op_code": 5, "worker_id": "half')  # a write that never finished
    assert torn_tail(journal) is not None

    found = CliRunner().invoke(main, ["doctor", "torn"])
    assert found.exit_code == 1, found.output
    assert "last record is torn" in found.output
    assert journal.read_bytes() != intact  # reporting changes nothing

    fixed = CliRunner().invoke(main, ["doctor", "torn", "--fix"])
    assert fixed.exit_code == 0, fixed.output
    assert journal.read_bytes() == intact
    assert list(journal.parent.glob("optuna.journal.torn-*"))  # the backup copy
    assert len(optuna.load_study(study_name="torn", storage=open_storage(
        f"journal:{journal}")).trials) == 3
