"""End-to-end: ``nnexp search`` runs a real Optuna study and records it in a real MLflow store
(SQLite under mlruns/ in a temporary working directory)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from click.testing import CliRunner
from search_helpers import (
    client,
    diverging,
    pruned_second,
    runs,
    study,
    tracking_uri,
    write_experiment,
)

from nnexp.cli import main


def search(*args: str):
    result = CliRunner().invoke(main, ["search", *args, "--quiet"], catch_exceptions=False)
    return result


def test_study_trials_match_mlflow_runs_with_curves_tags_and_parent_summary(workdir):
    exp = write_experiment(workdir, tracking={"log_models": "best"})
    result = search(str(exp))
    assert result.exit_code == 0, result.output
    assert "best trials" in result.output and "nnexp ui tiny\n" in result.output

    trials = study(workdir, "tiny").trials
    children = runs(workdir, "tiny", child=True)
    assert len(trials) == 3 == len(children)
    parents = runs(workdir, "tiny", role="parent")
    assert len(parents) == 1
    parent = parents[0]
    c = client(workdir)
    for run in children:
        tags = run.data.tags
        assert tags["mlflow.parentRunId"] == parent.info.run_id
        assert tags["nnexp.state"] == "complete" and run.info.status == "FINISHED"
        for key in ("nnexp.study", "nnexp.sampler", "nnexp.pruner", "nnexp.seed",
                    "nnexp.dataset_fingerprint", "nnexp.version", "nnexp.trial_number"):
            assert tags[key], key
        history = c.get_metric_history(run.info.run_id, "1_accuracy/dev")
        assert sorted(m.step for m in history) == list(range(1, 7))
        assert run.info.run_name == f"trial-{tags['nnexp.trial_number']}"
        for key in ("final_dev_accuracy", "test_accuracy", "n_params", "train_seconds"):
            assert key in run.data.metrics, key
        for key in ("flops_per_epoch", "epochs_run", "best_epoch"):  # tags, not one-bar charts
            assert int(tags[f"nnexp.{key}"]) > 0 and key not in run.data.metrics, key
        assert "trial_number" not in run.data.metrics
        assert run.data.params["epochs"] == "6"
        artifacts = {a.path for a in c.list_artifacts(run.info.run_id)}
        assert "config.yaml" in artifacts

    best = max((t for t in trials), key=lambda t: t.value)
    assert parent.data.metrics["best_value"] == pytest.approx(best.value)
    assert parent.data.metrics["best_trial_number"] == best.number
    assert parent.data.metrics["trials_complete"] == 3
    parent_artifacts = {a.path for a in c.list_artifacts(parent.info.run_id)}
    assert "trials.csv" in parent_artifacts
    plots = {a.path for a in c.list_artifacts(parent.info.run_id, "plots")}
    assert "plots/optimization_history.png" in plots
    assert "plots/param_importances.png" in plots
    # the best model is registered and predicts from a DataFrame
    import mlflow
    import pandas as pd

    from nnexp.data import load_builtin

    mlflow.set_tracking_uri(tracking_uri(workdir))
    model = mlflow.pyfunc.load_model("models:/tiny/1")
    ds = load_builtin("moons", n_samples=240, noise=0.2, seed=0)
    out = model.predict(pd.DataFrame(ds.X, columns=ds.feature_names))
    assert (out["prediction"].to_numpy() == ds.y).mean() > 0.8


def test_resume_adds_trials_without_duplicating_runs(workdir):
    exp = write_experiment(workdir)
    assert search(str(exp)).exit_code == 0
    second = search(str(exp), "--n-trials", "2")
    assert second.exit_code == 0, second.output
    assert "resumed" in second.output
    trials = study(workdir, "tiny").trials
    assert [t.number for t in trials] == [0, 1, 2, 3, 4]
    children = runs(workdir, "tiny", child=True)
    assert sorted(int(r.data.tags["nnexp.trial_number"]) for r in children) == [0, 1, 2, 3, 4]
    parents = runs(workdir, "tiny", role="parent")
    assert sorted(r.data.tags["nnexp.invocation"] for r in parents) == ["1", "2"]


def test_diverging_learning_rate_is_a_diverged_trial_and_the_study_completes(workdir):
    exp = write_experiment(workdir, name="boom", **diverging("linear"))
    result = search(str(exp))
    assert result.exit_code == 0, result.output
    trials = study(workdir, "boom").trials
    states = {t.params["learning_rate"]: t for t in trials}
    bad = states[1.0e6]
    assert bad.state.name == "FAIL"
    assert bad.user_attrs["state"] == "diverged" and bad.user_attrs["epoch"] >= 1
    assert states[0.01].state.name == "COMPLETE"
    run = next(r for r in runs(workdir, "boom", child=True)
               if r.data.tags["nnexp.state"] == "diverged")
    assert run.info.status == "FAILED"
    assert "diverged at epoch" in run.data.tags["nnexp.reason"]


def test_pruned_trials_are_marked_with_their_epoch(workdir):
    exp = write_experiment(workdir, name="prune", **pruned_second([16], n_trials=2))
    assert search(str(exp)).exit_code == 0
    slow = study(workdir, "prune").trials[1]
    assert slow.state.name == "PRUNED"
    assert slow.user_attrs["state"] == "pruned" and slow.user_attrs["epoch"] == 2
    run = next(r for r in runs(workdir, "prune", child=True)
               if r.data.tags["nnexp.trial_number"] == "1")
    assert run.data.tags["nnexp.state"] == "pruned"
    assert run.data.tags["nnexp.pruned_epoch"] == "2"
    assert run.info.status == "FINISHED"  # MLflow's UI draws KILLED as a failure
    c = client(workdir)
    found = c.search_runs([run.info.experiment_id], filter_string="tags.nnexp.state = 'pruned'")
    assert [r.info.run_id for r in found] == [run.info.run_id]


def test_two_jobs_share_the_study_with_consistent_counts(workdir):
    exp = write_experiment(workdir, name="jobs", study={"n_trials": 4, "seed": 3, "pruner": "none"})
    result = search(str(exp), "--jobs", "2")
    assert result.exit_code == 0, result.output
    trials = study(workdir, "jobs").trials
    assert len(trials) == 4 and all(t.state.name == "COMPLETE" for t in trials)
    children = runs(workdir, "jobs", child=True)
    assert sorted(int(r.data.tags["nnexp.trial_number"]) for r in children) == [0, 1, 2, 3]
    workers = {t.user_attrs["worker"] for t in trials}
    assert len(workers) == 2
    threads = str(max(1, (os.cpu_count() or 1) // 2))
    assert {r.data.tags["nnexp.blas_threads"] for r in children} == {threads}


def test_retraining_a_trial_from_its_recorded_config_reproduces_its_metrics(workdir):
    exp = write_experiment(workdir, name="repro", study={"n_trials": 2, "seed": 5})
    assert search(str(exp)).exit_code == 0
    c = client(workdir)
    child = runs(workdir, "repro", child=True)[0]
    config = c.download_artifacts(child.info.run_id, "config.yaml", str(workdir))
    result = CliRunner().invoke(main, ["train", config, "--quiet"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    again = [r for r in runs(workdir, "repro") if r.data.tags.get("nnexp.role") == "train"]
    assert len(again) == 1
    for key in ("final_dev_accuracy", "final_dev_log_loss", "test_log_loss",
                "final_train_log_loss"):
        assert again[0].data.metrics[key] == child.data.metrics[key], key
    seed = study(workdir, "repro").trials[int(child.data.tags["nnexp.trial_number"])]
    assert str(seed.user_attrs["seed"]) == child.data.tags["nnexp.seed"]


def test_multi_objective_study_keeps_the_pareto_front(workdir):
    exp = write_experiment(workdir, name="pareto", objective=[
        {"metric": "dev_accuracy"}, {"metric": "n_params"}],
        study={"n_trials": 4, "seed": 0, "sampler": "nsga2"})
    result = search(str(exp))
    assert result.exit_code == 0, result.output
    assert "Pareto front" in result.output
    s = study(workdir, "pareto")
    front = s.best_trials
    assert front
    for t in front:  # nothing in the study dominates a front member
        assert not any(o.values[0] >= t.values[0] and o.values[1] <= t.values[1]
                       and o.values != t.values for o in s.trials if o.values)
    parent = runs(workdir, "pareto", role="parent")[0]
    assert parent.data.metrics["pareto_front_size"] == len(front)


def test_wrong_storage_url_is_a_clear_error_with_exit_code_2(workdir):
    exp = write_experiment(workdir)
    result = CliRunner().invoke(main, ["search", str(exp), "--storage", "nosuch://x"])
    assert result.exit_code == 2
    assert "storage URL 'nosuch://x'" in result.output and "--storage" in result.output
    assert "Traceback" not in result.output


def test_unreachable_postgres_storage_is_a_clear_error(workdir):
    exp = write_experiment(workdir)
    result = CliRunner().invoke(main, ["search", str(exp), "--storage",
                                       "postgresql://nobody@127.0.0.1:1/none"])
    assert result.exit_code == 2
    assert "Optuna storage" in result.output
    assert "Traceback" not in result.output


def test_wrong_tracking_uri_is_a_clear_error_and_records_nothing(workdir):
    exp = write_experiment(workdir)
    result = CliRunner().invoke(main, ["search", str(exp), "--tracking-uri", "bogus://nowhere"])
    assert result.exit_code == 2
    assert "tracking URI 'bogus://nowhere'" in result.output
    assert "Traceback" not in result.output


def test_changing_the_objective_of_an_existing_study_is_refused(workdir):
    exp = write_experiment(workdir)
    assert search(str(exp)).exit_code == 0
    write_experiment(workdir, objective={"metric": "dev_log_loss"})
    result = CliRunner().invoke(main, ["search", str(exp)])
    assert result.exit_code == 2
    assert "already exists" in result.output and "--study-name" in result.output
    assert len(study(workdir, "tiny").trials) == 3


def test_trial_seeds_depend_on_study_seed_and_number():
    from nnexp.config import trial_seed

    seeds = {trial_seed(1, n) for n in range(50)}
    assert len(seeds) == 50
    assert trial_seed(1, 3) == trial_seed(1, 3) != trial_seed(2, 3)
    assert np.iinfo(np.uint32).max >= max(seeds)


def test_long_trials_record_a_bounded_curve_with_first_and_last_epoch(workdir):
    exp = write_experiment(workdir, name="long", train={"epochs": 450, "batch_size": None},
                           study={"n_trials": 1, "seed": 0, "pruner": "none"})
    assert search(str(exp)).exit_code == 0
    run = runs(workdir, "long", child=True)[0]
    steps = [m.step for m in client(workdir).get_metric_history(run.info.run_id, "2_cost/train")]
    assert steps[0] == 1 and steps[-1] == 450
    assert len(steps) <= 201 and steps[1:-1] == list(range(3, 450, 3))
    assert run.data.tags["nnexp.epochs_run"] == "450"


def test_resume_fails_trials_left_running_by_a_dead_worker(workdir):
    import socket

    exp = write_experiment(workdir, name="orphan", study={"n_trials": 1, "seed": 0})
    assert search(str(exp)).exit_code == 0
    s = study(workdir, "orphan")
    left = s.ask()  # a trial whose worker process died without closing it
    left.set_user_attr("worker", f"{socket.gethostname()}:999999999")
    result = search(str(exp), "--n-trials", "1")
    assert result.exit_code == 0, result.output
    trials = {t.number: t for t in study(workdir, "orphan").trials}
    assert trials[left.number].state.name == "FAIL"
    assert trials[left.number].user_attrs["state"] == "interrupted"
    assert [t.state.name for t in trials.values()].count("COMPLETE") == 2


def test_a_study_on_a_real_postgresql_storage(workdir):
    import uuid

    import optuna

    url = "postgresql://postgres@127.0.0.1:5432/test"
    try:
        storage = optuna.storages.RDBStorage(url)
    except Exception as err:  # noqa: BLE001 - only a missing server skips
        pytest.skip(f"no PostgreSQL server at {url}: {err}")
    name = f"pg-{uuid.uuid4().hex[:8]}"
    exp = write_experiment(workdir, name="pg", study={"n_trials": 2, "seed": 0})
    try:
        result = search(str(exp), "--storage", url, "--study-name", name, "--jobs", "2")
        assert result.exit_code == 0, result.output
        trials = optuna.load_study(study_name=name, storage=storage).trials
        assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
        children = [r for r in runs(workdir, "pg", child=True)
                    if r.data.tags["nnexp.study"] == name]
        assert len(children) == 2
    finally:
        optuna.delete_study(study_name=name, storage=storage)
