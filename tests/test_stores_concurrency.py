"""Several ``nnexp search`` processes started at once on a fresh ``mlruns/``: the MLflow store is
created once (under ``mlruns/.mlflow.db.lock``), one Optuna study and one MLflow experiment hold
every trial, and the database works afterwards."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from search_helpers import client, runs, study, write_experiment

from nnexp.errors import NnexpError
from nnexp.stores.locking import file_lock


def _env():
    return {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}


def _start(directory, exp):
    return subprocess.Popen([sys.executable, "-m", "nnexp.cli", "search", str(exp), "--quiet"],
                            cwd=directory, env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_four_first_runs_at_once_share_one_store_one_study_and_one_experiment(tmp_path):
    exp = write_experiment(tmp_path, name="race", study={"n_trials": 2, "seed": 1})
    processes = [_start(tmp_path, exp) for _ in range(4)]
    outputs = [p.communicate(timeout=300) for p in processes]
    for p, (out, err) in zip(processes, outputs):
        assert p.returncode == 0, out + err
        assert "Traceback" not in err and "Error" not in err, err
    assert (tmp_path / "mlruns" / ".mlflow.db.lock").exists()

    fifth = subprocess.run([sys.executable, "-m", "nnexp.cli", "search", str(exp), "--quiet"],
                           cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)
    assert fifth.returncode == 0, fifth.stdout + fifth.stderr

    import optuna

    from nnexp.stores.study_storage import open_storage

    storage = open_storage(f"journal:{tmp_path / 'mlruns' / 'optuna.journal'}")
    # the study, and nnexp's bookkeeping study that numbers its invocations
    assert [s.study_name for s in optuna.get_all_study_summaries(storage)] == \
        ["race", "race::invocations"]
    trials = study(tmp_path, "race").trials
    assert len(trials) == 10
    assert all(t.state.is_finished() for t in trials)
    assert any(t.state.name == "COMPLETE" for t in trials)

    c = client(tmp_path)
    assert sorted(e.name for e in c.search_experiments()) == ["Default", "race"]
    children = runs(tmp_path, "race", child=True)
    assert sorted(int(r.data.tags["nnexp.trial_number"]) for r in children) == list(range(10))
    parents = runs(tmp_path, "race", role="parent")
    assert len(parents) == 5
    assert "RUNNING" not in {r.info.status for r in children + parents}
    assert {r.info.status for r in parents} == {"FINISHED"}


def test_the_lock_wait_is_bounded_and_names_the_lock(tmp_path):
    lock = tmp_path / ".mlflow.db.lock"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl, sys, time; f = open(sys.argv[1], 'w'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(30)", str(lock)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(NnexpError) as caught:
            with file_lock(lock, "the creation of the MLflow store", timeout=0.3):
                pass
        message = str(caught.value)
        assert str(lock) in message and "another nnexp process holds it" in message
    finally:
        holder.kill()
        holder.wait()
    with file_lock(lock, "the creation of the MLflow store", timeout=5):
        pass  # released by the kernel when its holder died
