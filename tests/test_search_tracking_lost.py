"""The MLflow tracking server dies mid-study: the command stops within a bounded time with one
message naming the store and the fix (exit 2), no hang, and Optuna's record is right."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import pytest
from cluster_helpers import free_port
from fault_helpers import SLOW_TRAIN, exit_2_with_one_error, start, trials_of, wait_running
from search_helpers import write_experiment


@pytest.fixture
def mlflow_server(tmp_path):
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
         "--artifacts-destination", str(tmp_path / "server-artifacts"), "--workers", "1"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{uri}/health", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    else:
        os.killpg(server.pid, signal.SIGKILL)
        pytest.skip("mlflow server did not start in time")
    yield uri, server
    try:
        os.killpg(server.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    server.wait(10)


def test_a_lost_tracking_server_stops_the_study_with_one_message(tmp_path, mlflow_server):
    uri, server = mlflow_server
    exp = write_experiment(tmp_path, name="lost", train=SLOW_TRAIN,
                           study={"n_trials": 30, "seed": 0, "pruner": "none", "outage_seconds": 5})
    proc = start(tmp_path, "search", str(exp), "--quiet", "--tracking-uri", uri)
    wait_running(tmp_path, "lost", complete=1)
    os.killpg(server.pid, signal.SIGKILL)
    _, error, took = exit_2_with_one_error(proc, time.monotonic(), "tracking server killed",
                                           timeout=180)
    assert uri in error and "did not answer" in error and "--tracking-uri" in error
    assert took < 60, took
    trials = trials_of(tmp_path, "lost")
    assert not [t.number for t in trials if t.state.name == "RUNNING"]
    assert "COMPLETE" in {t.state.name for t in trials}
    failed = [t for t in trials if t.state.name == "FAIL"]
    assert len(failed) == 1 and "tracking store" in failed[0].user_attrs["reason"]
    assert len(trials) < 30
