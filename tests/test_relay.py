"""A worker's MLflow writes relayed to its main process (nnexp.tracking.relay): real pipes
between real processes, performed into a real MLflow SQLite store."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest

from nnexp.outage import StoreOutage
from nnexp.tracking.relay import Receiver, Relay
from nnexp.tracking.runs import RunLogger
from nnexp.tracking.writer import Writer


def _worker(connection, lost, artifact_dir: str, hang: bool) -> None:
    """A worker's trial run: created, logged, an artifact, ended; ``hang``: then wait to be
    killed without closing anything."""
    from pathlib import Path

    relay = Relay(connection, lost)
    run = RunLogger.start(None, None, "trial-0", {"nnexp.trial_number": 0}, writer=relay)
    run.params({"width": 16})
    run.metrics({"dev_accuracy": 0.5}, step=1)
    run.metrics({"dev_accuracy": 0.75}, step=2)
    folder = Path(artifact_dir)
    folder.mkdir()
    (folder / "config.yaml").write_text("width: 16\n")
    run.artifact(folder)
    if hang:
        run.flush()
        time.sleep(600)
    run.end("FINISHED")
    relay.close()


def _store(tmp_path):
    from nnexp.stores.tracking_store import connect, ensure_experiment

    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    client = connect(uri)
    experiment_id = ensure_experiment(client, "relay", uri)
    parent = client.create_run(experiment_id, run_name="parent")
    return client, experiment_id, parent.info.run_id


def _spawn(tmp_path, hang: bool = False):
    spawn = multiprocessing.get_context("spawn")
    receive, send = spawn.Pipe(duplex=False)
    lost = spawn.Event()
    process = spawn.Process(target=_worker, args=(send, lost, str(tmp_path / "art"), hang))
    process.start()
    send.close()
    return process, receive, lost


def _children(client, experiment_id, parent_id):
    return client.search_runs([experiment_id],
                              filter_string=f"tags.mlflow.parentRunId = '{parent_id}'")


def test_writes_held_before_attach_are_performed_in_order_under_the_parent(tmp_path):
    process, receive, _ = _spawn(tmp_path)
    receiver = Receiver([receive])
    process.join(60)  # the worker is done before the main process has a store
    assert process.exitcode == 0
    client, experiment_id, parent_id = _store(tmp_path)
    writer = Writer(announce=None)
    receiver.attach(client, writer, experiment_id, parent_id)
    assert receiver.join(10)
    writer.close()
    [run] = _children(client, experiment_id, parent_id)
    assert run.info.status == "FINISHED" and run.info.run_name == "trial-0"
    assert run.data.params["width"] == "16"
    assert run.data.tags["nnexp.trial_number"] == "0"
    history = client.get_metric_history(run.info.run_id, "dev_accuracy")
    assert [(m.step, m.value) for m in history] == [(1, 0.5), (2, 0.75)]
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["config.yaml"]
    assert not (tmp_path / "art").exists()  # handed over: deleted once uploaded


def test_a_worker_killed_keeps_what_it_sent_and_closes_its_pipe(tmp_path):
    process, receive, _ = _spawn(tmp_path, hang=True)
    client, experiment_id, parent_id = _store(tmp_path)
    writer = Writer(announce=None)
    receiver = Receiver([receive])
    receiver.attach(client, writer, experiment_id, parent_id)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # until its run exists and the batch is in
        writer.drain()
        runs = _children(client, experiment_id, parent_id)
        if runs and runs[0].data.params:
            break
        time.sleep(0.2)
    os.kill(process.pid, signal.SIGKILL)
    process.join(10)
    assert receiver.join(10)  # the reader saw the pipe close
    writer.close()
    [run] = _children(client, experiment_id, parent_id)
    assert run.info.status == "RUNNING"  # not ended: the runner's clean-up closes it
    assert run.data.params["width"] == "16"


def test_discard_drops_held_writes_and_their_artifact_folders(tmp_path):
    process, receive, _ = _spawn(tmp_path)
    receiver = Receiver([receive])
    process.join(60)
    assert receiver.join(10)
    receiver.discard()
    assert not (tmp_path / "art").exists()


def test_check_raises_once_the_main_process_lost_the_store():
    spawn = multiprocessing.get_context("spawn")
    receive, send = spawn.Pipe(duplex=False)
    lost = spawn.Event()
    relay = Relay(send, lost)
    relay.check()
    lost.set()
    with pytest.raises(StoreOutage) as caught:
        relay.check()
    assert caught.value.store == "tracking"
    receive.close()


def test_a_relay_whose_main_process_is_gone_drops_writes_quietly():
    spawn = multiprocessing.get_context("spawn")
    receive, send = spawn.Pipe(duplex=False)
    receive.close()
    relay = Relay(send, spawn.Event())
    logger = RunLogger(None, None, writer=relay, name="trial-1")
    logger.tags({"a": 1})
    logger.flush()  # the pipe is broken: no exception, the worker stops through main_gone
    assert relay.broken
