"""The MLflow tracking server dies mid-study: the command stops within a bounded time with one
message naming the store and the fix (exit 2), no hang, and Optuna's record is right."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from fault_helpers import SLOW_TRAIN, start, trials_of, wait_running
from search_helpers import write_experiment


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def mlflow_server(tmp_path):
    port = _free_port()
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
    killed_at = time.monotonic()
    output, _ = proc.communicate(timeout=180)
    took = time.monotonic() - killed_at
    print(f"tracking server killed: exit after {took:.1f} s")
    assert proc.returncode == 2, output
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, output
    assert uri in errors[0] and "did not answer" in errors[0] and "--tracking-uri" in errors[0]
    assert took < 60, took
    trials = trials_of(tmp_path, "lost")
    assert not [t.number for t in trials if t.state.name == "RUNNING"]
    assert "COMPLETE" in {t.state.name for t in trials}
    failed = [t for t in trials if t.state.name == "FAIL"]
    assert len(failed) == 1 and "tracking store" in failed[0].user_attrs["reason"]
    assert len(trials) < 30
