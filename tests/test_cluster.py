"""One study, many workers: concurrent ``nnexp search`` processes on the journal and on
PostgreSQL with a real ``mlflow server``, and studies placed on a Dask ``LocalCluster`` (2
worker processes) with PostgreSQL, including a Dask worker killed mid-trial and Ctrl-C. Every
component is real; the PostgreSQL tests skip unless ``NNEXP_TEST_POSTGRES_URL`` is set."""

from __future__ import annotations

import os
import signal
import time

import pytest
from cluster_helpers import check_shared_study, mlflow_server, nnexp
from search_helpers import tracking_uri, write_experiment

from nnexp.recovery.workers import parse

SLOW = {"epochs": 300, "batch_size": 16, "optimizer": "adam"}  # ~1 s per trial


def _wait(procs, timeout: float = 300) -> list[tuple[int, str, str]]:
    out = []
    for proc in procs:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except Exception:
            proc.kill()
            raise
        out.append((proc.returncode, stdout, stderr))
    return out


def _storage(url: str):
    from nnexp.stores.study_storage import open_storage

    return open_storage(url)


def _study(url: str, name: str):
    import optuna

    return optuna.load_study(study_name=name, storage=_storage(url))


def _prepare_stores(storage_url: str | None, uri: str, experiment: str) -> None:
    """What a study-creation step does before workers start at once: the Optuna schema (Optuna
    creates its tables without a lock, so simultaneous first connections to an empty
    PostgreSQL database collide) and the MLflow store and experiment."""
    from nnexp.stores.tracking_store import connect, ensure_experiment

    if storage_url:
        _storage(storage_url)
    ensure_experiment(connect(uri), experiment, uri)


def test_four_processes_share_one_study_on_the_journal(workdir):
    exp = write_experiment(workdir, name="four", study={"n_trials": 10, "seed": 3})
    _prepare_stores(None, tracking_uri(workdir), "four")
    procs = [nnexp(["search", str(exp), "--n-trials", "10", "--quiet"], workdir)
             for _ in range(4)]
    for code, stdout, stderr in _wait(procs):
        assert code == 0, stdout + stderr
    study = _study(f"journal:{workdir / 'mlruns' / 'optuna.journal'}", "four")
    check_shared_study(study, tracking_uri(workdir), "four", expected=40, parents=4)


def test_four_processes_on_postgresql_and_an_mlflow_server(workdir, postgres_databases):
    """Four machines: the same command against one PostgreSQL study and one MLflow server
    (PostgreSQL backend, artifacts proxied to a directory)."""
    optuna_url, mlflow_url = postgres_databases(), postgres_databases()
    exp = write_experiment(workdir, name="fourpg", study={"n_trials": 10, "seed": 3})
    with mlflow_server(mlflow_url, workdir / "artifacts") as server:
        _prepare_stores(optuna_url, server, "fourpg")
        procs = [nnexp(["search", str(exp), "--n-trials", "10", "--quiet", "--storage",
                        optuna_url, "--tracking-uri", server], workdir) for _ in range(4)]
        for code, stdout, stderr in _wait(procs):
            assert code == 0, stdout + stderr
        study = _study(optuna_url, "fourpg")
        check_shared_study(study, server, "fourpg", expected=40, parents=4)
    assert list((workdir / "artifacts").rglob("config.yaml"))  # artifacts went to the server
    assert not (workdir / "mlruns").exists()  # nothing local: every record is shared


# --- Dask -----------------------------------------------------------------------------------

@pytest.fixture()
def dask_cluster():
    """A real Dask cluster on this machine: 2 worker processes (with nannies), 1 thread each."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1,
                                       dashboard_address=":0")
    client = distributed.Client(cluster)
    try:
        yield cluster, client
    finally:
        client.close()
        cluster.close()


def _dask_search(exp, workdir, url: str, address: str, *extra: str):
    return nnexp(["search", str(exp), "--storage", url, "--dask", address, "--quiet", *extra],
                 workdir)


def _wait_running(url: str, name: str, pids: set[int], proc, timeout: float = 120):
    """Wait until a trial of study ``name`` runs in one of the Dask worker processes ``pids``;
    returns (trial number, pid)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            trials = _study(url, name).get_trials(deepcopy=False)
        except KeyError:
            trials = []
        for t in trials:
            worker = parse(t.user_attrs.get("worker"))
            if t.state.name == "RUNNING" and worker is not None and worker.pid in pids and \
                    t.number >= 1:
                return t.number, worker.pid
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("no trial ran on a Dask worker in time")


