"""Nothing a trial recorded is lost when any one process dies (issue 18), on the real stores.

A worker keeps every MLflow write in its outbox (``nnexp.tracking.outbox``) before it goes
down the pipe to the main process; the next invocation of the same command and ``nnexp
doctor --fix`` perform what a dead invocation kept, exactly once. Real ``nnexp search``
processes with many short trials, so that Optuna runs ahead of MLflow ("the writes lag"),
killed with SIGKILL: the main process (journal and SQLite, and PostgreSQL for both stores),
the worker, both; a recovery itself killed part way; a disk that fills while the outbox is
written. Afterwards, in both stores: every trial complete in Optuna has exactly one MLflow
run with its final metrics and its config.yaml, each metric once; no trial or run RUNNING.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from fault_helpers import nnexp, start, tmpfs, wait_gone, wait_running, worker_pid
from search_helpers import study, tracking_uri, write_experiment

from nnexp.recovery.doctor import DIED
from nnexp.tracking.outbox import outbox_root

FAST = {  # ~0.1 s a trial: the worker runs far ahead of the main process's MLflow writes
    "dataset": {"name": "iris", "dev_size": 0.25, "test_size": 0.2, "seed": 0},
    "search_space": {"parameters": {
        "hidden_layers": [8],
        "learning_rate": {"type": "float", "low": 0.003, "high": 0.05, "log": True}}},
    "train": {"epochs": 5, "batch_size": 32, "optimizer": "adam"},
    "tracking": {"log_models": "none"},
}


def _experiment(directory: Path, name: str, n_trials: int = 1000, epochs: int = 5) -> Path:
    return write_experiment(directory, name=name, **{
        **FAST, "train": {**FAST["train"], "epochs": epochs}}, study={
        "n_trials": n_trials, "seed": 1, "pruner": "none", "sampler": "random"})


class Stores:
    """A test's two stores: the default files of ``directory`` (journal and SQLite), or the
    PostgreSQL databases ``storage`` (Optuna) and ``tracking`` (MLflow)."""

    def __init__(self, directory: Path, storage: str | None = None,
                 tracking: str | None = None) -> None:
        self.directory, self.storage, self.tracking = directory, storage, tracking
        self.uri = tracking or tracking_uri(directory)
        self.args = [*(["--storage", storage] if storage else []),
                     *(["--tracking-uri", tracking] if tracking else [])]

    def load(self, directory, name):
        """The study (``fault_helpers``' loader signature)."""
        if self.storage is None:
            return study(directory, name)
        if not _count(self.storage, "SELECT count(*) FROM trials"):
            raise KeyError(name)  # not created yet: Optuna would create the tables meanwhile
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        return optuna.load_study(study_name=name, storage=self.storage)

    def trials(self, name: str) -> list:
        try:
            return self.load(self.directory, name).trials
        except (KeyError, FileNotFoundError):
            return []

    def trial_runs(self) -> int:
        """How many trial runs MLflow holds (read without MLflow, whose client would create or
        migrate a store that nnexp is still creating)."""
        return _count(self.uri, "SELECT count(*) FROM tags WHERE key = 'nnexp.trial_number'")

    def client(self):
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.uri)

    def search(self, exp: Path, *args: str) -> subprocess.Popen:
        return start(self.directory, "search", str(exp), "--quiet", *self.args, *args)

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return nnexp(self.directory, *args, *self.args, timeout=timeout)

    def outboxes(self) -> list[Path]:
        """The invocations' outbox folders (for a database store: in this test's cache)."""
        root = outbox_root(self.uri)
        return sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []

    def complete(self, name: str) -> int:
        return sum(t.state.name == "COMPLETE" for t in self.trials(name))


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """The outboxes of a database store live in the user's cache: this test's own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _count(url: str, query: str) -> int:
    """``query``'s number, 0 while the database or its table does not exist yet."""
    import sqlalchemy

    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        return 0
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.NullPool)
    try:
        with engine.connect() as connection:
            return connection.execute(sqlalchemy.text(query)).scalar() or 0
    except sqlalchemy.exc.SQLAlchemyError:
        return 0
    finally:
        engine.dispose()


def _rows(url: str, query: str) -> list[tuple]:
    """``query``'s rows, read without MLflow (after every process is gone)."""
    import sqlalchemy

    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.NullPool)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(sqlalchemy.text(query))]
    finally:
        engine.dispose()


