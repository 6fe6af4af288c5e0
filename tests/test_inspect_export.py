"""``nnexp export`` on one real study over a CSV file: the exported run file retrains the trial
exactly with ``nnexp train``, still works when moved with its data, and refuses changed data
(the fingerprint check in ``nnexp.data.prepare``)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from inspect_helpers import cli, study_fixture
from search_helpers import runs, study

from nnexp.config import DatasetSpec, load_run_config
from nnexp.data import DataError, load_builtin, prepare

COMPARED = ("final_dev_", "final_train_", "test_", "epochs_run", "n_params")


def _write_points(directory):
    ds = load_builtin("moons", n_samples=200, noise=0.25, seed=3)
    (directory / "data").mkdir()
    pd.DataFrame({"x0": ds.X[:, 0], "x1": ds.X[:, 1], "label": ds.y}).to_csv(
        directory / "data" / "points.csv", index=False)


made = study_fixture("export", "csvstudy", prepare=_write_points, dataset={
    "path": "../data/points.csv", "target": "label", "dev_size": 0.25, "test_size": 0.2,
    "seed": 5, "scale": "minmax"}, study={"n_trials": 4, "seed": 2})


def _best(directory):
    s = study(directory, "csvstudy")
    return s.best_trial, next(r for r in runs(directory, "csvstudy", child=True)
                              if r.data.tags["nnexp.trial_number"] == str(s.best_trial.number))


def _train(path) -> dict[str, float]:
    result = cli("train", str(path), "-q")
    assert result.exit_code == 0, result.output
    run_id = result.output.split()[1]
    return client_metrics(run_id)


def client_metrics(run_id: str) -> dict[str, float]:
    from mlflow import MlflowClient

    from nnexp.stores.tracking_store import default_tracking_uri

    metrics = MlflowClient(default_tracking_uri()).get_run(run_id).data.metrics
    return {k: v for k, v in metrics.items() if k.startswith(COMPARED)}


def test_export_writes_a_complete_run_file_that_retrains_the_trial_exactly(here):
    best, run = _best(here)
    result = cli("export", "csvstudy")
    assert result.exit_code == 0, result.output
    path = here / f"csvstudy-trial-{best.number}.yaml"
    text = path.read_text()
    assert text.startswith(f"# nnexp export: study 'csvstudy', trial {best.number}: "
                           f"dev_accuracy = ")
    content = yaml.safe_load(text)
    assert content["dataset"] == {
        "path": "data/points.csv", "target": "label", "dev_size": 0.25, "test_size": 0.2,
        "seed": 5, "scale": "minmax", "stratify": True,
        "fingerprint": run.data.tags["nnexp.dataset_fingerprint"]}
    assert content["train"] == best.user_attrs["config"]  # every setting, the seed included
    assert content["source"]["blas_threads"] == int(run.data.tags["nnexp.blas_threads"])
    assert content["source"]["trial"] == best.number
    rc = load_run_config(path)
    assert rc.dataset.fingerprint == run.data.tags["nnexp.dataset_fingerprint"]

    expected = {k: v for k, v in run.data.metrics.items() if k.startswith(COMPARED)}
    assert len(expected) >= 10  # train, dev and test scores (epoch counts are tags)
    assert _train(path) == expected  # bit for bit, not approximately


def test_moved_with_its_data_it_still_trains_and_changed_data_is_refused(here, tmp_path):
    _, run = _best(here)
    out = here / "share" / "best.yaml"
    assert cli("export", "csvstudy", "-o", str(out)).exit_code == 0
    assert yaml.safe_load(out.read_text())["dataset"]["path"] == "../data/points.csv"
    moved = tmp_path / "elsewhere"
    shutil.copytree(here / "share", moved / "share")
    shutil.copytree(here / "data", moved / "data")
    copy = moved / "share" / "best.yaml"
    assert load_run_config(copy).dataset.path.resolve() == \
        (moved / "data" / "points.csv").resolve()
    expected = {k: v for k, v in run.data.metrics.items() if k.startswith(COMPARED)}
    assert _train(copy) == expected

    data = moved / "data" / "points.csv"
    df = pd.read_csv(data)
    df.loc[3, "x0"] += 0.5
    df.to_csv(data, index=False)
    result = cli("train", str(copy), "-q")
    assert result.exit_code == 2
    found = _fingerprint(data)
    assert found != run.data.tags["nnexp.dataset_fingerprint"]
    message = " ".join(result.output.split())
    assert str(data.resolve()) in message
    assert run.data.tags["nnexp.dataset_fingerprint"] in message and found in message
    assert "point dataset.path at the original data, or remove dataset.fingerprint" in \
        message.lower()
    assert "Traceback" not in result.output

    content = yaml.safe_load(copy.read_text())
    del content["dataset"]["fingerprint"]
    copy.write_text(yaml.safe_dump(content))
    assert cli("train", str(copy), "-q").exit_code == 0  # the documented way out


def _fingerprint(path) -> str:
    """The fingerprint of a table: its raw columns, target and column decisions."""
    from nnexp.data import load_file

    return load_file(path, target="label").fingerprint()


def test_top_k_writes_several_files_into_a_directory(here):
    s = study(here, "csvstudy")
    # best first; equal values: the lower final dev cost, then the earlier trial
    ranked = sorted(s.trials, key=lambda t: (-t.value, t.user_attrs["dev_cost"], t.number))[:2]
    result = cli("export", "csvstudy", "--top", "2", "-o", "best2")
    assert result.exit_code == 0, result.output
    files = sorted((here / "best2").glob("*.yaml"))
    assert [f.name for f in files] == sorted(f"csvstudy-trial-{t.number}.yaml" for t in ranked)
    for t in ranked:
        rc = load_run_config(here / "best2" / f"csvstudy-trial-{t.number}.yaml")
        assert rc.train.to_dict() == t.user_attrs["config"]
        assert rc.source["dev_accuracy"] == t.value
    bad = cli("export", "csvstudy", "--top", "2", "-o", "two.yaml")
    assert bad.exit_code == 2 and "give a directory" in bad.output


def test_builtin_data_carry_a_fingerprint_checked_by_prepare():
    spec = DatasetSpec(name="moons", params={"n_samples": 100, "noise": 0.1})
    right = prepare(spec).fingerprint
    assert prepare(spec.model_copy(update={"fingerprint": right})).fingerprint == right
    other = spec.model_copy(update={"params": {"n_samples": 100, "noise": 0.3},
                                    "fingerprint": right})
    with pytest.raises(DataError, match=f"expects {right}, the loaded data have [0-9a-f]{{16}}"):
        prepare(other)
    assert np.isfinite(prepare(spec).X_train).all()
