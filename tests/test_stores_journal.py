"""The Optuna journal is never left unreadable: a torn last record is repaired when the journal
is opened (a copy kept), and a full disk (a real 1 MiB tmpfs) gives one message, exit 2, and a
journal that still loads with every earlier trial; after freeing space the same command
resumes."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import uuid

import pytest
from fault_helpers import tmpfs
from search_helpers import write_experiment

from nnexp.stores.study_storage import open_storage, repair_journal, torn_tail


def _env():
    return {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}


def nnexp(directory, *args, timeout=300):
    return subprocess.run([sys.executable, "-m", "nnexp.cli", *args], cwd=directory,
                          env=_env(), capture_output=True, text=True, timeout=timeout)


def _load(journal, name):
    import optuna

    return optuna.load_study(study_name=name, storage=open_storage(f"journal:{journal}"))


def _study_journal(tmp_path, trials=3):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    journal = tmp_path / "optuna.journal"
    study = optuna.create_study(study_name="s", storage=open_storage(f"journal:{journal}"))
    study.optimize(lambda t: t.suggest_float("x", 0, 1) ** 2, n_trials=trials)
    return journal


@pytest.mark.parametrize("tail", [b'{"op_code":5,"worker_id":"ab', b"garbage\n", b"\n"])
def test_a_torn_last_record_is_cut_off_with_a_copy_kept_and_the_study_loads(tmp_path, tail):
    journal = _study_journal(tmp_path)
    intact = journal.read_bytes()
    journal.write_bytes(intact + tail)
    assert torn_tail(journal) == len(intact)
    message = repair_journal(journal)
    assert message and str(journal) in message and "torn record" in message
    assert journal.read_bytes() == intact
    backups = list(tmp_path.glob("optuna.journal.torn-*"))
    assert len(backups) == 1 and backups[0].read_bytes() == intact + tail
    assert repair_journal(journal) is None  # intact now
    study = _load(journal, "s")
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 3
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)  # appends work again
    assert len(_load(journal, "s").trials) == 4


def test_an_intact_journal_is_left_alone(tmp_path):
    journal = _study_journal(tmp_path, trials=1)
    before = journal.read_bytes()
    assert repair_journal(journal) is None
    assert journal.read_bytes() == before
    assert not list(tmp_path.glob("*.torn-*"))


def test_a_search_repairs_a_torn_journal_with_a_one_line_warning(tmp_path):
    exp = write_experiment(tmp_path, name="torn", study={"n_trials": 2, "seed": 1})
    assert nnexp(tmp_path, "search", str(exp), "--quiet").returncode == 0
    journal = tmp_path / "mlruns" / "optuna.journal"
    with open(journal, "ab") as f:
        f.write(b'{"op_code":4,"worker_id":"x","trial_id":1,"param_na')  # killed mid-write
    done = nnexp(tmp_path, "search", str(exp), "--quiet", "--n-trials", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "torn record" in warnings[0] and str(journal) in warnings[0]
    assert len(_load(journal, "torn").trials) == 3


@pytest.fixture()
def small_disk(tmp_path):
    """A 1 MiB tmpfs mounted at tmp_path/disk, unmounted afterwards."""
    with tmpfs(tmp_path / "disk", "1m") as disk:
        yield disk


def _fill(disk, leave: int = 0):
    """Fill ``disk`` to the last byte with a filler file, then free ``leave`` bytes."""
    filler = disk / f"filler-{uuid.uuid4().hex}"
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as err:
            assert err.errno == errno.ENOSPC
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def test_a_full_disk_gives_one_message_and_the_journal_keeps_every_earlier_trial(
        tmp_path, small_disk):
    journal = small_disk / "optuna.journal"
    exp = write_experiment(tmp_path, name="full", study={"n_trials": 2, "seed": 1},
                           train={"epochs": 30, "batch_size": 32, "optimizer": "adam"})
    command = ["search", str(exp), "--quiet", "--storage", f"journal:{journal}"]
    first = nnexp(tmp_path, *command)
    assert first.returncode == 0, first.stdout + first.stderr
    before = _load(journal, "full").trials
    assert len(before) == 2

    filler = _fill(small_disk, leave=4096)
    done = nnexp(tmp_path, *command, "--n-trials", "20")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, done.stderr
    assert f"cannot write to the Optuna journal '{journal}'" in errors[0]
    assert f"Free space on the disk holding '{small_disk}'" in errors[0]
    assert "re-run the same command to resume" in errors[0]
    assert journal.read_bytes().endswith(b"\n")
    for line in journal.read_bytes().splitlines():
        json.loads(line)
    after = _load(journal, "full").trials
    assert len(after) > 2  # trials ran until the disk filled up
    assert not [t for t in after if t.state.name == "RUNNING"]  # the last one recorded its end
    told = [line for line in done.stderr.splitlines()
            if line.strip() and not line.startswith(("data:", "stores:", "new study"))]
    assert told == errors, done.stderr  # besides what data and where the stores are: that one
    assert [(t.number, t.state, t.params) for t in after[:2]] == \
        [(t.number, t.state, t.params) for t in before]

    filler.unlink()
    resumed = nnexp(tmp_path, *command)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    final = _load(journal, "full").trials
    assert len(final) >= len(after) + 2
    assert not [t for t in final if t.state.name == "RUNNING"]
