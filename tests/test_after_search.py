"""After a search, end to end through the CLI on one real study (a CSV with a categorical
column and string labels, a real MLflow SQLite store, a real journal): ``nnexp train`` from a
run id, ``train -o`` model directories, ``nnexp reproduce``, ``nnexp predict`` from a
registered model, a run and a directory, and the errors of each."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from search_helpers import (
    assert_user_error,
    client,
    invoke,
    pruned_second,
    runs,
    tracking_uri,
    write_experiment,
)

from nnexp.tracking.signals import LAYER_PREFIX

ROOT = Path(__file__).resolve().parents[1]


def _data(path: Path, n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=n), rng.normal(size=n)
    color = rng.choice(["red", "green", "blue"], size=n)
    label = np.where(a + b + 1.5 * (color == "red") > 0.5, "yes", "no")
    frame = pd.DataFrame({"a": a, "b": b, "color": color, "label": label})
    frame.to_csv(path, index=False)
    return frame


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    """One study: 4 trials on data.csv (baselines: a good one, and one the median pruner
    stops), the best model registered as 'cats'."""
    directory = tmp_path_factory.mktemp("after")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(directory)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        _data(directory / "data.csv")
        exp = write_experiment(
            directory, name="cats",
            dataset={"path": "../data.csv", "target": "label", "dev_size": 0.25,
                     "test_size": 0.2, "seed": 0},
            **pruned_second([8], n_trials=3), tracking={"log_models": "best"})
        result = invoke("search", str(exp), "--quiet")
        assert result.exit_code == 0, result.output
        yield directory, result


def _trial(directory: Path, state: str):
    found = [r for r in runs(directory, "cats", child=True)
             if r.data.tags["nnexp.state"] == state]
    assert found, state
    return min(found, key=lambda r: int(r.data.tags["nnexp.trial_number"]))


def _champion_run(directory: Path) -> str:
    return client(directory).get_model_version_by_alias("cats", "champion").run_id


# ---- the search's own output --------------------------------------------------------------


def test_search_says_where_the_stores_are_and_prints_a_predict_command_that_works(study_dir):
    directory, result = study_dir
    out = result.output
    journal = directory / "mlruns" / "optuna.journal"  # also as Optuna's tools take it
    assert f"stores: Optuna journal:{journal} (optuna, optuna-dashboard: {journal}), MLflow " \
           f"{tracking_uri(directory)}" in out  # printed even with --quiet
    assert f"new study 'cats' in journal:{directory / 'mlruns'}" in out
    line = next(s.strip() for s in out.splitlines() if s.strip().startswith("nnexp predict"))
    assert line == "nnexp predict models:/cats@champion ROWS.csv"
    rows = directory / "rows.csv"
    pd.read_csv(directory / "data.csv").head(7).to_csv(rows, index=False)
    command = [sys.executable, "-m", "nnexp.cli", *line.split()[1:]]
    command[command.index("ROWS.csv")] = "rows.csv"
    env = {k: v for k, v in __import__("os").environ.items() if k != "MLFLOW_TRACKING_URI"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(command, cwd=directory, capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    got = pd.read_csv(io.StringIO(done.stdout))
    assert list(got.columns) == ["prediction", "proba_no", "proba_yes"] and len(got) == 7


def test_predict_from_another_folder_says_where_it_looked_and_leaves_no_database(study_dir,
                                                                               workdir):
    directory, _ = study_dir
    result = invoke("predict", "models:/cats@champion", str(directory / "data.csv"))
    assert_user_error(result, "no MLflow tracking store", "--tracking-uri")
    assert not (workdir / "mlruns").exists() and not (workdir / "mlflow.db").exists()
    # the same command with the store's URI works from here
    result = invoke("predict", "models:/cats@champion", str(directory / "data.csv"),
                    "--tracking-uri", tracking_uri(directory))
    assert result.exit_code == 0, result.output


def test_a_search_from_another_folder_warns_about_the_study_beside_the_experiment(study_dir,
                                                                                workdir):
    directory, _ = study_dir
    result = invoke("search", str(directory / "experiments" / "cats.yaml"), "--quiet",
                    "--n-trials", "1")
    assert result.exit_code == 0, result.output
    journal = directory / "mlruns" / "optuna.journal"
    assert f"new study 'cats' in journal:{workdir / 'mlruns' / 'optuna.journal'}" in \
        result.output
    assert f"warning: a study 'cats' already exists in {journal}" in result.output
    assert f"--storage journal:{journal}" in result.output


# ---- predict -------------------------------------------------------------------------------


def _inputs(model_dir: Path, frame: pd.DataFrame) -> np.ndarray:
    """X (m, n_x) for raw rows, from the model directory's files: the fitted ColumnTransformer
    in preparation.skops, loaded with skops itself (not through nnexp's Preparation)."""
    import json

    import skops.io as sio

    from nnexp.data.preparation import TRUSTED

    features = json.loads((model_dir / "features.json").read_text())
    transformer = sio.load(model_dir / "preparation.skops", trusted=TRUSTED)
    X = transformer.transform(frame[features["columns"]])
    assert X.shape == (len(frame), len(features["feature_names"]))
    return X


def _expected(model_dir: Path, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The model's own predictions, computed by the core from the model directory's files."""
    from nnexp.core import Model

    model = Model.load(model_dir / "model.npz")
    X = _inputs(model_dir, frame)
    return model.predict(X), model.predict_proba(X)


def test_predict_a_registered_model_on_raw_rows_gives_labels_and_probabilities(study_dir):
    directory, _ = study_dir
    frame = pd.read_csv(directory / "data.csv")
    raw = frame.drop(columns="label").assign(extra="ignored")
    raw.to_csv(directory / "raw.csv", index=False)
    result = invoke("predict", "models:/cats@champion", "raw.csv", "-o", "out.parquet")
    assert result.exit_code == 0, result.output
    got = pd.read_parquet(directory / "out.parquet")
    run_id = _champion_run(directory)
    model_dir = Path(client(directory).download_artifacts(run_id, "model", str(directory)))
    labels, proba = _expected(model_dir, frame)
    assert got["prediction"].tolist() == labels.tolist()
    np.testing.assert_array_equal(got[["proba_no", "proba_yes"]].to_numpy(), proba)
    assert set(got["prediction"]) <= {"yes", "no"}
    assert (got["prediction"] == frame["label"]).mean() > 0.8
    # the same model by version number and by its trial's run id: the same predictions
    version = client(directory).get_model_version_by_alias("cats", "champion").version
    for model in (f"models:/cats/{version}", run_id, f"runs:/{run_id}"):
        again = invoke("predict", model, "raw.csv")
        assert again.exit_code == 0, again.output
        pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(again.stdout)),
                                      pd.read_csv(io.StringIO(invoke(
                                          "predict", "models:/cats@champion",
                                          "raw.csv").stdout)))


def test_train_from_a_run_id_writes_a_model_dir_that_predicts_like_the_registered_one(
        study_dir):
    directory, _ = study_dir
    run_id = _champion_run(directory)
    trial = client(directory).get_run(run_id)
    result = invoke("train", f"runs:/{run_id}", "-q", "-o", "trained")
    assert result.exit_code == 0, result.output
    model_dir = directory / "trained"
    assert {p.name for p in model_dir.iterdir()} == {"model.npz", "model.json",
                                                     "features.json", "preparation.skops",
                                                     "preparation.json"}
    import json

    features = json.loads((model_dir / "features.json").read_text())
    assert features["feature_names"] == ["a", "b", "color_blue", "color_green", "color_red"]
    assert features["classes"] == ["no", "yes"] and features["columns"] == ["a", "b", "color"]
    assert features["table"] is True and features["task"] == "binary"
    decisions = json.loads((model_dir / "preparation.json").read_text())
    assert [(c["name"], c["role"]) for c in decisions["columns"]] == \
        [("a", "numeric"), ("b", "numeric"), ("color", "categorical")]
    # retrained exactly: the new run's metrics are the trial's
    new = client(directory).get_run(result.output.split()[1])
    for key in ("final_dev_accuracy", "final_dev_log_loss", "test_log_loss"):
        assert new.data.metrics[key] == trial.data.metrics[key], key
    # recorded by the same path as the trial: the same curves and per-layer signals, the
    # same facts and outcome tags
    assert any(k.startswith(LAYER_PREFIX) for k in new.data.metrics)
    assert set(trial.data.metrics) - {"objective"} == set(new.data.metrics)
    for tag in ("nnexp.state", "nnexp.epochs_run", "nnexp.best_epoch"):
        assert new.data.tags[tag] == trial.data.tags[tag], tag
    raw = pd.read_csv(directory / "data.csv").drop(columns="label")
    raw.to_csv(directory / "raw2.csv", index=False)
    from_dir = invoke("predict", "trained", "raw2.csv")
    from_registry = invoke("predict", "models:/cats@champion", "raw2.csv")
    assert from_dir.exit_code == 0 == from_registry.exit_code, from_dir.output
    assert from_dir.stdout == from_registry.stdout


def test_the_registered_version_comes_from_the_trial_with_example_and_description(study_dir):
    import mlflow

    directory, _ = study_dir
    c = client(directory)
    version = c.get_model_version_by_alias("cats", "champion")
    trial = c.get_run(version.run_id)
    assert version.tags["nnexp.study"] == "cats"
    assert version.tags["nnexp.trial_number"] == trial.data.tags["nnexp.trial_number"]
    assert version.source.startswith(trial.info.artifact_uri)  # the trial's own run
    assert "pyfunc" in {a.path for a in c.list_artifacts(version.run_id)}
    value = trial.data.metrics["objective"]
    assert f"trial {version.tags['nnexp.trial_number']}" in version.description
    assert f"dev_accuracy = {value:.6g} (maximize)" in version.description
    mlflow.set_tracking_uri(tracking_uri(directory))
    model = mlflow.pyfunc.load_model(f"models:/cats/{version.version}")
    example = model.input_example
    assert list(example.columns) == ["a", "b", "color"]
    assert set(example["color"]) <= {"red", "green", "blue"}  # raw categories, not one-hot
    inputs = [c.name for c in model.metadata.get_input_schema().inputs]
    assert inputs == ["a", "b", "color"]


def test_predict_bad_input_is_a_clear_error(study_dir):
    directory, _ = study_dir
    frame = pd.read_csv(directory / "data.csv")
    frame.drop(columns=["b", "color"]).to_csv(directory / "missing.csv", index=False)
    assert_user_error(invoke("predict", "models:/cats@champion", "missing.csv"),
                      "lacks the column(s) 'b', 'color'", "Add the missing columns")
    # a category training never saw counts as infrequent (the study kept the default
    # unseen_categories: group): no one-hot column is set, and the rows are predicted
    unseen = frame.drop(columns="label").assign(color="purple")
    unseen.to_csv(directory / "unseen.csv", index=False)
    result = invoke("predict", "models:/cats@champion", "unseen.csv")
    assert result.exit_code == 0, result.output
    model_dir = Path(client(directory).download_artifacts(_champion_run(directory), "model",
                                                          str(directory / "unseen_model")))
    assert not _inputs(model_dir, unseen)[:, 2:].any()  # color_blue, _green, _red all 0
    got = pd.read_csv(io.StringIO(result.stdout))
    labels, proba = _expected(model_dir, unseen)
    assert got["prediction"].tolist() == labels.tolist() and len(got) == len(frame)
    np.testing.assert_allclose(got[["proba_no", "proba_yes"]].to_numpy(), proba, rtol=1e-6)
    assert_user_error(invoke("predict", "models:/nope@champion", "unseen.csv"),
                      "models:/nope@champion")
    assert_user_error(invoke("predict", "0" * 32, "unseen.csv"), "no MLflow run", "0" * 32)
    assert_user_error(invoke("predict", "nowhere", "unseen.csv"), "'nowhere'",
                      "neither an existing model directory")
    assert_user_error(invoke("predict", "models:/cats@champion", "absent.csv"), "absent.csv")


# ---- reproduce -----------------------------------------------------------------------------


def test_reproduce_a_complete_trial_is_an_exact_match_and_writes_no_run(study_dir):
    directory, _ = study_dir
    run = _trial(directory, "complete")
    before = len(runs(directory, "cats"))
    result = invoke("reproduce", run.info.run_id)
    assert result.exit_code == 0, result.output
    assert "exact match: " in result.output
    count = int(result.output.split("exact match: ")[1].split()[0])
    assert count >= 15  # final, test, objective and last-epoch metrics
    assert len(runs(directory, "cats")) == before  # no --log: nothing recorded


def test_reproduce_a_pruned_trial_to_its_pruned_epoch(study_dir):
    directory, _ = study_dir
    run = _trial(directory, "pruned")
    epoch = int(run.data.tags["nnexp.pruned_epoch"])
    assert "config.yaml" in {a.path for a in client(directory).list_artifacts(run.info.run_id)}
    result = invoke("reproduce", "cats", run.data.tags["nnexp.trial_number"])
    assert result.exit_code == 0, result.output
    # the per-epoch metrics but timing (the curves; a constant learning rate is no metric)
    assert "exact match: 4 metrics" in result.output
    assert f"pruned: retrained to epoch {epoch}" in result.output


def test_reproduce_with_another_config_lists_the_metrics_that_differ(study_dir):
    directory, _ = study_dir
    run = _trial(directory, "complete")
    c = client(directory)
    local = Path(c.download_artifacts(run.info.run_id, "config.yaml", str(directory)))
    content = yaml.safe_load(local.read_text())
    content["train"]["learning_rate"] = content["train"]["learning_rate"] * 0.5
    edited = directory / "edited.yaml"
    edited.write_text(yaml.safe_dump(content))
    result = invoke("reproduce", "--config", str(edited), run.info.run_id)
    assert result.exit_code == 1, result.output
    assert "mismatch: " in result.output and "metric" in result.output
    lines = {line.split()[0]: line.split()[1:] for line in result.output.splitlines()
             if line.startswith("  ") and len(line.split()) == 3}
    assert "final_dev_log_loss" in lines and "2_cost/train" in lines  # the last epoch's too
    recorded, reproduced = map(float, lines["final_dev_log_loss"])
    assert recorded == run.data.metrics["final_dev_log_loss"] and reproduced != recorded


def test_reproduce_with_log_records_one_run(study_dir):
    directory, _ = study_dir
    run = _trial(directory, "complete")
    result = invoke("reproduce", "--log", run.info.run_id)
    assert result.exit_code == 0, result.output
    logged = [r for r in runs(directory, "cats")
              if r.data.tags.get("nnexp.reproduces") == run.info.run_id]
    assert len(logged) == 1 and logged[0].info.run_id in result.output


def test_reproduce_and_train_bad_runs_are_clear_errors(study_dir):
    directory, _ = study_dir
    unknown = "f" * 32
    assert_user_error(invoke("reproduce", unknown), "no MLflow run", unknown)
    assert_user_error(invoke("train", unknown), "no MLflow run", unknown)
    assert_user_error(invoke("reproduce", "cats", "99"), "no trial 99 of study 'cats'")
    parent = runs(directory, "cats", role="parent")[0]
    assert_user_error(invoke("reproduce", parent.info.run_id), "is not an nnexp trial")
    c = client(directory)
    plain = c.create_run(c.get_experiment_by_name("cats").experiment_id).info.run_id
    c.set_terminated(plain)
    assert_user_error(invoke("reproduce", plain), plain, "is not an nnexp trial")
    assert_user_error(invoke("train", plain), plain, "no 'config.yaml' artifact")
    assert_user_error(invoke("reproduce", "--config", "absent.yaml",
                             _trial(directory, "complete").info.run_id), "absent.yaml")


def test_a_diverged_train_run_is_recorded_as_a_diverged_trial_would_be(study_dir):
    directory, _ = study_dir
    run_id = _champion_run(directory)
    config = client(directory).download_artifacts(run_id, "config.yaml", str(directory))
    content = yaml.safe_load(Path(config).read_text())
    content["train"].update(learning_rate=1.0e6, optimizer="gd", epochs=20)
    content["name"] = "cats-diverges"
    path = directory / "diverges.yaml"
    path.write_text(yaml.safe_dump(content))
    result = invoke("train", str(path), "-q")
    assert result.exit_code == 2, result.output
    assert "Lower train.learning_rate" in result.output
    run = next(r for r in runs(directory, "cats")
               if r.info.run_name == "cats-diverges retrained #1")
    assert run.info.status == "FAILED"
    assert run.data.tags["nnexp.state"] == "diverged"
    assert run.data.tags["nnexp.signal"] == "diverged"  # the signals a trial records
    assert int(run.data.tags["nnexp.diverged_epoch"]) >= 1
