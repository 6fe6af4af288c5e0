"""Fast unit tests of what CLI studies reach only in 10-second runs: the background MLflow
writer, keeping the best model, the progress line, the metric registry on real trained
models, why a study failed, and masking passwords."""

from __future__ import annotations

import io
import time
from types import SimpleNamespace

import numpy as np
import optuna
import pytest

from nnexp.errors import NnexpError, mask_url
from nnexp.tracking.states import STATUS, TrialState
from nnexp.tracking.writer import Writer, writing

optuna.logging.set_verbosity(optuna.logging.ERROR)


# -- the background writer ------------------------------------------------------------------

class Stop(BaseException):
    """A BaseException that is not an Exception (like SystemExit or GeneratorExit)."""


def test_writer_keeps_running_after_a_job_raises_an_exception_and_names_it():
    writer = Writer(announce=None)
    done = []

    def broken() -> None:
        raise RuntimeError("disk full")

    writer.submit(broken, description="log_batch for trial-3")
    writer.submit(done.append, 1)
    with pytest.raises(NnexpError, match="log_batch for trial-3: disk full"):
        writer.drain()
    assert done == [1]
    writer.close()


def test_writer_survives_a_base_exception_and_drain_does_not_block():
    writer = Writer(announce=None)
    done = []

    def stop() -> None:
        raise Stop("not an Exception")

    writer.submit(stop, description="set_terminated")
    writer.submit(done.append, 2)
    start = time.monotonic()
    with pytest.raises(NnexpError, match="set_terminated: not an Exception"):
        writer.drain()
    assert time.monotonic() - start < 5 and done == [2]
    writer.submit(done.append, 3)  # the thread is still alive
    writer.drain()
    assert done == [2, 3]
    writer.close()


def test_the_first_failure_is_announced_at_once_and_on_error_sees_it():
    heard, tagged = [], []
    writer = Writer(announce=heard.append)
    for _ in range(2):
        writer.submit(lambda: 1 / 0, description="log_artifacts config.yaml for trial-3",
                      on_error=tagged.append)
    assert writer.close(raise_errors=False) == [
        "log_artifacts config.yaml for trial-3: division by zero"] * 2
    assert len(heard) == 1 and "log_artifacts config.yaml for trial-3" in heard[0]
    assert tagged == ["log_artifacts config.yaml for trial-3: division by zero"] * 2


def test_close_runs_queued_jobs_stops_the_thread_and_is_idempotent():
    writer = Writer(announce=None)
    done = []
    for i in range(50):
        writer.submit(done.append, i)
    writer.close()
    assert done == list(range(50)) and not writer._thread.is_alive()
    writer.close()  # again: nothing to do
    with pytest.raises(RuntimeError, match="closed"):
        writer.submit(done.append, 0)


def test_a_keyboard_interrupt_wins_over_failed_writes(capsys):
    with pytest.raises(KeyboardInterrupt):
        with writing(announce=None) as writer:
            writer.submit(lambda: 1 / 0, description="log_batch for trial-7")
            for i in range(8, 30):  # a full disk: every later write fails too
                writer.submit(lambda: 1 / 0, description=f"log_batch for trial-{i}")
            raise KeyboardInterrupt
    err = capsys.readouterr().err
    assert "warning: MLflow write failed: log_batch for trial-7: division by zero " \
           "(and 22 more)" in err
    assert err.count("warning:") == 1  # one line, not one per failed write


def test_failed_writes_are_raised_when_the_block_succeeded():
    with pytest.raises(NnexpError, match="log_batch for trial-1"):
        with writing(announce=None) as writer:
            writer.submit(lambda: 1 / 0, description="log_batch for trial-1")


def test_a_failed_artifact_upload_is_tagged_and_the_run_still_ends(tmp_path):
    from nnexp.stores.tracking_store import connect, ensure_experiment
    from nnexp.tracking.runs import RunLogger

    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    client = connect(uri)
    exp = ensure_experiment(client, "t", uri)
    with writing(announce=None) as writer:
        run = RunLogger.start(client, exp, "trial-3", {}, writer=writer)
        run.artifact(tmp_path / "missing.yaml")  # a real failure: the file does not exist
        run.end("FINISHED")
        with pytest.raises(NnexpError, match="log_artifacts missing.yaml for trial-3"):
            writer.drain()
    got = client.get_run(run.run_id)
    assert got.info.status == "FINISHED"
    assert got.data.tags["nnexp.write_error"].startswith("log_artifacts missing.yaml for trial-3")


