"""An MLflow store that cannot be written: an artifact directory behind a regular file or on a
read-only mount is refused before any trial runs (one message naming the store, exit 2), and a
``mlruns/`` on a small tmpfs that fills up during the study ends with exit 2, one ``Error:``
line naming the disk, no traceback, and nothing left RUNNING in either store."""

from __future__ import annotations

import collections
import os
import subprocess
import sys

import pytest
from fault_helpers import tmpfs
from search_helpers import client, study, write_experiment


def nnexp(directory, *args, timeout=300):
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    return subprocess.run([sys.executable, "-m", "nnexp.cli", *args], cwd=directory, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _refused(done, directory):
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("Error:") == 1 and done.stderr.startswith("Error:"), done.stderr
    assert f"cannot write to the artifact directory '{directory}'" in done.stderr
    assert "of the MLflow tracking store 'sqlite:///" in done.stderr
    assert "re-run the same command" in done.stderr


def test_an_artifact_directory_behind_a_regular_file_is_refused_up_front(workdir):
    exp = write_experiment(workdir, name="blocked")
    (workdir / "mlruns").mkdir()
    (workdir / "mlruns" / "artifacts").write_text("not a directory")
    done = nnexp(workdir, "search", str(exp), "--quiet")
    _refused(done, workdir / "mlruns" / "artifacts")
    with pytest.raises(KeyError):  # refused before the study was created
        study(workdir, "blocked")


def test_a_read_only_artifact_mount_is_refused_up_front(workdir):
    exp = write_experiment(workdir, name="readonly")
    artifacts = workdir / "mlruns" / "artifacts"
    with tmpfs(artifacts, "1m"):
        done = subprocess.run(["mount", "-o", "remount,ro", str(artifacts)], capture_output=True,
                              text=True)
        if done.returncode != 0:
            pytest.skip(f"cannot remount read-only: {done.stderr.strip()}")
        done = nnexp(workdir, "search", str(exp), "--quiet")
        _refused(done, artifacts)
        assert "Read-only file system" in done.stderr


def test_mlruns_filling_up_during_the_study_ends_cleanly(workdir):
    exp = write_experiment(workdir, name="filling", study={"n_trials": 400, "seed": 1},
                           tracking={"log_models": "all"})
    mlruns = workdir / "mlruns"
    with tmpfs(mlruns, "3m"):
        done = nnexp(workdir, "search", str(exp), "--quiet")
        assert done.returncode == 2, done.stdout + done.stderr[-3000:]
        assert "Traceback" not in done.stderr, done.stderr[-3000:]
        errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
        assert len(errors) == 1, errors
        assert f"Free space on the disk holding '{mlruns}'" in errors[0]
        assert "re-run the same command to resume" in errors[0]

        trials = study(workdir, "filling").trials
        assert 0 < len(trials) < 400
        assert not [t.number for t in trials if t.state.name == "RUNNING"]
        # A full disk may not even take the parent run's end; once there is space again, the
        # next invocation of the same command closes whatever the full disk left open.
        subprocess.run(["mount", "-o", "remount,size=64m", str(mlruns)], check=True)
        again = nnexp(workdir, "search", str(exp), "--quiet", "--n-trials", "1")
        assert again.returncode == 0, again.stdout + again.stderr[-3000:]
        c = client(workdir)
        found = c.search_runs([c.get_experiment_by_name("filling").experiment_id],
                              max_results=5000)
        statuses = collections.Counter(r.info.status for r in found)
        assert "RUNNING" not in statuses, [(r.info.run_name, r.data.tags.get("nnexp.role"))
                                           for r in found if r.info.status == "RUNNING"]
        assert not [t.number for t in study(workdir, "filling").trials
                    if t.state.name == "RUNNING"]


def test_a_tracking_file_that_is_not_a_database_is_refused_before_any_trial(workdir):
    # the workers start while MLflow opens a local store, so what MLflow would refuse later is
    # checked first, without it (nnexp.stores.tracking_store.preflight)
    exp = write_experiment(workdir, study={"n_trials": 2, "seed": 0})
    (workdir / "mlruns").mkdir()
    (workdir / "mlruns" / "mlflow.db").write_bytes(b"not a database " * 100)
    done = nnexp(workdir, "search", str(exp), "--quiet")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("Error:") == 1, done.stderr
    assert "cannot open the MLflow tracking store 'sqlite:///" in done.stderr
    assert "mlflow.db: file is not a database" in done.stderr
    with pytest.raises(KeyError):  # nothing was written in Optuna's storage
        study(workdir, "tiny")
    assert (workdir / "mlruns" / "mlflow.db").read_bytes() == b"not a database " * 100
