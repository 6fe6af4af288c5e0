"""``nnexp ui``: the MLflow UI over the study store, as real processes (no mocks)."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
import urllib.request

import pytest
from search_helpers import client
from ui_helpers import STUDY, UiProcess, free_port, group_alive, nnexp, run_pruned_study


@pytest.fixture(scope="module")
def studied(tmp_path_factory):
    """A directory whose ./mlruns holds one small study with pruned trials."""
    directory = tmp_path_factory.mktemp("ui")
    run_pruned_study(directory)
    return directory


def test_ui_answers_on_the_printed_url_of_the_study_and_stops_on_ctrl_c(studied):
    port = free_port()
    ui = UiProcess(studied, STUDY, "--port", str(port))
    pgid = None
    try:
        url = ui.url()
        pgid = ui.server_group()
        experiment = client(studied).get_experiment_by_name(STUDY)
        assert url == (f"http://127.0.0.1:{port}/#/experiments/{experiment.experiment_id}"
                       "?workflowType=machine_learning")
        assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
        base = url.split("/#/")[0]
        with urllib.request.urlopen(base + "/health", timeout=10) as response:
            assert response.read() == b"OK"
        api = (f"{base}/ajax-api/2.0/mlflow/experiments/get?"
               f"experiment_id={experiment.experiment_id}")
        with urllib.request.urlopen(api, timeout=10) as response:
            assert json.load(response)["experiment"]["name"] == STUDY
        assert ui.stop(signal.SIGINT) == 0
    finally:
        ui.stop(signal.SIGKILL)
        left = group_alive(pgid) if pgid else []
        if left:
            os.killpg(pgid, signal.SIGKILL)
    assert not left, f"server processes left after Ctrl-C: {left}"


def test_ui_without_a_store_says_so_and_creates_nothing(tmp_path):
    started = time.monotonic()
    done = nnexp("ui", cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    assert ("no studies recorded under ./mlruns; run nnexp search first or pass "
            "--tracking-uri") in done.stderr
    assert not (tmp_path / "mlruns").exists()
    assert time.monotonic() - started < 30


def test_ui_on_a_port_in_use_exits_2_with_a_clear_message(studied):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = nnexp("ui", "--port", str(port), cwd=studied, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "--port" in done.stderr and "Traceback" not in done.stderr


def test_ui_with_an_unknown_study_lists_the_recorded_ones(studied):
    done = nnexp("ui", "nosuchstudy", "--port", str(free_port()), cwd=studied, timeout=120)
    assert done.returncode == 2
    assert "no study named 'nosuchstudy'" in done.stderr and STUDY in done.stderr


def test_search_hint_names_the_store_only_when_it_is_not_the_default(tmp_path, monkeypatch):
    from nnexp.cli.display import ui_command
    from nnexp.stores.tracking_store import default_tracking_uri

    monkeypatch.chdir(tmp_path)
    assert ui_command("digits study", default_tracking_uri()) == "nnexp ui 'digits study'"
    assert ui_command("s", "sqlite:////x/db") == "nnexp ui s --tracking-uri sqlite:////x/db"