def _wait(condition, what: str, proc: subprocess.Popen | None = None, timeout: float = 240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"nnexp exited ({proc.returncode}) before {what}: "
                                 f"{proc.communicate()[0]}")
        time.sleep(0.1)
    raise AssertionError(f"{what}: not seen within {timeout} s")


def _started(stores: Stores, proc: subprocess.Popen) -> None:
    """Wait until the main process has written its first trial run."""
    _wait(lambda: stores.trial_runs() >= 1, "the first MLflow trial run", proc)


def _workers(stores: Stores, name: str) -> set[int]:
    return {worker_pid(t) for t in stores.trials(name) if "worker" in t.user_attrs}


def _finished(stores: Stores) -> int:
    return _count(stores.uri, "SELECT count(*) FROM runs r JOIN tags t ON t.run_uuid = "
                  "r.run_uuid WHERE t.key = 'nnexp.trial_number' AND r.status = 'FINISHED'")


def _lagging(stores: Stores, name: str, proc: subprocess.Popen, ahead: int = 5) -> None:
    """Once the main process writes, stop it (SIGSTOP: a main process that cannot keep up)
    until Optuna holds ``ahead`` complete trials more than MLflow holds finished runs (the
    worker goes on until the pipe to the main process is full: ~14 of these trials)."""
    _started(stores, proc)
    os.kill(proc.pid, signal.SIGSTOP)
    _wait(lambda: stores.complete(name) >= _finished(stores) + ahead,
          f"Optuna {ahead} trials ahead of MLflow")


def _ahead(stores: Stores, name: str) -> None:
    """Optuna is ahead of MLflow: trials complete there whose run is not finished."""
    complete, finished = stores.complete(name), _finished(stores)
    print(f"killed: {complete} trials complete in Optuna, {finished} runs finished in MLflow")
    assert complete > finished, (complete, finished)
    assert stores.outboxes(), "the dead invocation left no outbox"


def _kill_main(stores: Stores, name: str, proc: subprocess.Popen) -> None:
    """SIGKILL the main process while its writes lag; its worker then stops by itself."""
    _lagging(stores, name, proc)
    proc.kill()
    proc.communicate(timeout=60)
    wait_gone(_workers(stores, name), timeout=60)
    _ahead(stores, name)


def _started_runs(stores: Stores) -> set[str]:
    """The trial numbers whose run's creation the outboxes keep."""
    from nnexp.tracking.outbox import SUFFIX, read_records

    return {op[3].get("nnexp.trial_number") for folder in stores.outboxes()
            for path in folder.glob(f"*{SUFFIX}") for _, _, op in read_records(path)
            if op[0] == "create"}


def _freeze_mid_trial(stores: Stores, name: str, attempts: int = 50) -> tuple[int, int]:
    """Stop the worker (SIGSTOP) while a trial of it is RUNNING and its run's creation is
    kept in its outbox; returns (trial number, worker pid)."""
    for _ in range(attempts):
        trial = wait_running(stores.directory, name, load=stores.load, timeout=240)[0]
        pid = worker_pid(trial)
        os.kill(pid, signal.SIGSTOP)
        # a stopped worker ends nothing: it is mid-trial
        if stores.trials(name)[trial.number].state.name == "RUNNING" and \
                str(trial.number) in _started_runs(stores):
            return trial.number, pid
        os.kill(pid, signal.SIGCONT)
    raise AssertionError(f"no trial seen RUNNING with its run started in {attempts} attempts")