# -- states ---------------------------------------------------------------------------------

def test_trial_states_are_the_recorded_strings_with_their_mlflow_status():
    assert TrialState.PRUNED == "pruned" and f"{TrialState.DIVERGED}_epoch" == "diverged_epoch"
    assert {s.value: s.status for s in TrialState if s != TrialState.RUNNING} == {
        "complete": "FINISHED", "pruned": "FINISHED", "failed": "FAILED", "diverged": "FAILED",
        "interrupted": "KILLED"}
    assert set(STATUS) == set(TrialState)


# -- keeping the best model -----------------------------------------------------------------

def _objective(objective, log_models="best"):
    from nnexp.study.objective import Objective

    ctx = SimpleNamespace(
        experiment=SimpleNamespace(objective=objective,
                                   tracking=SimpleNamespace(log_models=log_models)),
        splits=SimpleNamespace(y_dev=np.zeros(3), task="binary"))
    return Objective(ctx, client=None)


def _study(directions, done, ties=None):
    study = optuna.create_study(directions=directions)
    for i, values in enumerate(done):
        attrs = {"dev_cost": ties[i]} if ties else {}
        study.add_trial(optuna.trial.create_trial(values=values, params={}, distributions={},
                                                  user_attrs=attrs))
    return study, study.ask()


@pytest.mark.parametrize("direction, done, mine, keep", [
    ("maximize", [[0.9], [0.7]], [0.95], True),
    ("maximize", [[0.9], [0.7]], [0.9], False),   # a tie at the same dev cost
    ("maximize", [[0.9], [0.7]], [0.8], False),
    ("maximize", [], [0.1], True),                # the first trial is the best so far
    ("minimize", [[0.3], [0.5]], [0.2], True),
    ("minimize", [[0.3], [0.5]], [0.4], False),
])
def test_keep_model_single_objective(direction, done, mine, keep):
    study, trial = _study([direction], done, ties=[0.5] * len(done))
    assert _objective([("m", direction)])._keep_model(trial, mine, 0.5) is keep


@pytest.mark.parametrize("tie, keep", [(0.09, True), (0.5, False), (0.7, False)])
def test_a_tie_on_the_objective_goes_to_the_lower_dev_cost(tie, keep):
    # trial 0 won a tie at 0.9701 with dev cost 0.50 against 0.09 for trial 12 (issue 19)
    study, trial = _study(["maximize"], [[0.9701], [0.9]], ties=[0.5, 0.1])
    assert _objective([("m", "maximize")])._keep_model(trial, [0.9701], tie) is keep


def test_the_ranking_breaks_ties_by_dev_cost_then_by_trial_number():
    from nnexp.tracking.summary import best_trials

    study, _ = _study(["maximize"], [[0.97], [0.97], [0.9], [0.97], [0.97]],
                      ties=[0.5, 0.09, 0.01, 0.09, 0.3])
    assert [t.number for t in best_trials(study, 5)] == [1, 3, 4, 0, 2]
    study, _ = _study(["minimize"], [[0.2], [0.2]])  # no dev cost recorded: by number
    assert [t.number for t in best_trials(study, 2)] == [0, 1]


@pytest.mark.parametrize("mine, keep", [
    ([0.85, 200], False),  # dominated by (0.9, 100)
    ([0.95, 10], True),    # dominates both
    ([0.85, 60], True),    # non-dominated: between the two
    ([0.9, 100], True),    # equal to a front member: not dominated
    ([0.8, 60], False),    # dominated by (0.8, 50)
])
def test_keep_model_pareto(mine, keep):
    study, trial = _study(["maximize", "minimize"], [[0.9, 100], [0.8, 50]])
    objective = _objective([("dev_accuracy", "maximize"), ("n_params", "minimize")])
    assert objective._keep_model(trial, mine, None) is keep


def test_keep_model_all_and_none():
    study, trial = _study(["maximize"], [[0.9]])
    assert _objective([("m", "maximize")], "all")._keep_model(trial, [0.1], None) is True
    assert _objective([("m", "maximize")], "none")._keep_model(trial, [0.99], None) is False


# -- progress -------------------------------------------------------------------------------

