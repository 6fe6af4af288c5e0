"""A worker's outbox (``nnexp.tracking.outbox``) on a real MLflow SQLite store: records read
back in order up to a torn tail, a dead invocation's records written exactly once however
often recovery runs, and a live invocation's folder left alone."""

from __future__ import annotations

import json

import pytest

from nnexp.tracking import outbox
from nnexp.tracking.runs import RunLogger


class Forward:
    def __init__(self):
        self.sent = []

    def run_op(self, logger, op):
        self.sent.append(op)

    def check(self):
        pass

    def close(self):
        pass


@pytest.fixture
def store(tmp_path):
    from nnexp.stores.tracking_store import connect

    client = connect(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    experiment_id = client.create_experiment("box")
    parent = client.create_run(experiment_id, run_name="box #1").info.run_id
    return client, experiment_id, parent, tmp_path


def _trial(box, number: int, tmp_path):
    """What a worker writes for one trial, through its outbox."""
    run = RunLogger.start(None, None, f"trial-{number}",
                          {"nnexp.study": "box", "nnexp.trial_number": number}, writer=box)
    run.params({"learning_rate": 0.01})
    run.metrics({"dev/accuracy": 0.5 + number / 100}, step=1)
    stage = tmp_path / f"stage-{number}"
    stage.mkdir()
    (stage / "config.yaml").write_text(f"trial: {number}\n")
    run.artifact(stage)
    run.metrics({"final_dev_accuracy": 0.9})
    run.end("FINISHED")


def _recover(root, client) -> int:
    """``outbox.recover`` with the stores' own experiment lookup and checkpoint."""
    from nnexp.stores.tracking_store import checkpoint, ensure_experiment

    return outbox.recover(root, client,
                          lambda name: ensure_experiment(client, name, client.tracking_uri),
                          checkpoint)


def _runs(client, experiment_id):
    return {r.data.tags["nnexp.trial_number"]: r for r in client.search_runs([experiment_id])
            if "nnexp.trial_number" in r.data.tags}


def test_records_are_kept_in_order_and_a_torn_tail_is_left_out(tmp_path):
    forward = Forward()
    box = outbox.Outbox(tmp_path / "inv", 0, forward)
    for n in range(3):
        _trial(box, n, tmp_path)
    box.close()
    records = outbox.read_records(box.path)
    assert [op[:4] for _, _, op in records] == [op[:4] for op in forward.sent]
    assert [op[0] for _, _, op in records].count("end") == 3
    # an artifact's files are kept inside its record
    assert all(op[4] == {"config.yaml": f"trial: {i}\n".encode()}
               for i, op in enumerate(op for _, _, op in records if op[0] == "artifact"))
    with open(box.path, "ab") as f:
        f.write(b"\x40\x00\x00\x00partial")  # a kill in the middle of a record
    assert outbox.read_records(box.path) == records


def test_a_dead_invocation_is_written_once_however_often_recovery_runs(store):
    client, experiment_id, parent, tmp_path = store
    root = tmp_path / "mlruns" / "outbox"
    folder = outbox.Invocation(root / "key1", "box")
    folder.target(experiment_id, parent)
    box = outbox.Outbox(root / "key1", 0, Forward())
    for n in range(4):
        _trial(box, n, tmp_path)
    box.close()
    # the main process performed the first two trials' records before it died
    done = outbox.read_records(box.path)
    loggers = {}
    for key, name, op in done[:len(done) // 2]:
        if op[0] == "create":
            loggers[key] = RunLogger(client, None, name=name)
            op = ("create", experiment_id, op[2], op[3], parent)
        loggers[key].perform(op)
    assert _recover(root, client) == 0  # its main process holds the folder
    folder.release()
    written = _recover(root, client)
    assert written == 2  # the two runs it had not created (the others were ended)
    assert not (root / "key1").exists()
    assert _recover(root, client) == 0
    runs = _runs(client, experiment_id)
    assert sorted(runs) == ["0", "1", "2", "3"]
    for run in runs.values():
        assert run.info.status == "FINISHED"
        assert run.data.tags["mlflow.parentRunId"] == parent
        assert run.data.metrics["final_dev_accuracy"] == 0.9
        assert len(client.get_metric_history(run.info.run_id, "dev/accuracy")) == 1
        assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["config.yaml"]


def test_recovery_of_a_run_half_written_completes_it_without_a_second_run(store):
    client, experiment_id, parent, tmp_path = store
    root = tmp_path / "mlruns" / "outbox"
    folder = outbox.Invocation(root / "key2", "box")
    folder.target(experiment_id, parent)
    box = outbox.Outbox(root / "key2", 0, Forward())
    _trial(box, 7, tmp_path)
    box.close()
    records = outbox.read_records(box.path)
    logger = None
    for _key, name, op in records[:2]:  # created and partly logged, then the writer died
        if op[0] == "create":
            logger = RunLogger(client, None, name=name)
            op = ("create", experiment_id, op[2], op[3], parent)
        logger.perform(op)
    assert client.get_run(logger.run_id).info.status == "RUNNING"
    folder.release()
    assert _recover(root, client) == 1
    runs = client.search_runs([experiment_id], filter_string="tags.`nnexp.trial_number` = '7'")
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    assert runs[0].data.metrics["final_dev_accuracy"] == 0.9


def test_a_main_process_dead_before_its_parent_run_gets_top_level_runs(store):
    client, experiment_id, parent, tmp_path = store
    root = tmp_path / "mlruns" / "outbox"
    folder = outbox.Invocation(root / "key3", "box-new")
    box = outbox.Outbox(root / "key3", 0, Forward())
    _trial(box, 1, tmp_path)
    box.close()
    assert json.loads((root / "key3" / outbox.MAIN_FILE).read_text())["experiment_id"] is None
    folder.release()
    assert _recover(root, client) == 1
    created = client.get_experiment_by_name("box-new")
    # made as nnexp makes every experiment: artifacts beside the store, not in the cwd
    assert created.artifact_location.startswith((tmp_path / "mlruns").as_uri())
    runs = client.search_runs([created.experiment_id])
    assert len(runs) == 1 and "mlflow.parentRunId" not in runs[0].data.tags
    assert runs[0].data.tags["nnexp.recovered"] == "outbox"


def test_a_full_disk_stops_the_worker_with_one_message(tmp_path):
    box = outbox.Outbox(tmp_path / "inv", 0, Forward())
    box._file.close()
    box._file = open("/dev/full", "ab")  # noqa: SIM115 - every write: ENOSPC
    run = RunLogger.start(None, None, "trial-0", {}, writer=box)
    run.metrics({"x": 1.0})
    with pytest.raises(outbox.StoreOutage, match="Free space on that disk"):
        run.end("FINISHED")
    with pytest.raises(outbox.StoreOutage):
        box.check()