def test_a_study_on_a_dask_cluster(workdir, postgres_url, dask_cluster):
    """One task with an enqueued baseline (the baseline is one of the 6 trials), then a
    resumption with the default: one task per worker thread (2)."""
    cluster, client = dask_cluster
    exp = write_experiment(workdir, name="dask", study={"n_trials": 6, "seed": 0},
                           baselines=[{"depth": 1, "width": 8, "learning_rate": 0.01}])
    proc = _dask_search(exp, workdir, postgres_url, cluster.scheduler_address, "--jobs", "1")
    [(code, stdout, stderr)] = _wait([proc])
    assert code == 0, stdout + stderr
    assert "SQLite file" in stderr and "MLflow server" in stderr  # the one-machine warning
    trials = check_shared_study(_study(postgres_url, "dask"), tracking_uri(workdir), "dask",
                                expected=6, parents=1)
    assert trials[0].params == {"depth": 1, "width": 8, "learning_rate": 0.01}
    [(code, stdout, stderr)] = _wait([_dask_search(exp, workdir, postgres_url,
                                                   cluster.scheduler_address, "--n-trials", "4")])
    assert code == 0, stdout + stderr
    trials = check_shared_study(_study(postgres_url, "dask"), tracking_uri(workdir), "dask",
                                expected=10, parents=2)
    pids = set(client.run(os.getpid).values())
    workers = {parse(t.user_attrs["worker"]).pid for t in trials[6:]}
    assert workers == pids  # the resumption ran a task on each Dask worker
    from search_helpers import runs

    children = runs(workdir, "dask", child=True)
    threads = {int(r.data.tags["nnexp.trial_number"]): r.data.tags["nnexp.blas_threads"]
               for r in children}
    assert {threads[n] for n in range(6, 10)} == {"1"}  # each worker has 1 thread


def test_a_dask_worker_killed_mid_trial(workdir, postgres_url, dask_cluster):
    """SIGKILL of a Dask worker process while it trains: the scheduler runs its task again
    (the nanny restarts the worker), the dead worker's trial is failed as interrupted, the
    invocation ends with the budget and nothing RUNNING in either store."""
    cluster, client = dask_cluster
    exp = write_experiment(workdir, name="killed", train=SLOW,
                           study={"n_trials": 6, "seed": 0, "pruner": "none"})
    pids = set(client.run(os.getpid).values())
    proc = _dask_search(exp, workdir, postgres_url, cluster.scheduler_address, "--jobs", "2")
    number, pid = _wait_running(postgres_url, "killed", pids, proc)
    time.sleep(0.3)
    os.kill(pid, signal.SIGKILL)
    [(code, stdout, stderr)] = _wait([proc], timeout=240)
    assert code == 0, stdout + stderr
    assert "Dask worker process(es) died" in stderr, stderr
    study = _study(postgres_url, "killed")
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    # a retried task runs what is left of the budget; it may start one more trial than the
    # budget when it races with the other task (at most jobs - 1)
    assert 6 <= len(trials) <= 7, sorted(trials)
    assert trials[number].state.name == "FAIL"
    assert trials[number].user_attrs["state"] == "interrupted"
    # failed by the Dask path (naming the process, host:pid:start) or by the orphan check
    # that every worker runs between trials (same host, the pid is gone), whichever is first
    reason = trials[number].user_attrs["reason"]
    named = reason.startswith("the Dask worker process ") and reason.endswith(" died") \
        and parse(reason.split()[4]).pid == pid
    assert named or reason == "worker process died (SIGKILL?)", reason
    assert [t.state.name for t in trials.values()].count("COMPLETE") == len(trials) - 1
    check_shared_study(study, tracking_uri(workdir), "killed", expected=len(trials), parents=1)


def test_ctrl_c_stops_the_dask_tasks(workdir, postgres_url, dask_cluster):
    cluster, client = dask_cluster
    exp = write_experiment(workdir, name="stopped", train=SLOW,
                           study={"n_trials": 40, "seed": 0, "pruner": "none"})
    pids = set(client.run(os.getpid).values())
    proc = _dask_search(exp, workdir, postgres_url, cluster.scheduler_address, "--jobs", "2")
    _wait_running(postgres_url, "stopped", pids, proc)
    proc.send_signal(signal.SIGINT)
    [(code, stdout, stderr)] = _wait([proc], timeout=120)
    assert code == 130, stdout + stderr
    deadline = time.monotonic() + 30
    while any(client.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(client.processing().values())  # no task left on the cluster
    study = _study(postgres_url, "stopped")
    done = len(study.trials)
    assert done < 40
    check_shared_study(study, tracking_uri(workdir), "stopped", expected=done, parents=1)
    time.sleep(2)
    assert len(_study(postgres_url, "stopped").trials) == done  # nothing ran afterwards


def test_dask_refuses_a_storage_other_machines_cannot_reach(workdir):
    exp = write_experiment(workdir, name="refused")
    for extra in ([], ["--storage", f"sqlite:///{workdir / 'o.db'}", "--jobs", "2"]):
        proc = nnexp(["search", str(exp), "--dask", "tcp://127.0.0.1:1", *extra], workdir)
        [(code, stdout, stderr)] = _wait([proc])
        assert code == 2, stdout + stderr
        assert "--storage postgresql://" in stderr and "Traceback" not in stderr
    assert not (workdir / "mlruns").exists() and not (workdir / "o.db").exists()


def test_dask_with_an_unreachable_scheduler_is_a_clear_error(workdir, postgres_url):
    exp = write_experiment(workdir, name="nosched")
    proc = nnexp(["search", str(exp), "--storage", postgres_url, "--dask", "tcp://127.0.0.1:1"],
                 workdir)
    [(code, stdout, stderr)] = _wait([proc], timeout=60)
    assert code == 2 and "cannot reach the Dask scheduler" in stderr, stdout + stderr
    assert not (workdir / "mlruns").exists()


def test_shared_filesystem_reads_the_mount_table(tmp_path):
    from nnexp.execution.dask_workers import shared_filesystem

    assert shared_filesystem(tmp_path) is None  # a local temporary directory