def _trials(*specs):
    """(state, value, user state) -> FrozenTrials numbered from 0."""
    study = optuna.create_study(direction="maximize")
    for state, value, nnexp_state in specs:
        study.add_trial(optuna.trial.create_trial(
            state=getattr(optuna.trial.TrialState, state), value=value,
            user_attrs={"state": nnexp_state} if nnexp_state else {}))
    return study.trials


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_counts_best_and_eta():
    from nnexp.study.progress import Progress

    trials = _trials(("COMPLETE", 0.8, "complete"), ("COMPLETE", 0.9, "complete"),
                     ("PRUNED", None, "pruned"), ("FAIL", None, "diverged"),
                     ("FAIL", None, "failed"), ("RUNNING", None, None))
    progress = Progress(1, 10, None, ["maximize"], stream=io.StringIO())
    progress.start -= 40  # 40 s elapsed, 4 of this invocation's 10 trials done
    line = progress.line(trials)
    assert line.startswith("trials 4/10 | running 1 | best 0.9 (trial 1) | pruned 1, failed 2")
    assert "elapsed 0:00:40, ETA 0:01:00" in line


def test_progress_eta_is_bounded_by_the_timeout_and_multi_objective_counts_candidates():
    from nnexp.study.progress import Progress

    study = optuna.create_study(directions=["maximize", "minimize"])
    study.add_trial(optuna.trial.create_trial(values=[0.9, 10]))
    progress = Progress(0, None, 30, ["maximize", "minimize"], stream=io.StringIO())
    progress.start -= 10.5
    line = progress.line(study.trials)
    assert "trials 1 |" in line and "Pareto candidates 1" in line and "ETA 0:00:19" in line


def test_progress_prints_changes_once_on_a_pipe_and_rewrites_in_place_on_a_tty(monkeypatch):
    from nnexp.study.progress import Progress

    monkeypatch.setenv("TERM", "xterm")  # TERM=dumb: plain lines on a terminal too

    trials = _trials(("COMPLETE", 0.8, "complete"))
    pipe = io.StringIO()
    progress = Progress(0, 3, None, ["maximize"], stream=pipe)
    progress.update(trials)
    progress.update(trials)  # same counts: no new line
    progress.update(_trials(("COMPLETE", 0.8, "complete"), ("COMPLETE", 0.7, "complete")))
    progress.close()
    lines = pipe.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("trials 1/3") and \
        lines[1].startswith("trials 2/3")
    tty = Tty()
    progress = Progress(0, 3, None, ["maximize"], stream=tty)
    progress.update(trials)
    progress.update(trials)
    progress.close()
    shown = tty.getvalue()  # a rich bar: drawn, rewritten in place, redrawn at close
    assert "1/3" in shown and shown.count("\r") == 2
    assert shown.replace("\033[?25h", "").endswith("\n")  # the cursor shown again


def test_quiet_progress_writes_nothing():
    from nnexp.study.progress import Progress

    stream = io.StringIO()
    progress = Progress(0, 3, None, ["maximize"], quiet=True, stream=stream)
    progress.update(_trials(("COMPLETE", 0.8, "complete")))
    progress.close()
    assert stream.getvalue() == ""


# -- the metric registry on real trained models ---------------------------------------------

def _dataset(task: str, m: int = 120):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(m, 3))
    if task == "regression":
        y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=m)
    else:
        k = 2 if task == "binary" else 3
        y = np.digitize(X[:, 0], np.quantile(X[:, 0], np.linspace(0, 1, k + 1)[1:-1]))
    a, b = m // 2, 3 * m // 4
    return SimpleNamespace(X_train=X[:a], y_train=y[:a], X_dev=X[a:b], y_dev=y[a:b],
                           X_test=X[b:], y_test=y[b:], task=task)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_every_registered_metric_resolves_on_a_trained_model(task):
    from nnexp.config import for_task
    from nnexp.config.metrics import METRICS
    from nnexp.core import TrainConfig, train
    from nnexp.study.objective import epoch_value, objective_value
    from nnexp.tracking.records import final_metrics

    data = _dataset(task)
    config = for_task(TrainConfig(hidden_layers=(4,), epochs=3, batch_size=32, seed=0), task)
    epochs = []
    result = train(data.X_train, data.y_train, config, data.X_dev, data.y_dev,
                   callbacks=[epochs.append])
    final = final_metrics(result, data)
    variance = float(np.var(data.y_dev)) if task == "regression" else 0.0
    claimed = [name for name, metric in METRICS.items() if task in metric.tasks]
    assert claimed
    for name in claimed:
        metric = METRICS[name]
        assert np.isfinite(objective_value(name, final)), name
        value = epoch_value(name, epochs[-1], variance)
        assert (value is None) == (metric.per_epoch is None), name
        if value is not None:
            assert np.isfinite(value), name
    assert objective_value("train_cost", final) == result.history[-1].train_cost
    if task == "regression":  # per-epoch r2 from rmse matches the final r2 after the last epoch
        assert epoch_value("dev_r2", epochs[-1], variance) == pytest.approx(
            final["final_dev_r2"], rel=1e-6)


