"""Issue 18: a network 20,000 layers deep (width 2) records a bounded number of metric values,
and SIGTERM during the study summary ends ``nnexp search`` within seconds, its records closed.

Before, such a trial recorded six signals for every layer at each sampled epoch (480,000
values here, minutes of writing) and a first SIGTERM after the trials only set a flag that
nothing read. Runs ``nnexp search`` as a real process with real stores."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import psutil
from search_helpers import client, runs, study, write_experiment

from nnexp.core.signals import measured_layers
from nnexp.tracking.signals import MAX_VALUES

DEPTH, EPOCHS = 20_000, 4
LIVENESS = 8.0
"""Seconds from SIGTERM to the command's end: the issue asks for 5 s; slack for a loaded
machine (a first SIGTERM in the summary used to change nothing)."""


def _plot_helper(pid: int) -> psutil.Process | None:
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return None
    for child in children:
        try:
            if "nnexp.study.plotter" in " ".join(child.cmdline()):
                return child
        except psutil.NoSuchProcess:
            continue
    return None


def test_a_very_deep_network_records_bounded_signals_and_sigterm_ends_its_summary(tmp_path):
    exp = write_experiment(
        tmp_path, name="deep",
        search_space={"parameters": {"depth": DEPTH, "width": 2, "learning_rate": 0.01}},
        train={"epochs": EPOCHS, "batch_size": None, "optimizer": "adam"},
        study={"n_trials": 1, "seed": 1}, tracking={"log_models": "best"})
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    proc = subprocess.Popen([sys.executable, "-m", "nnexp.cli", "search", str(exp)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    helper = None
    try:
        # The plots take as long as the summary lets them: the helper that draws them is
        # stopped, so the summary is still waiting for them (or registering the model) when
        # the parent run's trials table appears.
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if helper is None:
                helper = _plot_helper(proc.pid)
                if helper is not None:
                    helper.send_signal(signal.SIGSTOP)
            if helper is not None and any((tmp_path / "mlruns").rglob("trials.csv")):
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"the summary did not start in time: {proc.poll()}")
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=120)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
        if helper is not None and helper.is_running():
            helper.kill()
    assert proc.returncode == 130, output
    assert took < LIVENESS, (took, output)
    assert "Traceback" not in output and "interrupted" in output, output

    assert [t.state.name for t in study(tmp_path, "deep").trials] == ["COMPLETE"]
    assert not any(r.info.status == "RUNNING" for r in runs(tmp_path, "deep"))
    assert runs(tmp_path, "deep", role="parent")[0].info.status == "KILLED"
    (trial,) = runs(tmp_path, "deep", child=True)
    assert trial.info.status == "FINISHED"

    # bounded: 16 measured layers (the first and the last among them) and the first dead one
    c = client(tmp_path)
    keys = list(trial.data.metrics)
    layer_of = {k: int(m.group(1)) for k in keys if (m := re.search(r"layer_(\d+)/", k))}
    layer_keys, layers = list(layer_of), set(layer_of.values())
    measured = set(measured_layers(DEPTH + 1))
    assert measured <= layers and len(layers - measured) <= EPOCHS, sorted(layers)
    values = {k: len(c.get_metric_history(trial.info.run_id, k)) for k in keys}
    assert sum(values[k] for k in layer_keys) <= MAX_VALUES * EPOCHS  # vs 6 x 20,001 x 4
    assert sum(values.values()) <= MAX_VALUES * EPOCHS + 6 * EPOCHS + 30, values
    assert trial.data.tags["nnexp.signal"] == "dead_layer"  # width 2: a ReLU layer dies
    dead = int(trial.data.tags["nnexp.signal_evidence"].split("layer ")[1].split(",")[0])
    assert dead in layers and any(layer_of[k] == dead and k.endswith("/dead_fraction")
                                  for k in layer_keys)  # the layer named is recorded
