"""``nnexp dashboard STUDY`` as a real process: optuna-dashboard served on 127.0.0.1 over the
study's journal, its API naming the objective after the metric, stopped by SIGTERM. Skipped
without optuna-dashboard (the optional extra ``nnexp[dashboard]``, in ``test``)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request

import pytest
from cluster_helpers import environment
from inspect_helpers import run_study

pytest.importorskip("optuna_dashboard", reason="the optional extra nnexp[dashboard]")


def test_dashboard_serves_the_study_on_loopback_with_its_metric_names(tmp_path):
    run_study(tmp_path, "dash", study={"n_trials": 2, "seed": 0, "pruner": "none"})
    process = subprocess.Popen(
        [sys.executable, "-m", "nnexp.cli", "dashboard", "dash", "--port", "0"], cwd=tmp_path,
        env=environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("optuna-dashboard: http://127.0.0.1:"), line
        url = line.split(": ", 1)[1].strip()
        base, study_id = url.split("/dashboard/studies/")
        with urllib.request.urlopen(url, timeout=30) as page:
            assert page.status == 200 and b"<html" in page.read().lower()
        with urllib.request.urlopen(f"{base}/api/studies/{study_id}", timeout=30) as api:
            detail = json.loads(api.read())
        assert detail["name"] == "dash" and detail["objective_names"] == ["dev_accuracy"]
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    assert code == 0, process.stdout.read()