def test_registry_keeps_direction_tasks_and_default_metric_for_config():
    from nnexp.config.metrics import METRICS, default_metric

    assert METRICS["dev_accuracy"].direction == "maximize"
    assert METRICS["dev_rmse"].tasks == ("regression",)
    assert default_metric("binary") == "dev_accuracy" and default_metric(None) == "dev_cost"


# -- why a study failed ---------------------------------------------------------------------

def test_failure_summary_names_the_most_common_reason_and_a_trial():
    from nnexp.study.runner import failure_summary

    trials = _trials(("FAIL", None, "diverged"), ("FAIL", None, "diverged"),
                     ("FAIL", None, "failed"))
    reasons = ["training diverged at epoch 3: cost is nan",
               "training diverged at epoch 5: cost is nan", "ValueError: boom"]
    for t, reason in zip(trials, reasons):
        t.user_attrs["reason"] = reason
    text = failure_summary(trials, lambda n: f"run{n}")
    assert text.startswith("none of the 3 trial(s) of this invocation completed")
    assert "most common reason (2 trial(s)): training diverged at epoch 5: cost is nan" in text
    assert "look at trial 1: MLflow run run1" in text


def test_failure_summary_is_none_when_a_trial_completed_or_was_pruned_or_none_ran():
    from nnexp.study.runner import failure_summary

    assert failure_summary([]) is None
    assert failure_summary(_trials(("FAIL", None, "failed"), ("PRUNED", None, "pruned"))) is None
    assert failure_summary(_trials(("FAIL", None, "failed"), ("COMPLETE", 1.0, "complete"))) \
        is None


@pytest.mark.parametrize("url, masked", [
    ("postgresql://user:secret@host:5432/db", "postgresql://user:***@host:5432/db"),
    ("postgresql+psycopg://u:p@ss@h/db?x=1", "postgresql+psycopg://u:***@h/db?x=1"),
    ("postgresql://user@host/db", "postgresql://user@host/db"),
    ("sqlite:///mlruns/mlflow.db", "sqlite:///mlruns/mlflow.db"),
    ("journal:/tmp/x", "journal:/tmp/x"),
])
def test_mask_url_hides_only_the_password(url, masked):
    assert mask_url(url) == masked


def test_tracking_is_a_leaf_over_mlflow_and_run_files_live_in_config():
    import re
    from pathlib import Path

    import nnexp

    root = Path(nnexp.__file__).parent
    pattern = re.compile(r"^\s*(from|import)\s+nnexp\.(study|execution|recovery|training|"
                         r"inspection|serving|stores|config|data|export)\b", re.M)
    for path in (root / "tracking").glob("*.py"):
        assert not pattern.search(path.read_text()), path
    assert not (root / "export" / "run_file.py").exists()
    writers = [p for p in root.rglob("*.py") if "def write_run_file" in p.read_text()]
    assert writers == [root / "config" / "run.py"]


def test_one_failed_state_rule():
    from nnexp.tracking.states import FAILED_STATES, TrialState, is_failed

    assert is_failed(TrialState.FAILED) and is_failed(TrialState.DIVERGED) and is_failed("fail")
    assert not any(is_failed(s) for s in (TrialState.COMPLETE, TrialState.PRUNED,
                                          TrialState.INTERRUPTED, TrialState.RUNNING))
    assert FAILED_STATES == {"failed", "diverged", "fail"}


def test_an_import_error_raised_from_a_ctrl_c_counts_as_the_interruption():
    from nnexp.execution.interrupt import caused_by_interrupt

    def import_interrupted():
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as err:  # what a compiled module's failed initialisation does
            raise ImportError("initialization failed") from err

    try:
        import_interrupted()
    except ImportError as err:
        assert caused_by_interrupt(err)
    assert caused_by_interrupt(KeyboardInterrupt())
    assert not caused_by_interrupt(ImportError("no module named x"))
    try:
        try:
            raise ValueError("a")
        except ValueError:
            raise ImportError("b")  # noqa: B904 - a context that is no interruption
    except ImportError as err:
        assert not caused_by_interrupt(err)
