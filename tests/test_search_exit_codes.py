"""Exit codes and end states that tell the truth, with real ``nnexp search`` invocations:
0 (a trial completed), 1 (none did), 2 (bad input or an unusable store, within seconds) and
130 (Ctrl-C, also with --jobs 2). The parent run always ends with the matching status, and a
trial run is never left RUNNING because its artifacts failed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from click.testing import CliRunner
from search_helpers import runs, study, tracking_uri, write_experiment

from nnexp.cli import main

DIVERGING = {"parameters": {
    "learning_rate": {"type": "categorical", "choices": [1.0e6, 2.0e6]},
    "optimizer": "gd", "hidden_layers": [8], "activation": "linear"}}
REGRESSION = {"name": "regression", "n_samples": 200, "dev_size": 0.25, "test_size": 0.2,
              "scale": "none"}


def nnexp(directory, *args, timeout=120):
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "nnexp.cli", *args], cwd=directory, env=env,
                          capture_output=True, text=True, timeout=timeout)
    return done, time.monotonic() - start


def test_search_help_documents_the_exit_codes():
    result = CliRunner().invoke(main, ["search", "--help"])
    assert result.exit_code == 0
    for line in ("Exit codes:", "0    at least one trial completed", "1    none of this run's",
                 "2    bad input", "130  interrupted"):
        assert line in result.output, line


def test_a_study_where_every_trial_diverges_exits_1_and_says_why(tmp_path):
    exp = write_experiment(tmp_path, name="boom", search_space=DIVERGING, dataset=REGRESSION,
                           study={"n_trials": 3, "seed": 0})
    done, _ = nnexp(tmp_path, "search", str(exp), "--quiet")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    error = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(error) == 1
    assert "none of the 3 trial(s) of this invocation completed" in error[0]
    assert "most common reason (3 trial(s)): training diverged at epoch" in error[0]
    trials = study(tmp_path, "boom").trials
    assert all(t.user_attrs["state"] == "diverged" for t in trials)
    children = runs(tmp_path, "boom", child=True)
    last = max(trials, key=lambda t: (t.number))
    run_id = next(r.info.run_id for r in children
                  if r.data.tags["nnexp.trial_number"] == str(last.number))
    assert f"look at trial {last.number}: MLflow run {run_id}" in error[0]
    assert {r.info.status for r in children} == {"FAILED"}
    parent = runs(tmp_path, "boom", role="parent")[0]
    assert parent.info.status == "FAILED" and parent.data.tags["nnexp.exit_code"] == "1"


def test_an_undefined_objective_is_a_failed_trial_naming_the_metric_not_divergence(workdir):
    data = workdir / "constant.csv"
    data.write_text("x1,x2,y\n" + "".join(f"{i % 7},{i % 5},3.0\n" for i in range(80)))
    exp = write_experiment(
        workdir, name="flat", dataset={"path": str(data), "target": "y", "task": "regression"},
        objective={"metric": "dev_r2"}, study={"n_trials": 1, "seed": 0})
    result = CliRunner().invoke(main, ["search", str(exp), "--quiet"])
    assert result.exit_code == 1, result.output
    trial = study(workdir, "flat").trials[0]
    assert trial.state.name == "FAIL" and trial.user_attrs["state"] == "failed"
    assert trial.user_attrs["reason"] == \
        "objective dev_r2 is nan: the dev target is constant (r2 undefined)"
    run = runs(workdir, "flat", child=True)[0]
    assert run.info.status == "FAILED" and run.data.tags["nnexp.state"] == "failed"
    assert "objective dev_r2 is nan" in run.data.tags["nnexp.reason"]


class Silent:
    """A TCP server that accepts connections and never answers (a hung server)."""

    def __enter__(self) -> int:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(50)
        self.held: list = []
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()
        return self.sock.getsockname()[1]

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                self.held.append(self.sock.accept()[0])
            except OSError:
                continue

    def __exit__(self, *exc) -> None:
        self.stop = True
        for conn in self.held:
            conn.close()
        self.sock.close()


@pytest.mark.parametrize("option, url", [
    ("--tracking-uri", "http://127.0.0.1:9"),
    ("--tracking-uri", "postgresql://nobody:secret@127.0.0.1:9/none"),
    ("--storage", "postgresql://nobody:secret@127.0.0.1:9/none"),
    ("--tracking-uri", "http://127.0.0.1:{silent}"),
    ("--tracking-uri", "postgresql://nobody:secret@127.0.0.1:{silent}/none"),
    ("--storage", "postgresql://nobody:secret@127.0.0.1:{silent}/none"),
])
def test_an_unreachable_store_exits_2_within_seconds_and_leaves_nothing_behind(
        tmp_path, option, url):
    exp = write_experiment(tmp_path, study={"n_trials": 1, "seed": 0})
    with Silent() as port:
        done, seconds = nnexp(tmp_path, "search", str(exp), option, url.format(silent=port),
                              "--quiet", timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert seconds < 15, f"{seconds:.1f} s: {output}"  # a hang guard, not a speed target
    assert "Traceback" not in output and "secret" not in output
    assert [line for line in output.splitlines() if line.strip()] == \
        [line for line in output.splitlines() if line.startswith("Error:")] and \
        output.count("Error:") == 1
    assert ("MLflow tracking store" if option == "--tracking-uri" else "Optuna storage") \
        in output
    journal = tmp_path / "mlruns" / "optuna.journal"
    if journal.exists():  # the reachable Optuna journal holds no study
        import optuna

        from nnexp.stores.study_storage import open_storage

        assert optuna.get_all_study_names(open_storage(f"journal:{journal}")) == []
    assert not (tmp_path / "mlruns" / "mlflow.db").exists() or \
        not [r for r in _all_runs(tmp_path)]


def test_a_silent_server_fails_fast_after_an_earlier_nnexp_set_its_http_defaults(
        tmp_path, monkeypatch):
    """A process started from one that ran nnexp inherits the HTTP settings nnexp chose
    (``HTTP_DEFAULTS``, listed in ``NNEXP_ENV_DEFAULTS``): they are still not the user's, so
    the first call keeps its quick try (with them taken as the user's: 15 s x 3 tries)."""
    from nnexp.stores.tracking_store import HTTP_DEFAULTS, SET_BY_NNEXP

    for key, value in HTTP_DEFAULTS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(SET_BY_NNEXP, ",".join(HTTP_DEFAULTS))
    exp = write_experiment(tmp_path, study={"n_trials": 1, "seed": 0})
    with Silent() as port:
        done, seconds = nnexp(tmp_path, "search", str(exp), "--tracking-uri",
                              f"http://127.0.0.1:{port}", "--quiet", timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert seconds < 15, f"{seconds:.1f} s: {done.stderr}"  # a hang guard, not a speed target


def _all_runs(directory):
    from search_helpers import client

    c = client(directory)
    return c.search_runs([e.experiment_id for e in c.search_experiments()])


def test_summary_failures_are_warnings_and_the_parent_still_finishes(workdir, monkeypatch):
    import nnexp.serving.models
    import nnexp.tracking.summary
    from nnexp.study.plotter import Plotter

    def broken(*args, **kwargs):
        raise RuntimeError("no display")

    monkeypatch.setattr(nnexp.tracking.summary, "_plots", broken)
    monkeypatch.setattr(nnexp.serving.models, "register_trial_model", broken)
    monkeypatch.setattr(Plotter, "draw", lambda *args: False)  # drawn here, by _plots
    exp = write_experiment(workdir, tracking={"log_models": "best"})
    result = CliRunner().invoke(main, ["search", str(exp), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "warning: the study summary could not draw the study plots: no display" in \
        result.output
    assert "warning: the study summary could not register the best model as 'tiny': " \
        "no display" in result.output
    parent = runs(workdir, "tiny", role="parent")[0]
    assert parent.info.status == "FINISHED" and parent.data.tags["nnexp.exit_code"] == "0"
    assert parent.data.metrics["trials_complete"] == 3  # the other parts were recorded


def test_failed_artifact_uploads_never_leave_a_run_running(workdir):
    # The store itself is usable (nnexp checks its artifact root before any trial), but this
    # experiment's artifact location lies below a regular file, so every upload fails.
    from nnexp.stores.tracking_store import connect

    blocker = workdir / "blocker"
    blocker.write_text("a file where the experiment's artifact folder goes\n")
    connect(tracking_uri(workdir)).create_experiment(
        "tiny", artifact_location=(blocker / "artifacts").as_uri())
    exp = write_experiment(workdir, study={"n_trials": 2, "seed": 0})
    result = CliRunner().invoke(main, ["search", str(exp), "--quiet"])
    assert result.exit_code == 2, result.output  # a store that takes no artifact is unusable
    assert "log_artifacts config.yaml for trial-0" in result.output
    assert "warning: the study summary could not write the trials table" in result.output
    children = runs(workdir, "tiny", child=True)
    assert len(children) == 2
    for run in children:
        assert run.info.status == "FINISHED" and run.data.tags["nnexp.state"] == "complete"
        assert run.data.tags["nnexp.write_error"].startswith("log_artifacts config.yaml")
    parent = runs(workdir, "tiny", role="parent")[0]
    assert parent.info.status == "FAILED" and parent.data.tags["nnexp.exit_code"] == "2"


def test_ctrl_c_with_two_jobs_exits_130_and_leaves_nothing_running(tmp_path):
    exp = write_experiment(tmp_path, name="slow2",
                           train={"epochs": 6000, "batch_size": 16, "optimizer": "adam"},
                           study={"n_trials": 20, "seed": 0})
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    proc = subprocess.Popen([sys.executable, "-m", "nnexp.cli", "search", str(exp), "--quiet",
                             "--jobs", "2"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait until both workers are training
            try:
                trials = study(tmp_path, "slow2").trials
            except (KeyError, FileNotFoundError):  # not created yet
                trials = []
            if sum(t.state.name == "RUNNING" for t in trials) == 2:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the workers did not start in time")
        time.sleep(0.5)
        start = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        output, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, output
    assert time.monotonic() - start < 15, output
    assert "Traceback" not in output
    trials = study(tmp_path, "slow2").trials
    assert not any(t.state.name == "RUNNING" for t in trials)
    assert sum(t.user_attrs.get("state") == "interrupted" for t in trials) == 2
    assert not any(r.info.status == "RUNNING" for r in runs(tmp_path, "slow2"))
    parent = runs(tmp_path, "slow2", role="parent")[0]
    assert parent.info.status == "KILLED" and parent.data.tags["nnexp.exit_code"] == "130"
