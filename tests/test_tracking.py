"""Tracking against a real MLflow SQLite store: batched logging within MLflow's limits, the
background writer, dangling runs, URI errors."""

from __future__ import annotations

import pytest

from nnexp.errors import NnexpError
from nnexp.stores.tracking_store import connect, ensure_experiment
from nnexp.tracking.runs import RunLogger, close_dangling_runs
from nnexp.tracking.writer import Writer


@pytest.fixture()
def store(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    client = connect(uri)
    return client, ensure_experiment(client, "t", uri)


def test_batches_respect_mlflow_limits_and_keep_every_value(store):
    client, exp = store
    run = RunLogger.start(client, exp, "big", {"a": 1}, flush_seconds=1e9)
    run.params({f"p{i}": i for i in range(250)})          # > 100 params per call
    for epoch in range(1, 401):                             # 2400 metrics > 1000 per call
        run.metrics({f"m{k}": epoch * 10 + k for k in range(6)}, step=epoch)
    run.end()
    got = client.get_run(run.run_id)
    assert len(got.data.params) == 250 and got.data.params["p249"] == "249"
    history = client.get_metric_history(run.run_id, "m5")
    assert [m.step for m in history] == list(range(1, 401))
    assert [m.value for m in history] == [e * 10 + 5 for e in range(1, 401)]
    assert got.info.status == "FINISHED"


def test_non_finite_metrics_are_skipped(store):
    client, exp = store
    run = RunLogger.start(client, exp, "nan", {})
    run.metrics({"ok": 1.0, "bad": float("nan"), "inf": float("inf")})
    run.end()
    assert set(client.get_run(run.run_id).data.metrics) == {"ok"}


def test_writer_runs_jobs_in_order_and_creates_the_run_first(store, tmp_path):
    client, exp = store
    writer = Writer()
    run = RunLogger.start(client, exp, "async", {"x": "y"}, writer=writer)
    run.metrics({"a": 1.0}, step=1)
    staged = tmp_path / "stage"
    staged.mkdir()
    (staged / "config.yaml").write_text("a: 1\n")
    run.artifact(staged)
    run.end("KILLED")
    writer.drain()
    got = client.get_run(run.run_id)
    assert got.info.status == "KILLED" and got.data.metrics["a"] == 1.0
    assert [a.path for a in client.list_artifacts(run.run_id)] == ["config.yaml"]
    assert not staged.exists()  # the upload removed the staged folder


def test_writer_reports_failed_writes_on_drain():
    writer = Writer()

    def broken() -> None:
        raise RuntimeError("disk full")

    writer.submit(broken)
    with pytest.raises(NnexpError, match="disk full"):
        writer.drain()
    writer.drain()  # reported once


def test_a_ctrl_c_while_the_writer_closes_abandons_the_queued_writes():
    """The drain of the workers' writes is interruptible (issue 18): Ctrl-C while ``close``
    waits raises at once; ``abandon`` drops what is still queued (the outbox keeps it) and
    nobody waits for the write in progress."""
    import os
    import signal
    import threading
    import time

    writer, busy, done = Writer(announce=None), threading.Event(), []
    writer.submit(busy.wait, 30)
    for i in range(3):
        writer.submit(done.append, i, description=f"write {i}")
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        writer.close()
    writer.abandon()
    assert time.monotonic() - start < 5
    busy.set()
    writer._thread.join(5)
    assert done == [] and writer.failed and not writer._thread.is_alive()
    assert [e.split(":")[0] for e in writer.take_errors()] == ["write 0", "write 1", "write 2"]


def test_dangling_child_runs_are_closed_as_killed(store):
    client, exp = store
    parent = RunLogger.start(client, exp, "parent", {})
    child = RunLogger.start(client, exp, "child", {}, parent_run_id=parent.run_id)
    done = RunLogger.start(client, exp, "done", {}, parent_run_id=parent.run_id)
    done.end()
    assert close_dangling_runs(client, exp, parent.run_id) == 1
    got = client.get_run(child.run_id)
    assert got.info.status == "KILLED" and got.data.tags["nnexp.state"] == "interrupted"
    assert client.get_run(done.run_id).info.status == "FINISHED"


@pytest.mark.parametrize("uri, message", [
    ("nowhere://x", "is not one MLflow can use"),
    ("file:///tmp/plain", "plain file store"),
    ("postgresql://nobody@127.0.0.1:1/none", "MLflow tracking store"),
])
def test_bad_tracking_uris_are_user_errors(uri, message, monkeypatch):
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE", raising=False)
    with pytest.raises(NnexpError, match=message):
        connect(uri)


def test_a_trial_is_found_by_its_tags_whatever_quotes_its_study_name_holds(tmp_path):
    # MLflow's search filter has no escape inside a string: a name with a single quote must
    # be written between double quotes (a backslash found nothing)
    from mlflow import MlflowClient

    from nnexp.tracking.runs import tag_is, trial_filter
    from nnexp.tracking.summary import run_of_trial

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.create_experiment("quotes")
    names = ["it's", 'say "hi"', "plain"]
    ids = {n: client.create_run(experiment, tags={"nnexp.study": n, "nnexp.trial_number": "3"})
           .info.run_id for n in names}
    for name in names:
        assert [r.info.run_id for r in client.search_runs(
            [experiment], filter_string=trial_filter(name, 3))] == [ids[name]]
        assert run_of_trial(client, experiment, name, 3) == ids[name]
        assert len(client.search_runs([experiment], filter_string=tag_is("study", name))) == 1
    assert run_of_trial(client, experiment, "it's", 4) is None
