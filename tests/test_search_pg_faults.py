"""RDB storage on a real PostgreSQL server: a worker that stops sending heartbeats has its
trial failed and retried (``study.retries``), the retry's run linked to the original; a
database outage shorter than ``study.outage_seconds`` is ridden out, a longer one stops the
invocation with one message and exit 2, and the next invocation finds consistent records."""

from __future__ import annotations

import os
import signal
import time

import optuna
import pytest
from fault_helpers import (
    SLOW_TRAIN,
    assert_nothing_running,
    exit_2_with_one_error,
    nnexp,
    start,
    wait_running,
    wait_runs,
    worker_pid,
)
from pg_helpers import Proxy, throwaway_database, url
from search_helpers import runs, write_experiment

from nnexp.recovery.doctor import STALE


@pytest.fixture
def pg_database():
    yield from throwaway_database()


def _loader(storage_url):
    def load(directory, name):
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        return optuna.load_study(study_name=name, storage=storage_url)
    return load


def _behind_proxy(tmp_path, pg_database, name: str, n_trials: int):
    """A started ``Proxy`` to the database, a study loader that bypasses it, and an
    experiment ``name`` whose Optuna storage goes through it (outage bound 8 s)."""
    proxy = Proxy().start()
    exp = write_experiment(tmp_path, name=name, train=SLOW_TRAIN, study={
        "n_trials": n_trials, "seed": 0, "pruner": "none", "outage_seconds": 8,
        "storage": url(pg_database, proxy.port)})
    return proxy, _loader(url(pg_database)), exp