def check_records(stores: Stores, name: str, every_trial: bool = True) -> dict:
    """Both stores of study ``name`` are whole and agree: no trial and no run RUNNING; at most
    one run per trial (``every_trial``: exactly one); each complete trial's run FINISHED from
    the trial's own record (not remade from Optuna), with its final metrics and config.yaml;
    every metric point once. Returns the runs by trial number."""
    trials = stores.trials(name)
    assert trials
    assert not [t.number for t in trials if t.state.name == "RUNNING"], "Optuna RUNNING"
    client = stores.client()
    experiment = client.get_experiment_by_name(name)
    found = client.search_runs([experiment.experiment_id], max_results=50000)
    assert not [(r.info.run_name, r.data.tags.get("nnexp.role")) for r in found
                if r.info.status == "RUNNING"], "MLflow RUNNING"
    mine = [r for r in found if r.data.tags.get("nnexp.study") == name
            and "nnexp.trial_number" in r.data.tags]
    counts = collections.Counter(int(r.data.tags["nnexp.trial_number"]) for r in mine)
    assert [n for n, k in counts.items() if k > 1] == [], "a trial with two runs"
    runs = {int(r.data.tags["nnexp.trial_number"]): r for r in mine}
    assert set(runs) <= {t.number for t in trials}
    if every_trial:
        assert sorted(runs) == [t.number for t in trials]
    twice = _rows(stores.uri, "SELECT run_uuid, key, step FROM metrics "
                              "GROUP BY run_uuid, key, step HAVING count(*) > 1")
    assert twice == [], f"metric points written twice: {twice[:5]}"
    for t in trials:
        run = runs.get(t.number)
        if t.state.name != "COMPLETE":  # both stores say it did not complete
            assert run is None or (run.info.status in ("KILLED", "FAILED") and
                                   run.data.tags["nnexp.state"] != "complete"), t.number
            continue
        assert run is not None, f"complete trial {t.number} has no MLflow run"
        where = f"trial {t.number}, run {run.info.run_id}"
        assert run.info.status == "FINISHED" and run.data.tags["nnexp.state"] == "complete", \
            where
        assert run.data.tags.get("nnexp.recovered") != "optuna", where
        assert run.data.metrics["final_dev_accuracy"] == pytest.approx(t.value), where
        artifacts = Path(run.info.artifact_uri.removeprefix("file://"))  # this machine's
        assert (artifacts / "config.yaml").is_file(), where
    return runs
