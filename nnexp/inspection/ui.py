"""``nnexp ui``: the MLflow UI over the store ``nnexp search`` records into.

The UI is MLflow's own server (``python -m mlflow server``, one worker, job execution off),
started in its own process group so that stopping it stops every process it spawned. nnexp
checks the store and the port first, waits (bounded) until the server answers ``/health``,
and gives the URL of the study's experiment page.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from nnexp.errors import NnexpError
from nnexp.stores.queries import experiment_url
from nnexp.stores.tracking_store import (
    connect,
    default_tracking_uri,
    mark_model_training,
    missing_database,
    resolve_tracking_uri,
)
from nnexp.tracking.runs import TAG_PREFIX, tag_is

LOOPBACK = ("127.0.0.1", "localhost", "::1")
START_SECONDS = 90.0
"""How long the server may take to answer (about 10 s on an idle machine)."""
STOP_SECONDS = 10.0
PROBE_SECONDS = 2.0


@dataclass
class UiServer:
    """A running MLflow UI: its process (leader of its own process group) and URLs."""

    process: subprocess.Popen
    base_url: str
    url: str
    """The page to open: the study's experiment, or the list of experiments."""
    log_path: Path

    def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Terminate the server's whole process group (SIGTERM, then SIGKILL after
        ``timeout`` seconds) and reap it."""
        _stop_group(self.process, timeout)
        self.log_path.unlink(missing_ok=True)

    def wait(self) -> int:
        """Block until the server exits by itself (normally never); its exit code."""
        return self.process.wait()


def store_uri(tracking_uri: str | None) -> str:
    """The tracking URI to show, refusing a SQLite database that does not exist (the UI
    would create an empty one)."""
    uri = resolve_tracking_uri(tracking_uri)
    if missing_database(uri) is not None:
        if uri == default_tracking_uri():
            raise NnexpError("no studies recorded under ./mlruns; run nnexp search first or "
                             "pass --tracking-uri")
        raise NnexpError(f"no MLflow database at {uri!r}: no study was recorded there. Check "
                         "--tracking-uri (or MLFLOW_TRACKING_URI), or run nnexp search first.")
    return uri


def study_experiment(client, study: str) -> str:
    """The id of the MLflow experiment holding the runs of study ``study``."""
    experiments = [e.experiment_id for e in client.search_experiments()]
    found = client.search_runs(experiments, max_results=1,
                               filter_string=tag_is("study", study))
    if found:
        return found[0].info.experiment_id
    parents = client.search_runs(experiments, max_results=1000,
                                 filter_string=tag_is("role", "parent"))
    known = sorted({r.data.tags.get(TAG_PREFIX + "study", "") for r in parents} - {""})
    raise NnexpError(f"no study named {study!r} in this MLflow store; studies recorded: "
                     f"{', '.join(known) if known else 'none'}. Give one of these names (the "
                     "study name nnexp search printed) or another --tracking-uri.")


def _check_port(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as err:
            raise NnexpError(f"cannot listen on {host}:{port}: {err.strerror or err} (another "
                             "MLflow UI or program may be using the port). Pass another "
                             "--port, or stop what uses it.") from None


def _allowed_hosts(host: str, port: int) -> str:
    names = {host, socket.gethostname(), socket.getfqdn(), *LOOPBACK[:2]} - {"0.0.0.0", "::"}
    return ",".join(sorted(n for name in names for n in (name, f"{name}:{port}")))


def _url_host(host: str) -> str:
    if host in ("0.0.0.0", "::"):
        return socket.gethostname()
    return f"[{host}]" if ":" in host else host


def start_ui(tracking_uri: str | None = None, study: str | None = None,
             host: str = "127.0.0.1", port: int = 5000,
             wait_seconds: float = START_SECONDS) -> UiServer:
    """Start the MLflow UI on ``host:port`` over the store and wait until it answers.

    Raises ``NnexpError`` when the store or the study does not exist, the port is taken, or
    the server does not answer within ``wait_seconds`` (it is then stopped).
    """
    uri = store_uri(tracking_uri)
    experiment_id = None
    if study:
        client = connect(uri)
        experiment_id = study_experiment(client, study)
        mark_model_training(client, client.get_experiment(experiment_id))
    _check_port(host, port)
    cmd = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", uri,
           "--host", host, "--port", str(port), "--workers", "1"]
    if host not in LOOPBACK:
        cmd += ["--allowed-hosts", _allowed_hosts(host, port)]
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    log = tempfile.NamedTemporaryFile(prefix="nnexp-ui-", suffix=".log", delete=False)
    with log:
        process = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://{_url_host(host)}:{port}"
    probe = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else _url_host(host)}:{port}"
    server = UiServer(process, base, experiment_url(base, experiment_id), Path(log.name))
    try:
        _wait_until_up(process, probe + "/health", wait_seconds, server.log_path)
    except BaseException:
        _stop_group(process, STOP_SECONDS)
        raise
    return server


def _wait_until_up(process: subprocess.Popen, health: str, seconds: float, log: Path) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise NnexpError(f"the MLflow UI server exited (code {process.returncode}) before "
                             f"answering. Its last output:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(health, timeout=PROBE_SECONDS) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise NnexpError(f"the MLflow UI server did not answer {health} within {seconds:.0f} s; "
                     f"it was stopped. Its last output:\n{_tail(log)}")


def _tail(log: Path, lines: int = 15) -> str:
    try:
        text = log.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "  (no output)"
    return "\n".join("  " + line for line in text[-lines:]) or "  (no output)"


def _stop_group(process: subprocess.Popen, timeout: float) -> None:
    """SIGTERM the process group led by ``process``, SIGKILL it if it outlives ``timeout``."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        if _group_gone(process, timeout):
            break
    process.poll()


def _group_gone(process: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process.poll()  # reap the leader, or it lingers as a zombie of the group
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def serve(server: UiServer) -> int:
    """Keep the UI running until Ctrl-C or SIGTERM, then stop it; 0 on such a stop, else the
    server's own exit code. Both signals are handled explicitly: a process started in the
    background inherits an ignored SIGINT, which would make Ctrl-C (kill -INT) a no-op."""
    def on_signal(signum, frame):
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return server.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for sig in previous:  # a second Ctrl-C must not cut the stop short and leave orphans
            signal.signal(sig, signal.SIG_IGN)
        try:
            server.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