def test_a_trial_with_a_stale_heartbeat_is_failed_and_retried(tmp_path, pg_database):
    storage = url(pg_database)
    load = _loader(storage)
    exp = write_experiment(tmp_path, name="hb", train=SLOW_TRAIN, study={
        "n_trials": 1, "seed": 0, "pruner": "none", "retries": 1, "heartbeat_seconds": 1,
        "storage": storage})
    stopped = start(tmp_path, "search", str(exp), "--quiet")
    original = wait_running(tmp_path, "hb", load=load)[0]
    wait_runs(tmp_path, "hb", [original.number])
    worker = worker_pid(original)  # the trial's worker process, which sends the heartbeats
    os.kill(worker, signal.SIGSTOP)  # alive, but no more heartbeats
    try:
        time.sleep(4.5)  # grace period: 3 heartbeats
        done = nnexp(tmp_path, "search", str(exp), "--quiet")
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        os.kill(worker, signal.SIGKILL)
        stopped.kill()
        stopped.communicate(timeout=30)
    trials = load(tmp_path, "hb").trials
    first = trials[original.number]
    assert first.state.name == "FAIL" and first.user_attrs["reason"] == STALE
    retry = next(t for t in trials if t.system_attrs.get("failed_trial") == original.number)
    assert retry.state.name == "COMPLETE" and retry.params == first.params
    children = {int(r.data.tags["nnexp.trial_number"]): r for r in runs(tmp_path, "hb",
                                                                         child=True)}
    assert children[first.number].info.status == "KILLED"
    assert children[first.number].data.tags["nnexp.reason"] == STALE
    linked = children[retry.number].data.tags
    assert linked["nnexp.retry_of"] == str(original.number)
    assert linked["nnexp.retry_of_run"] == children[first.number].info.run_id
    # the stopped invocation's parent run: closed by doctor now that its process is gone
    fixed = nnexp(tmp_path, "doctor", "hb", "--storage", storage, "--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "now KILLED" in fixed.stdout
    assert_nothing_running(tmp_path, "hb", load=load)


def test_a_database_outage_is_ridden_out_or_stops_with_one_message(tmp_path, pg_database):
    proxy, load, exp = _behind_proxy(tmp_path, pg_database, "out", n_trials=3)
    try:
        # a 3 s outage mid-trial: retried with backoff, the study completes
        proc = start(tmp_path, "search", str(exp), "--quiet")
        wait_running(tmp_path, "out", load=load)
        proxy.stop()
        time.sleep(3)
        proxy.start()
        output, _ = proc.communicate(timeout=180)
        assert proc.returncode == 0, output
        trials, _ = assert_nothing_running(tmp_path, "out", load=load)
        assert [t.state.name for t in trials] == ["COMPLETE"] * 3  # nothing recorded twice
        assert len(runs(tmp_path, "out", child=True)) == 3

        # an outage longer than the bound: one message, exit 2, within the bound
        proc = start(tmp_path, "search", str(exp), "--quiet", "--n-trials", "2")
        in_flight = wait_running(tmp_path, "out", load=load)[0]
        wait_runs(tmp_path, "out", [in_flight.number])
        proxy.stop()
        output, error, took = exit_2_with_one_error(
            proc, time.monotonic(), "outage longer than the bound (8 s)", timeout=120)
        assert "did not answer for 8 s" in error, output
        assert "warning:" not in output, output
        assert took < 30, took
        child = next(r for r in runs(tmp_path, "out", child=True)
                     if r.data.tags["nnexp.trial_number"] == str(in_flight.number))
        assert child.info.status == "FAILED"
        parent = max(runs(tmp_path, "out", role="parent"), key=lambda r: r.info.start_time)
        assert parent.info.status == "FAILED" and parent.data.tags["nnexp.exit_code"] == "2"
    finally:
        proxy.stop()
    proxy.start()
    try:  # the database is back: the next invocation fails the trial in flight and goes on
        again = nnexp(tmp_path, "search", str(exp), "--quiet", "--n-trials", "1")
        assert again.returncode == 0, again.stdout + again.stderr
        trials, _ = assert_nothing_running(tmp_path, "out", load=load)
        assert trials[in_flight.number].state.name == "FAIL"
        assert trials[in_flight.number].user_attrs["state"] == "failed"  # as its run says
        assert "did not answer" in trials[in_flight.number].user_attrs["reason"]
        assert [t.state.name for t in trials].count("COMPLETE") == 4
        assert os.path.exists(tmp_path / "mlruns" / "mlflow.db")
    finally:
        proxy.stop()


def test_a_long_outage_stops_two_workers_with_one_message(tmp_path, pg_database):
    """``--jobs 2``: both workers lose the database; the invocation exits 2 with one message
    within the bound, and the next one finds both trials in flight and fails them."""
    proxy, load, exp = _behind_proxy(tmp_path, pg_database, "out2", n_trials=6)
    try:
        proc = start(tmp_path, "search", str(exp), "--quiet", "--jobs", "2")
        in_flight = wait_running(tmp_path, "out2", count=2, load=load)
        wait_runs(tmp_path, "out2", [t.number for t in in_flight])
        proxy.stop()
        output, error, took = exit_2_with_one_error(
            proc, time.monotonic(), "outage longer than the bound, 2 workers", timeout=120)
        assert "did not answer for 8 s" in error, output
        assert took < 40, took
        children = {r.data.tags["nnexp.trial_number"]: r for r in runs(tmp_path, "out2",
                                                                      child=True)}
        assert {children[str(t.number)].info.status for t in in_flight} == {"FAILED"}
        parent = next(iter(runs(tmp_path, "out2", role="parent")))
        assert parent.info.status == "FAILED" and parent.data.tags["nnexp.exit_code"] == "2"
    finally:
        proxy.stop()
    proxy.start()
    try:
        again = nnexp(tmp_path, "search", str(exp), "--quiet", "--n-trials", "1")
        assert again.returncode == 0, again.stdout + again.stderr
        trials, _ = assert_nothing_running(tmp_path, "out2", load=load)
        for t in in_flight:
            assert trials[t.number].state.name == "FAIL"
            assert "did not answer" in trials[t.number].user_attrs["reason"]
    finally:
        proxy.stop()