def _recovered(stores: Stores, name: str, exp: Path) -> dict:
    """The same command again, then ``nnexp doctor --fix``: everything whole, nothing left
    for doctor, no outbox left."""
    again = stores.run("search", str(exp), "--quiet", "--n-trials", "1")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Traceback" not in again.stderr
    fixed = stores.run("doctor", name, "--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    runs = check_records(stores, name)
    report = stores.run("doctor", name)
    assert report.returncode == 0 and "ok: nothing left running" in report.stdout, \
        report.stdout + report.stderr
    assert stores.outboxes() == []
    return runs


def _postgresql(tmp_path, request) -> Stores:
    databases = request.getfixturevalue("postgres_databases")
    return Stores(tmp_path, storage=databases(), tracking=databases())


# --- 1. the main process killed while its writes lag ---------------------------------------

def test_main_process_killed_while_its_writes_lag_on_the_default_files(tmp_path):
    stores = Stores(tmp_path)
    exp = _experiment(tmp_path, "lag")
    _kill_main(stores, "lag", stores.search(exp))
    # before anything is fixed, doctor reports what the dead invocation kept
    report = stores.run("doctor", "lag")
    assert report.returncode == 1, report.stdout + report.stderr
    assert "found: outbox" in report.stdout
    assert "MLflow write(s) kept by an invocation whose processes died" in report.stdout
    assert "trial(s) over in Optuna have no MLflow run" in report.stdout
    assert len(stores.outboxes()) == 1  # reporting changed nothing
    runs = _recovered(stores, "lag", exp)
    assert any(r.data.tags.get("nnexp.recovered") == "outbox" for r in runs.values())


def test_main_process_killed_while_its_writes_lag_on_postgresql(tmp_path, request):
    stores = _postgresql(tmp_path, request)
    exp = _experiment(tmp_path, "lagpg")
    _kill_main(stores, "lagpg", stores.search(exp))
    runs = _recovered(stores, "lagpg", exp)
    assert any(r.data.tags.get("nnexp.recovered") == "outbox" for r in runs.values())


def test_doctor_alone_performs_a_dead_invocations_outbox(tmp_path):
    stores = Stores(tmp_path)
    exp = _experiment(tmp_path, "alone", n_trials=200)
    _kill_main(stores, "alone", stores.search(exp))
    fixed = stores.run("doctor", "alone", "--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "fixed: outbox" in fixed.stdout
    check_records(stores, "alone")
    assert stores.outboxes() == []


# --- 2. a worker killed mid-trial; the main process and its worker killed ------------------

def _killed_trial(stores: Stores, name: str, number: int, runs: dict) -> None:
    """The trial a killed worker was running: failed as died, its run KILLED; or, when the
    worker died after its record was kept but before Optuna was told, complete as its run
    recorded (``check_records`` checked that record)."""
    trial, run = stores.trials(name)[number], runs[number]
    if trial.state.name == "COMPLETE":
        print(f"trial {number}: its record was kept before the kill; complete in both stores")
        return
    assert trial.state.name == "FAIL" and trial.user_attrs["reason"] == DIED
    assert run.info.status == "KILLED" and run.data.tags["nnexp.reason"] == DIED


def _lagging_search_frozen_mid_trial(stores: Stores, name: str):
    """A search whose MLflow writes lag, its worker frozen mid-trial: (experiment, the main
    process, the trial's number, the worker's pid)."""
    exp = _experiment(stores.directory, name)
    proc = stores.search(exp)
    _lagging(stores, name, proc)
    number, pid = _freeze_mid_trial(stores, name)
    return exp, proc, number, pid


def test_worker_killed_mid_trial_while_the_writes_lag(tmp_path):
    stores = Stores(tmp_path)
    exp, proc, number, pid = _lagging_search_frozen_mid_trial(stores, "wk")
    os.kill(pid, signal.SIGKILL)
    os.kill(proc.pid, signal.SIGCONT)
    output, _ = proc.communicate(timeout=600)
    assert proc.returncode == 2, output
    assert "1 worker process(es) exited with codes [-9]" in output and "Traceback" not in output
    check_records(stores, "wk")  # the main process wrote the lagging runs, closed the killed
    runs = _recovered(stores, "wk", exp)
    _killed_trial(stores, "wk", number, runs)


def test_main_process_and_its_worker_killed_while_the_writes_lag(tmp_path):
    stores = Stores(tmp_path)
    exp, proc, number, pid = _lagging_search_frozen_mid_trial(stores, "both")
    os.kill(pid, signal.SIGKILL)
    proc.kill()
    proc.communicate(timeout=60)
    wait_gone([pid], timeout=60)
    _ahead(stores, "both")
    runs = _recovered(stores, "both", exp)
    _killed_trial(stores, "both", number, runs)


def test_a_trial_recorded_whole_but_not_told_to_optuna_gets_its_recorded_outcome(tmp_path):
    # the worker died after its run's end was kept (and written) and before Optuna was told
    # the trial's end: doctor --fix gives the trial the outcome its run recorded
    stores = Stores(tmp_path)
    exp = _experiment(tmp_path, "told", n_trials=1)
    done = stores.run("search", str(exp), "--quiet")
    assert done.returncode == 0, done.stdout + done.stderr
    dead = subprocess.run([sys.executable, "-c", "from nnexp.recovery import workers; "
                           "print(workers.current())"], capture_output=True, text=True,
                          check=True).stdout.strip()
    study_ = stores.load(tmp_path, "told")
    trial = study_.ask()
    trial.set_user_attr("worker", dead)
    client = stores.client()
    [parent] = [r for r in client.search_runs([client.get_experiment_by_name(
        "told").experiment_id]) if r.data.tags.get("nnexp.role") == "parent"]
    run = client.create_run(parent.info.experiment_id, run_name=f"trial-{trial.number}", tags={
        "nnexp.study": "told", "nnexp.trial_number": str(trial.number),
        "nnexp.state": "complete", "mlflow.parentRunId": parent.info.run_id})
    client.log_metric(run.info.run_id, "objective", 0.875)
    client.set_terminated(run.info.run_id, "FINISHED")
    fixed = stores.run("doctor", "told", "--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "now COMPLETE, as its MLflow run recorded" in fixed.stdout, fixed.stdout
    told = stores.trials("told")[trial.number]
    assert told.state.name == "COMPLETE" and told.value == 0.875


# --- 3. a recovery killed while it writes --------------------------------------------------

DYING = """
import os, signal, sys
from pathlib import Path

from mlflow import MlflowClient

from nnexp.stores.tracking_store import checkpoint, ensure_experiment
from nnexp.tracking.outbox import recover

root, uri, method, after = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])


class Dying:
    # an MlflowClient that dies (SIGKILL) at its after-th call of method: once it is done
    # for create_run (a run created, nothing in it), before it is done for the others
    def __init__(self, client):
        self._client, self._calls = client, 0

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if name != method:
            return attr

        def call(*args, **kwargs):
            self._calls += 1
            if self._calls == after and method != "create_run":
                os.kill(os.getpid(), signal.SIGKILL)
            out = attr(*args, **kwargs)
            if self._calls == after:
                os.kill(os.getpid(), signal.SIGKILL)
            return out

        return call


client = Dying(MlflowClient(tracking_uri=uri))
recover(Path(root), client, lambda name: ensure_experiment(client, name, uri), checkpoint)
sys.exit(3)  # every record was written before the after-th call
"""


def test_a_recovery_killed_while_it_writes_leaves_one_whole_run_per_trial(tmp_path):
    from nnexp.tracking.outbox import SUFFIX, read_records

    stores = Stores(tmp_path)
    exp = _experiment(tmp_path, "mid", epochs=50)  # fewer trials for each pass to write
    _kill_main(stores, "mid", stores.search(exp))
    [folder] = stores.outboxes()
    records = [op for path in folder.glob(f"*{SUFFIX}") for _, _, op in read_records(path)]
    kinds = collections.Counter(op[0] for op in records)
    # each pass goes through the records from the first again (a run already written is
    # found by its record id; one its own record ended is left as it is): it is killed just
    # after creating a run that the main process never wrote, before its second log_batch of
    # a run left half written, before the first end it would write
    assert kinds["batch"] > 4 and kinds["end"] > 4
    for method, after in (("create_run", 2), ("log_batch", 2), ("set_terminated", 1)):
        before = stores.trial_runs()
        done = subprocess.run([sys.executable, "-c", DYING, str(stores.outboxes()[0].parent),
                               stores.uri, method, str(after)], cwd=tmp_path,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == -signal.SIGKILL, (method, done.stdout + done.stderr)
        assert stores.outboxes() == [folder], method  # killed before it was done
        assert stores.trial_runs() >= before, method
    fixed = stores.run("doctor", "mid", "--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    runs = check_records(stores, "mid")
    assert stores.outboxes() == []
    assert sum(r.data.tags.get("nnexp.recovered") == "outbox" for r in runs.values()) >= 5


# --- 4. a full disk while the outbox is written --------------------------------------------

def _fill(directory: Path) -> Path:
    """Write a file in ``directory`` until its disk is full."""
    path = directory / "filler"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as err:
        assert err.errno == errno.ENOSPC, err
    finally:
        os.close(fd)
    return path


def _one_error(output: str) -> str:
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, output
    return errors[0]


def _attached(stores: Stores) -> bool:
    """Whether the main process has opened its parent run and performs the workers' writes
    (``main.json`` names the parent run)."""
    for folder in stores.outboxes():
        with contextlib.suppress(OSError, ValueError):
            if json.loads((folder / "main.json").read_text())["parent_run_id"]:
                return True
    return False


def test_a_full_disk_while_the_outbox_is_written_stops_without_losing_a_record(tmp_path):
    stores = Stores(tmp_path)
    exp = _experiment(tmp_path, "full", n_trials=5000)  # the worker runs when the disk fills
    with tmpfs(tmp_path / "mlruns" / "outbox", "8m") as outbox:
        proc = stores.search(exp)
        _wait(lambda: _attached(stores), "the main process performing the writes", proc)
        filler = _fill(outbox)
        output, _ = proc.communicate(timeout=600)
        assert proc.returncode == 2, output
        error = _one_error(output)
        assert "cannot keep the MLflow record of trial-" in error, error
        assert "No space left on device" in error and "re-run the same command" in error
        # no trial was told to Optuna as complete without its whole record
        runs = check_records(stores, "full", every_trial=False)
        failed = [t.number for t in stores.trials("full") if t.state.name == "FAIL"]
        assert len(failed) == 1, failed  # the trial in flight
        assert failed[0] not in runs or runs[failed[0]].info.status == "FAILED"
        filler.unlink()
        _recovered(stores, "full", exp)


def test_a_full_disk_before_the_first_trial_is_refused_with_one_message(tmp_path):
    stores = Stores(tmp_path)
    exp = _experiment(tmp_path, "nospace", n_trials=5)
    with tmpfs(tmp_path / "mlruns" / "outbox", "64k") as outbox:
        filler = _fill(outbox)
        done = stores.run("search", str(exp), "--quiet")
        assert done.returncode == 2, done.stdout + done.stderr
        error = _one_error(done.stderr)
        assert "No space left on device" in error and str(outbox) in error, error
        assert not [t for t in stores.trials("nospace") if t.state.name == "COMPLETE"]
        filler.unlink()
        _recovered(stores, "nospace", exp)
