"""Many runs' writes in one transaction.

The main process performs its workers' MLflow writes (``nnexp.tracking.relay``) on one
``Writer``; when they queue up (short trials end faster than MLflow's client writes them:
~7 commits and ~25 ms of CPU per run on a SQLite store), the writer hands them over here
together. Every run whose whole record is among them (created, logged and ended) is written
into MLflow's SQL tables in one transaction (``nnexp.library_internals.insert_runs``), then its
artifacts are copied into place; every other operation, and all of them on a store without
SQL tables (a tracking server), is performed one by one as before. If the transaction fails,
its runs are written one by one instead, so each failure is reported as it would have been.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from nnexp.tracking.runs import PARENT_TAG, RunLogger

Item = tuple[RunLogger, tuple]


def perform_group(items: list[Item], one: Callable[[int], None]) -> None:
    """Perform ``items`` (``RunLogger`` operations in the order they came, all with one
    client); ``one(i)`` performs ``items[i]`` alone, with the writer's error handling."""
    from nnexp.library_internals import insert_runs, sql_tracking_store

    client = items[0][0].client
    store = sql_tracking_store(client) if len(items) > 1 else None
    created = {logger.key for logger, op in items if op[0] == "create"}
    whole = {logger.key for logger, op in items if op[0] == "end" and logger.key in created} \
        if store is not None else set()
    for i, (logger, _) in enumerate(items):
        if logger.key not in whole:
            one(i)
    if not whole:
        return
    mine = [i for i, (logger, _) in enumerate(items) if logger.key in whole]
    try:
        rows = _rows(client, [items[i] for i in mine])
        insert_runs(store, list(rows.values()))
    except Exception:  # noqa: BLE001 - written one by one, each failure reported as usual
        for i in mine:
            items[i][0].run_id = items[i][0].artifact_uri = None
        for i in mine:
            one(i)
        return
    for i in mine:  # the artifacts, copied into the runs' folders
        if items[i][1][0] == "artifact":
            one(i)


def _rows(client, items: list[Item]) -> dict[int, dict]:
    """The rows of each run (``insert_runs``' dicts, by logger key), its run id and artifact
    URI set on its logger (the artifacts are copied once the rows are in)."""
    locations: dict[str, str] = {}
    rows: dict[int, dict] = {}
    now = int(time.time() * 1000)
    for logger, op in items:
        kind = op[0]
        if kind == "create":
            _, experiment_id, run_name, tags, parent = op
            if experiment_id not in locations:
                locations[experiment_id] = client.get_experiment(experiment_id) \
                    .artifact_location.rstrip("/")
            run_id = uuid.uuid4().hex
            logger.run_id = run_id
            logger.artifact_uri = f"{locations[experiment_id]}/{run_id}/artifacts"
            rows[logger.key] = {
                "run_id": run_id, "experiment_id": experiment_id, "name": run_name,
                "artifact_uri": logger.artifact_uri, "start_time": None, "end_time": None,
                "status": "RUNNING", "params": {}, "metrics": [],
                "tags": {**tags, **({PARENT_TAG: parent} if parent else {})}}
        elif kind == "batch":
            _, metrics, params, tags = op
            run = rows[logger.key]
            run["metrics"] += metrics
            run["tags"].update(tags)
            for key, value in params:
                if run["params"].setdefault(key, value) != value:
                    raise ValueError(f"param {key!r} logged twice with different values")
        elif kind == "end":
            rows[logger.key]["status"] = op[1]
    for run in rows.values():
        times = [m[2] for m in run["metrics"]]
        run["start_time"] = min(times, default=now)
        run["end_time"] = max(times, default=now) if run["status"] != "RUNNING" else None
    return rows
