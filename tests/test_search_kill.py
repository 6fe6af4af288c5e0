"""Every exit path leaves consistent records: SIGKILL of a worker or of the main process,
SIGTERM (alone and with --jobs 2), Ctrl-C with --jobs 2. Real ``nnexp search`` processes;
both stores are read afterwards: no trial RUNNING in Optuna, no run RUNNING in MLflow, each
closed with the state that says what happened."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from fault_helpers import (
    SLOW_TRAIN,
    assert_nothing_running,
    env,
    nnexp,
    start,
    trials_of,
    wait_gone,
    wait_running,
    wait_runs,
    worker_pid,
)
from search_helpers import runs, study, write_experiment

from nnexp.execution.interrupt import ORPHANED
from nnexp.recovery.doctor import DIED, INVOCATION_DIED


def _child(found, number):
    return next(r for r in found if r.data.tags.get("nnexp.trial_number") == str(number))


def test_sigkill_of_a_worker_mid_trial_fails_its_trial_and_closes_its_run(tmp_path):
    exp = write_experiment(tmp_path, name="kw", train=SLOW_TRAIN,
                           study={"n_trials": 4, "seed": 0})
    proc = start(tmp_path, "search", str(exp), "--quiet", "--jobs", "2")
    running = wait_running(tmp_path, "kw", count=2)
    wait_runs(tmp_path, "kw", [t.number for t in running])
    pid = worker_pid(running[0])
    os.kill(pid, signal.SIGKILL)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2, output
    assert "1 worker process(es) exited with codes [-9]" in output and "Traceback" not in output
    trials, found = assert_nothing_running(tmp_path, "kw")
    dead = [t for t in trials if worker_pid(t) == pid and t.state.name != "COMPLETE"]
    assert len(dead) == 1  # the trial the worker was running when it was killed
    dead = dead[0]
    assert dead.state.name == "FAIL" and dead.user_attrs["state"] == "interrupted"
    assert dead.user_attrs["reason"] == DIED
    child = _child(found, dead.number)
    assert child.info.status == "KILLED" and child.data.tags["nnexp.reason"] == DIED
    assert nnexp(tmp_path, "doctor").returncode == 0


def test_sigkill_of_the_main_process_is_closed_by_doctor_and_by_the_next_invocation(tmp_path):
    exp = write_experiment(tmp_path, name="km", train=SLOW_TRAIN,
                           study={"n_trials": 20, "seed": 0})
    proc = start(tmp_path, "search", str(exp), "--quiet")
    running = wait_running(tmp_path, "km")[0]
    wait_runs(tmp_path, "km", [running.number])
    proc.kill()
    proc.wait(30)
    # its worker notices and records its trial in Optuna (the main process, which performs
    # its MLflow writes, is gone: the runs stay RUNNING until doctor or the next invocation)
    assert wait_gone([worker_pid(running)], timeout=30) < 10
    trial = study(tmp_path, "km").trials[running.number]
    assert trial.state.name == "FAIL" and trial.user_attrs["reason"] == ORPHANED
    report = nnexp(tmp_path, "doctor", "km")  # reports only
    assert report.returncode == 1, report.stdout + report.stderr
    assert "found: parent run" in report.stdout and "found: trial run" in report.stdout
    fixed = nnexp(tmp_path, "doctor", "km", "--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    trials, found = assert_nothing_running(tmp_path, "km")
    child = _child(found, running.number)
    assert child.info.status == "KILLED" and child.data.tags["nnexp.state"] == "interrupted"
    assert child.data.tags["nnexp.reason"] == ORPHANED
    parent = next(r for r in found if r.data.tags.get("nnexp.role") == "parent")
    assert parent.info.status == "KILLED" and parent.data.tags["nnexp.reason"] == INVOCATION_DIED
    assert parent.data.tags["nnexp.pid"] == str(proc.pid) and parent.data.tags["nnexp.pid_start"]
    assert nnexp(tmp_path, "doctor").returncode == 0

    # with --jobs 2 the workers notice that their main process is gone and stop
    proc = start(tmp_path, "search", str(exp), "--quiet", "--jobs", "2")
    running = wait_running(tmp_path, "km", count=2)
    wait_runs(tmp_path, "km", [t.number for t in running])
    pids = [worker_pid(t) for t in running]
    proc.kill()
    proc.wait(30)
    took = wait_gone(pids, timeout=30)
    assert took < 10, took
    again = nnexp(tmp_path, "search", str(exp), "--quiet", "--n-trials", "1")
    assert again.returncode == 0, again.stdout + again.stderr
    # the two trial runs were ended by what their workers kept in their outbox (the
    # interruption, as the workers recorded it); the dead parent run is closed
    assert "recorded 2 MLflow run(s) that a process which died had kept" in again.stderr
    assert "closed 1 record(s) left open by a process that died" in again.stderr
    trials, found = assert_nothing_running(tmp_path, "km")
    parents = sorted((r for r in found if r.data.tags.get("nnexp.role") == "parent"),
                     key=lambda r: r.info.start_time)
    assert [p.info.status for p in parents] == ["KILLED", "KILLED", "FINISHED"]
    stopped = [trials[t.number] for t in running]
    assert all(t.state.name == "FAIL" and t.user_attrs["reason"] == ORPHANED for t in stopped)
    assert {_child(found, t.number).info.status for t in stopped} == {"KILLED"}


def _terminate(tmp_path, name, jobs, sig):
    exp = write_experiment(tmp_path, name=name, train=SLOW_TRAIN,
                           study={"n_trials": 40, "seed": 0})
    proc = start(tmp_path, "search", str(exp), "--quiet", "--jobs", str(jobs))
    running = wait_running(tmp_path, name, count=jobs)
    pids = [worker_pid(t) for t in running]
    wait_runs(tmp_path, name, [t.number for t in running])
    sent = time.monotonic()
    proc.send_signal(sig)  # to the main process only, not its process group
    output, _ = proc.communicate(timeout=60)
    took = time.monotonic() - sent
    assert proc.returncode == 130, output
    assert "Traceback" not in output
    wait_gone([p for p in pids if p != proc.pid], timeout=5)
    trials, found = assert_nothing_running(tmp_path, name)
    stopped = [t for t in trials if t.user_attrs.get("state") == "interrupted"]
    assert sorted(t.number for t in stopped) == sorted(t.number for t in running)
    assert all(t.state.name == "FAIL" for t in stopped)
    assert {_child(found, t.number).info.status for t in stopped} == {"KILLED"}
    parent = next(r for r in found if r.data.tags.get("nnexp.role") == "parent")
    assert parent.info.status == "KILLED" and parent.data.tags["nnexp.exit_code"] == "130"
    assert len(trials) < 40
    return took, stopped


def test_sigterm_is_handled_like_ctrl_c(tmp_path):
    took, stopped = _terminate(tmp_path, "term", 1, signal.SIGTERM)
    # the main process received it and asked its worker to stop (--jobs 1 is one worker too)
    assert stopped[0].user_attrs["reason"] == "the invocation was interrupted (Ctrl-C or SIGTERM)"
    assert took < 10, took


def test_sigterm_with_two_jobs_is_forwarded_and_exits_within_seconds(tmp_path):
    took, stopped = _terminate(tmp_path, "term2", 2, signal.SIGTERM)
    print(f"SIGTERM with --jobs 2: exit after {took:.2f} s")
    assert took < 10, took
    assert {t.user_attrs["reason"] for t in stopped} == \
        {"the invocation was interrupted (Ctrl-C or SIGTERM)"}


def test_ctrl_c_with_two_jobs_is_forwarded_and_exits_within_seconds(tmp_path):
    took, _ = _terminate(tmp_path, "int2", 2, signal.SIGINT)
    print(f"Ctrl-C with --jobs 2: exit after {took:.2f} s")
    assert took < 10, took
    assert len(runs(tmp_path, "int2", role="parent")) == 1


def test_ctrl_c_while_the_worker_starts_neither_hangs_nor_leaves_anything_running(tmp_path):
    # a terminal's Ctrl-C reaches the whole process group, the starting worker included: it
    # dies before it has read its context, which must not leave its main process waiting
    exp = write_experiment(tmp_path, name="early", train=SLOW_TRAIN,
                           study={"n_trials": 4, "seed": 0})
    for delay in (0.3, 0.6, 0.9, 1.2, 1.6):
        proc = subprocess.Popen([sys.executable, "-m", "nnexp.cli", "search", str(exp),
                                 "--quiet"], cwd=tmp_path, env=env(), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGINT)
        try:
            output, _ = proc.communicate(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"Ctrl-C {delay} s after the start: no exit in 90 s") from None
        # 130, or killed by the SIGINT itself while Python was still starting (a shell shows
        # 130 for both)
        assert proc.returncode in (130, -signal.SIGINT), (delay, output)
        assert "Traceback" not in output, (delay, output)
    trials = trials_of(tmp_path, "early")
    assert not any(t.state.name == "RUNNING" for t in trials)
    if (tmp_path / "mlruns" / "mlflow.db").exists():
        assert not any(r.info.status == "RUNNING" for r in runs(tmp_path, "early"))
