"""Helpers for the tests of studies shared between processes, machines and Dask workers: a real
``mlflow server`` on PostgreSQL, ``nnexp search`` as real processes, and what a shared study
must look like afterwards."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def environment(**extra: str) -> dict[str, str]:
    """The environment of an ``nnexp`` process: this checkout first on the path, no tracking
    URI inherited."""
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def nnexp(args: list[str], cwd: Path, **popen) -> subprocess.Popen:
    """Start ``nnexp ARGS`` as a process in ``cwd`` (output captured, text)."""
    return subprocess.Popen([sys.executable, "-m", "nnexp.cli", *args], cwd=cwd,
                            env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **popen)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def mlflow_server(backend_url: str, artifacts: Path, wait: float = 90):
    """A real ``mlflow server`` on a PostgreSQL backend with a local artifact destination
    (one worker, job execution off); yields its ``http://127.0.0.1:PORT`` and stops it."""
    port = free_port()
    log = open(artifacts.parent / f"mlflow-server-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend_url,
         "--artifacts-destination", str(artifacts), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"], env=environment(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false"),
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise AssertionError("mlflow server did not start:\n" +
                                     Path(log.name).read_text()[-3000:])
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def check_shared_study(study, tracking_uri: str, experiment: str, expected: int,
                       parents: int) -> list:
    """A study run by several processes: ``expected`` trials with unique consecutive numbers,
    none RUNNING; one MLflow child run per trial (same numbers), ``parents`` parent runs, no
    run RUNNING. Returns the trials."""
    from mlflow import MlflowClient

    trials = study.get_trials(deepcopy=False)
    numbers = [t.number for t in trials]
    assert sorted(numbers) == list(range(expected)), numbers
    assert not [t.number for t in trials if not t.state.is_finished()]
    client = MlflowClient(tracking_uri=tracking_uri)
    exp = client.get_experiment_by_name(experiment)
    found = client.search_runs([exp.experiment_id], max_results=5000)
    children = [r for r in found if "mlflow.parentRunId" in r.data.tags]
    assert sorted(int(r.data.tags["nnexp.trial_number"]) for r in children) == list(range(expected))
    assert len([r for r in found if r.data.tags.get("nnexp.role") == "parent"]) == parents
    assert [r.info.run_name for r in found if r.info.status == "RUNNING"] == []
    return trials
