"""Runs written together in one transaction (``nnexp.tracking.grouped``, through
``nnexp.library_internals.insert_runs``) read back exactly as runs written one call at a time
through MLflow's client, on a real MLflow SQLite store."""

from __future__ import annotations

import time

import pytest

from nnexp.tracking.grouped import perform_group
from nnexp.tracking.runs import RunLogger
from nnexp.tracking.writer import Writer


@pytest.fixture
def store(tmp_path):
    from mlflow import MlflowClient

    from nnexp.stores.tracking_store import connect

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = connect(uri)
    assert isinstance(client, MlflowClient)
    return client, client.create_experiment("grouped"), tmp_path


def _ops(tmp_path, name: str, parent: str, status: str = "FINISHED") -> list[tuple]:
    ts = int(time.time() * 1000)
    stage = tmp_path / f"stage-{name}"
    stage.mkdir()
    (stage / "config.yaml").write_text(f"name: {name}\n")
    metrics = [(f"dev/{k}", 0.1 * s + i, ts + s, s) for i, k in enumerate(("cost", "accuracy"))
               for s in range(1, 6)] + [("dev/cost", 0.1, ts + 1, 1)]  # logged twice
    return [("create", None, name, {"nnexp.study": "s", "nnexp.trial_number": name}, parent),
            ("batch", metrics, [("learning_rate", "0.01"), ("depth", "2")],
             [("nnexp.state", "complete")]),
            ("batch", [("final_dev_accuracy", 0.9, ts + 9, 0)], [], [("nnexp.best", "3")]),
            ("artifact", str(stage), None, "config.yaml"),
            ("end", status)]


def _perform(client, experiment_id, loggers_ops, grouped: bool) -> None:
    items = []
    for logger, ops in loggers_ops:
        for op in ops:
            if op[0] == "create":
                op = ("create", experiment_id, *op[2:])
            items.append((logger, op))
    if grouped:
        perform_group(items, lambda i: items[i][0].perform(items[i][1]))
    else:
        for logger, op in items:
            logger.perform(op)


def _read(client, run_id):
    run = client.get_run(run_id)
    history = {k: sorted((m.step, m.value) for m in client.get_metric_history(run_id, k))
               for k in run.data.metrics}
    tags = {k: v for k, v in run.data.tags.items()}
    return run, history, tags


def test_runs_written_together_read_back_as_runs_written_one_call_at_a_time(store):
    client, experiment_id, tmp_path = store
    parent = client.create_run(experiment_id, run_name="parent").info.run_id
    one = [(RunLogger(client, None, name="a"), _ops(tmp_path, "a", parent))]
    together = [(RunLogger(client, None, name=n), _ops(tmp_path, n, parent, status))
                for n, status in (("b", "FINISHED"), ("c", "FAILED"))]
    _perform(client, experiment_id, one, grouped=False)
    _perform(client, experiment_id, together, grouped=True)
    reference, ref_history, ref_tags = _read(client, one[0][0].run_id)
    for logger, _ in together:
        run, history, tags = _read(client, logger.run_id)
        assert run.info.run_name == logger.name and run.info.experiment_id == experiment_id
        assert run.info.artifact_uri == reference.info.artifact_uri.replace(
            reference.info.run_id, run.info.run_id)
        assert run.data.params == reference.data.params
        assert run.data.metrics == reference.data.metrics  # the latest value of each key
        assert history == ref_history  # the repeated metric once, as MLflow keeps it
        assert {k: v for k, v in tags.items() if k not in ("mlflow.runName",
                                                           "nnexp.trial_number")} == \
            {k: v for k, v in ref_tags.items() if k not in ("mlflow.runName",
                                                            "nnexp.trial_number")}
        assert tags["mlflow.runName"] == logger.name and tags["mlflow.parentRunId"] == parent
        assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["config.yaml"]
        assert run.info.start_time <= run.info.end_time
    assert client.get_run(together[1][0].run_id).info.status == "FAILED"
    found = client.search_runs([experiment_id], filter_string="tags.`nnexp.study` = 's'")
    assert len(found) == 3
    child = client.search_runs([experiment_id],
                               filter_string=f"tags.mlflow.parentRunId = '{parent}' and "
                                             "metrics.final_dev_accuracy > 0.5")
    assert len(child) == 3


def test_a_run_not_ended_in_the_group_is_written_call_by_call_and_ends_later(store):
    client, experiment_id, tmp_path = store
    logger = RunLogger(client, None, name="long")
    ops = _ops(tmp_path, "long", None)
    _perform(client, experiment_id, [(logger, ops[:3])], grouped=True)
    assert client.get_run(logger.run_id).info.status == "RUNNING"
    _perform(client, experiment_id, [(logger, ops[3:])], grouped=True)
    assert client.get_run(logger.run_id).info.status == "FINISHED"


def test_a_refused_transaction_falls_back_to_one_call_at_a_time(store):
    client, experiment_id, tmp_path = store
    ops = _ops(tmp_path, "x", None)
    # a param logged twice with two values: refused together, then MLflow's own error for
    # that one write, and the run is still created, logged and ended
    ops.insert(2, ("batch", [], [("depth", "3")], []))
    logger = RunLogger(client, None, name="x")
    failures = []

    def one(i):
        try:
            items[i][0].perform(items[i][1])
        except Exception as err:  # noqa: BLE001 - what the writer would report
            failures.append(str(err))

    items = [(logger, ("create", experiment_id, *ops[0][2:]))] + [(logger, op) for op in ops[1:]]
    perform_group(items, one)
    assert len(failures) == 1 and "depth" in failures[0]
    run = client.get_run(logger.run_id)
    assert run.info.status == "FINISHED" and run.data.params["depth"] == "2"


def test_the_writer_groups_what_queued_up_and_keeps_the_order_of_other_jobs(store):
    client, experiment_id, tmp_path = store
    writer = Writer(announce=None, group=perform_group)
    order = []
    gate = __import__("threading").Event()
    writer.submit(gate.wait)  # holds the thread while the rest queues up
    loggers = []
    for name in ("p", "q", "r"):
        logger = RunLogger(client, None, writer=writer, name=name)
        for op in _ops(tmp_path, name, None):
            writer.run_op(logger, ("create", experiment_id, *op[2:]) if op[0] == "create"
                          else op)
        loggers.append(logger)
    writer.submit(lambda: order.append([lg.run_id is not None for lg in loggers]))
    gate.set()
    writer.close()
    assert order == [[True, True, True]]
    assert {client.get_run(lg.run_id).info.status for lg in loggers} == {"FINISHED"}
