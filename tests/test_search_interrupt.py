"""Ctrl-C during a study: the running trial is recorded as interrupted, MLflow runs are
closed, and the next invocation resumes the study. Runs ``nnexp search`` as a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import weakref

import pytest
from search_helpers import runs, study, write_experiment


def test_ctrl_c_records_the_running_trial_and_the_next_run_resumes(tmp_path):
    exp = write_experiment(
        tmp_path, name="slow",
        train={"epochs": 3000, "batch_size": 16, "optimizer": "adam"},
        study={"n_trials": 50, "seed": 0, "pruner": "none"})
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    command = [sys.executable, "-m", "nnexp.cli", "search", str(exp), "--quiet"]
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    journal = tmp_path / "mlruns" / "optuna.journal"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until one trial is done and the next is running
        if journal.exists():
            try:  # the journal is opened before the study is created in it
                trials = study(tmp_path, "slow").trials
            except KeyError:
                trials = []
            if any(t.state.name == "COMPLETE" for t in trials) and \
                    trials[-1].state.name == "RUNNING":
                break
        time.sleep(0.2)
    else:
        proc.kill()
        raise AssertionError("the study did not start in time")
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, output
    assert "interrupted" in output and "Traceback" not in output

    trials = study(tmp_path, "slow").trials
    assert not any(t.state.name == "RUNNING" for t in trials)
    stopped = [t for t in trials if t.user_attrs.get("state") == "interrupted"]
    assert len(stopped) == 1 and stopped[0].state.name == "FAIL"
    children = runs(tmp_path, "slow", child=True)
    assert len(children) == len(trials)
    assert not any(r.info.status == "RUNNING" for r in runs(tmp_path, "slow"))
    killed = [r for r in children if r.data.tags["nnexp.state"] == "interrupted"]
    assert len(killed) == 1 and killed[0].info.status == "KILLED"
    parent = runs(tmp_path, "slow", role="parent")[0]
    assert parent.info.status == "KILLED"

    before = len(trials)
    again = subprocess.run([*command, "--n-trials", "1"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "resumed" in again.stdout
    trials = study(tmp_path, "slow").trials
    assert len(trials) == before + 1 and trials[-1].state.name == "COMPLETE"
    assert len(runs(tmp_path, "slow", role="parent")) == 2


def test_first_ctrl_c_is_deferred_to_a_safe_point_and_the_second_is_immediate():
    import pytest

    from nnexp.execution.interrupt import Interrupt

    with Interrupt() as interrupt:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        assert interrupt.requested  # no KeyboardInterrupt yet: a flag for the next safe point
        with pytest.raises(KeyboardInterrupt):
            interrupt.check()
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_an_interruption_lost_in_a_garbage_collector_callback_still_ends_the_summary():
    # SIGTERM raised while the garbage collector runs a weakref callback (a thread pool's,
    # found hanging a summary that waited for its plots): Python prints that
    # KeyboardInterrupt and drops it; the record of the signal still ends the summary, and
    # the steps that close the records still run once the summary knows it was interrupted
    from nnexp.execution.interrupt import signalled, terminate_as_interrupt
    from nnexp.study.runner import _Outcome, _Steps

    class Held:
        pass

    before = signal.getsignal(signal.SIGTERM)
    restore = terminate_as_interrupt()
    try:
        assert not signalled()
        held = Held()
        weakref.finalize(held, signal.raise_signal, signal.SIGTERM)
        del held  # the callback runs, the KeyboardInterrupt raised in it is only printed
        assert signalled()
        outcome = _Outcome()
        steps = _Steps(outcome)
        with pytest.raises(KeyboardInterrupt):
            steps.attempt("read the study's trials", lambda: 1)
        outcome.interrupted = True
        assert steps.attempt("end the parent run", lambda: 2, closes=True) == 2
    finally:
        restore()
    assert signal.getsignal(signal.SIGTERM) is before and not signalled()


def test_in_the_summary_a_first_signal_waits_for_the_next_step_and_a_second_is_immediate():
    # a KeyboardInterrupt raised inside MLflow's code left a thread pool's worker started but
    # unregistered, which held the process at exit for ever: the summary's signals are
    # recorded and taken at its next step; a second one still interrupts at once
    from nnexp.execution.interrupt import deferred_interrupts, signalled
    from nnexp.study.runner import _Outcome, _Steps

    before = signal.getsignal(signal.SIGTERM)
    with deferred_interrupts():
        assert not signalled()
        signal.raise_signal(signal.SIGTERM)  # nothing raised here
        assert signalled()
        steps = _Steps(_Outcome())
        with pytest.raises(KeyboardInterrupt):
            steps.attempt("write the trials table", lambda: 1)
        assert steps.attempt("end the parent run", lambda: 2, closes=True) == 2
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before and not signalled()
