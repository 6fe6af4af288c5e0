"""A messy CSV end to end (issue 16), with a real SQLite MLflow store and the journal in a
temporary folder: ``nnexp validate`` prints its column table, ``nnexp search`` its data line
and the table on the parent run, and the registered model predicts from raw rows (a date
after the training period, a missing value, an unseen category, integers where floats were
seen, an extra column) through ``nnexp predict`` on a ``train -o`` directory and on
``models:/weather@champion``, through ``mlflow.pyfunc.load_model(...).predict(df)`` and over
REST from a real ``mlflow models serve``; resuming the study on changed data stops with exit
code 2 unless ``--accept-data-change``, which the parent run records."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from search_helpers import (
    assert_user_error,
    client,
    invoke,
    runs,
    study,
    tracking_uri,
    write_experiment,
)

ROOT = Path(__file__).resolve().parents[1]
USED = ["date", "city", "temp", "wind"]
ROWS = """date,city,temp,wind,extra
2031-07-15,Oslo,21,3,a
2019-01-10,Atlantis,2,5,b
,Lima,15,4,c
2020-06-01,,18,7,d
2019-12-24,Pune,-3,,e
"""
"""Rows to predict: a date after the training period, an unseen city, a missing date, city
and wind, whole temperatures (trained on decimals) and a column the model never saw."""


def _weather(path: Path, n: int = 300, seed: int = 0) -> pd.DataFrame:
    """A daily table of three years whose label is the season: a row number, ISO dates (one
    '?'), a city with missing values, temperatures with missing values, wind with '?', a free
    text note and one row without a label."""
    rng = np.random.default_rng(seed)
    days = pd.Timestamp("2018-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365, n), unit="D")
    warm = np.isin(days.month, [5, 6, 7, 8, 9]) ^ (rng.random(n) < 0.05)
    date = pd.Series(days.strftime("%Y-%m-%d"))
    date[17] = "?"
    city = pd.Series(rng.choice(["Oslo", "Lima", "Pune", "Kyiv"], n), dtype=object)
    city[[6, 60, 160]] = None
    temp = np.round(rng.normal(15, 5, n), 1)
    temp[[4, 9, 90, 190]] = np.nan
    wind = [str(v) for v in rng.integers(0, 12, n)]
    for i in (3, 30, 130):
        wind[i] = "?"
    label = pd.Series(np.where(warm, "yes", "no"), dtype=object)
    label[11] = None
    frame = pd.DataFrame({
        "id": np.arange(1, n + 1), "date": date, "city": city, "temp": temp, "wind": wind,
        "note": [f"observer {i % 7} wrote a long free text remark about day {i} here"
                 for i in range(n)],
        "label": label})
    frame.to_csv(path, index=False)
    return frame


def _experiment(directory: Path, name: str, epochs: int = 8, n_trials: int = 2,
                log_models: str = "best", **dataset) -> Path:
    return write_experiment(
        directory, name=name,
        dataset={"path": "../weather.csv", "target": "label", "dev_size": 0.25,
                 "test_size": 0.2, "seed": 0, **dataset},
        search_space={"parameters": {
            "hidden_layers": [8],
            "learning_rate": {"type": "float", "low": 0.01, "high": 0.05, "log": True}}},
        train={"epochs": epochs, "batch_size": 32, "optimizer": "adam"},
        study={"n_trials": n_trials, "seed": 1}, tracking={"log_models": log_models})


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    """One study 'weather' (2 trials of a 4-8-1 network, the best registered), after
    ``nnexp validate``."""
    directory = tmp_path_factory.mktemp("tables")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(directory)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        _weather(directory / "weather.csv")
        (directory / "rows.csv").write_text(ROWS)
        exp = _experiment(directory, "weather")
        validated = invoke("validate", str(exp))
        assert validated.exit_code == 0, validated.output
        result = invoke("search", str(exp), "--quiet")
        assert result.exit_code == 0, result.output
    return SimpleNamespace(directory=directory, experiment=exp, validate=validated.output,
                           search=result.output)


@pytest.fixture(scope="module")
def made(searched):
    """The study's folder, for ``here`` (tests/conftest.py)."""
    return searched.directory


def _table(validate_output: str) -> list[str]:
    """The column table ``nnexp validate`` prints under 'columns:', without its indent."""
    lines = validate_output.splitlines()
    start = lines.index("columns:") + 1
    table = []
    for line in lines[start:]:
        if not line.startswith("  "):
            break
        table.append(line[2:])
    return table


def _champion_run(directory: Path):
    c = client(directory)
    return c.get_run(c.get_model_version_by_alias("weather", "champion").run_id)


def _csv(result) -> pd.DataFrame:
    assert result.exit_code == 0, result.output
    return pd.read_csv(io.StringIO(result.stdout))


# ---- validate and search ---------------------------------------------------------------------


def test_validate_prints_what_it_decided_about_every_column(searched):
    table = _table(searched.validate)
    rows = {line.split()[0]: line for line in table[1:7]}
    assert table[0].split() == ["COLUMN", "ROLE", "MISSING", "ENCODING", "FEATURES"]
    assert list(rows) == ["id", "date", "city", "temp", "wind", "note"]
    assert rows["id"].split()[1] == "id" and "row number" in rows["id"]
    assert rows["date"].split()[1:3] == ["datetime", "1"]  # the '?'
    assert "sin/cos" in rows["date"]
    assert rows["city"].split()[1:5] == ["categorical", "(4", "levels)", "3"]
    assert rows["temp"].split()[1:3] == ["numeric", "4"]
    assert rows["wind"].split()[1:3] == ["numeric", "3"] and "'?' read as missing" in \
        rows["wind"]
    assert rows["note"].split()[1] == "text" and "dropped: free text" in rows["note"]
    widths = {name: int(line.split()[-1]) for name, line in rows.items()}
    assert widths["id"] == widths["note"] == 0 and 8 <= widths["date"] <= 9
    assert widths["temp"] == widths["wind"] == 2
    total = sum(widths.values())
    assert table[7] == f"{total} features from 4 of 6 columns"
    assert table[8].startswith("warning: column 'id' dropped") and \
        "{id: numeric}" in table[8]
    assert table[9].startswith("warning: column 'note' dropped") and \
        "dataset.text: encode" in table[9]
    assert f"binary, 299 rows, {total} features, 2 classes" in searched.validate
    assert "1 row without a target left out" in searched.validate


def test_search_prints_a_data_line_and_keeps_the_column_table_on_the_parent_run(searched):
    directory = searched.directory
    table = _table(searched.validate)
    total = table[7].split()[0]
    assert (f"data: weather: 299 rows, {total} features from 4 of 6 columns; dropped: "
            "'id (id)', 'note (text)'; 1 row without a target left out") in searched.search
    parent = runs(directory, "weather", role="parent")
    assert len(parent) == 1
    c = client(directory)
    run_id = parent[0].info.run_id
    found = {Path(p).name: p for p in _artifacts(c, run_id)}
    text = Path(c.download_artifacts(run_id, found["columns.txt"], str(directory / "parent")))
    assert text.read_text().splitlines() == table  # what validate showed
    report = json.loads(Path(c.download_artifacts(run_id, found["columns.json"], str(
        directory / "parent"))).read_text())
    assert [r["column"] for r in report] == ["id", "date", "city", "temp", "wind", "note"]
    assert sum(r["features"] for r in report) == int(total)
    recorded = study(directory, "weather").user_attrs["data"]
    assert recorded["fingerprint"] == parent[0].data.tags["nnexp.dataset_fingerprint"]
    assert recorded["columns"]["note"] == "text (dropped)" and recorded["columns"]["date"] == \
        "datetime"


def test_the_column_table_is_the_parent_runs_data_columns_txt(searched):
    c = client(searched.directory)
    run_id = runs(searched.directory, "weather", role="parent")[0].info.run_id
    assert {"data/columns.txt", "data/columns.json"} <= set(_artifacts(c, run_id))


def _artifacts(c, run_id: str, path: str | None = None) -> list[str]:
    """Every artifact file of a run, as paths from its root."""
    files = []
    for info in c.list_artifacts(run_id, path):
        files += _artifacts(c, run_id, info.path) if info.is_dir else [info.path]
    return files


def test_the_date_carries_the_season_and_the_champion_learnt_it(searched):
    run = _champion_run(searched.directory)
    labels = pd.read_csv(searched.directory / "weather.csv")["label"].dropna()
    majority = labels.value_counts(normalize=True).max()
    assert run.data.metrics["final_dev_accuracy"] >= 0.8 > majority + 0.15


# ---- raw rows through every path ----------------------------------------------------------


def test_train_o_and_the_registered_model_predict_raw_rows_alike(searched, here):
    run = _champion_run(here)
    trained = invoke("train", f"runs:/{run.info.run_id}", "-q", "-o", "trained")
    assert trained.exit_code == 0, trained.output
    assert {p.name for p in (here / "trained").iterdir()} == {
        "model.npz", "model.json", "features.json", "preparation.skops", "preparation.json"}
    features = json.loads((here / "trained" / "features.json").read_text())
    assert features["columns"] == USED and features["table"] is True
    rows = pd.read_csv(here / "rows.csv")
    assert rows["temp"].dtype == np.int64 and rows["date"].isna().sum() == 1
    from_dir = _csv(invoke("predict", "trained", "rows.csv"))
    from_registry = _csv(invoke("predict", "models:/weather@champion", "rows.csv"))
    assert list(from_registry.columns) == ["prediction", "proba_no", "proba_yes"]
    assert len(from_registry) == 5 and set(from_registry["prediction"]) <= {"yes", "no"}
    np.testing.assert_allclose(from_registry[["proba_no", "proba_yes"]].sum(axis=1), 1.0,
                               rtol=1e-6)
    pd.testing.assert_frame_equal(from_dir, from_registry)


def test_the_pyfunc_model_in_python_takes_the_rows_of_a_csv(searched, here):
    import mlflow

    mlflow.set_tracking_uri(tracking_uri(here))
    model = mlflow.pyfunc.load_model("models:/weather@champion")
    assert [c.name for c in model.metadata.get_input_schema().inputs] == USED
    assert list(model.input_example.columns) == USED  # raw columns, not features
    rows = pd.read_csv(here / "rows.csv")
    got = model.predict(rows)
    cli = _csv(invoke("predict", "models:/weather@champion", "rows.csv"))
    assert got["prediction"].tolist() == cli["prediction"].tolist()
    np.testing.assert_allclose(got[["proba_no", "proba_yes"]].to_numpy(),
                               cli[["proba_no", "proba_yes"]].to_numpy(), rtol=1e-6)
    # the same rows typed otherwise (floats, and numbers as text) predict the same
    retyped = rows.assign(temp=rows["temp"].astype(float), wind=rows["wind"].astype(str))
    np.testing.assert_array_equal(model.predict(retyped)["proba_yes"], got["proba_yes"])


def test_raw_dev_rows_reproduce_the_recorded_dev_accuracy(searched, here):
    """The model's own preparation, applied to the file's dev rows as they are, gives the
    dev accuracy the trial recorded from the matrices it trained on."""
    import mlflow

    from nnexp.config import load_experiment
    from nnexp.data import load, prepare

    spec = load_experiment(searched.experiment).dataset
    splits, table = prepare(spec), load(spec).table
    X_all = splits.scaler.transform(splits.preparation.transform(table.frame))
    where = {row.tobytes(): i for i, row in enumerate(X_all)}
    dev = table.frame.index[[where[row.tobytes()] for row in splits.X_dev]]
    raw = pd.read_csv(here / "weather.csv").loc[dev]
    mlflow.set_tracking_uri(tracking_uri(here))
    got = mlflow.pyfunc.load_model("models:/weather@champion").predict(
        raw.drop(columns="label"))
    accuracy = float((got["prediction"].to_numpy() == raw["label"].to_numpy()).mean())
    recorded = _champion_run(here).data.metrics["final_dev_accuracy"]
    assert len(dev) == len(splits.y_dev) == 75
    assert abs(accuracy - recorded) <= 1 / len(dev) + 1e-9


def test_predict_names_bad_values_by_their_line_in_the_file(searched, here):
    lines = ROWS.splitlines()
    lines[2] = lines[2].replace(",2,", ",warm,")
    (here / "bad.csv").write_text("\n".join(lines) + "\n")
    assert_user_error(invoke("predict", "models:/weather@champion", "bad.csv"),
                      "column 'temp' needs numbers, but lines 3 of the file hold 'warm'")
    pd.read_csv(here / "rows.csv").drop(columns=["city"]).to_csv(here / "lacking.csv",
                                                                  index=False)
    assert_user_error(invoke("predict", "models:/weather@champion", "lacking.csv"),
                      "lacks the column(s) 'city'", "other columns are ignored")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, body: dict) -> tuple[int, str]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_mlflow_models_serve_predicts_raw_rows_over_rest(searched, here):
    import mlflow

    port = _free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri(here)}
    log = open(here / "serve.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "models", "serve", "-m", "models:/weather@champion",
         "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port), "-w", "1"],
        cwd=here, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None, (here / "serve.log").read_text()
            assert time.monotonic() < deadline, "mlflow models serve did not answer /ping"
            time.sleep(0.5)
        rows = pd.read_csv(here / "rows.csv")
        split = json.loads(rows.to_json(orient="split", index=False))
        assert split["data"][0][2] == 21  # an integer in the JSON, where floats were seen
        status, text = _post(f"http://127.0.0.1:{port}/invocations", {"dataframe_split": split})
        assert status == 200, text
        served = pd.DataFrame(json.loads(text)["predictions"])
        bad = {"dataframe_split": {**split, "data": [[*split["data"][0][:2], "warm",
                                                      *split["data"][0][3:]]]}}
        status, text = _post(f"http://127.0.0.1:{port}/invocations", bad)
        assert status >= 400 and "column 'temp' needs numbers" in text and "'warm'" in text
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(30)
        log.close()
    mlflow.set_tracking_uri(tracking_uri(here))
    local = mlflow.pyfunc.load_model("models:/weather@champion").predict(rows)
    assert served["prediction"].tolist() == local["prediction"].tolist()
    np.testing.assert_allclose(served[["proba_no", "proba_yes"]].to_numpy(),
                               local[["proba_no", "proba_yes"]].to_numpy(), rtol=1e-6)


# ---- resuming on other data ----------------------------------------------------------------


def test_resuming_on_changed_data_stops_unless_accepted_and_recorded(workdir):
    frame = _weather(workdir / "weather.csv", n=200, seed=1)
    exp = _experiment(workdir, "edits", epochs=2, n_trials=1, log_models="none")
    first = invoke("search", str(exp), "--quiet")
    assert first.exit_code == 0, first.output
    old = study(workdir, "edits").user_attrs["data"]["fingerprint"]
    frame.loc[5, "temp"] = 40.0  # the file is edited
    frame.to_csv(workdir / "weather.csv", index=False)
    refused = invoke("search", str(exp), "--quiet")
    assert_user_error(refused, "study 'edits' was trained on other data", old,
                      "The values changed", "--study-name", "--accept-data-change")
    new = refused.output.split("the data now have ")[1].split()[0]
    assert new != old and len(new) == 16
    # other column roles: named one by one
    roles = _experiment(workdir, "edits", epochs=2, n_trials=1, log_models="none",
                        drop=["city"])
    assert_user_error(invoke("search", str(roles), "--quiet"),
                      "Column roles changed: 'city: categorical -> drop (dropped)'")
    assert len(study(workdir, "edits").trials) == 1  # nothing was added
    assert len(runs(workdir, "edits", role="parent")) == 1
    _experiment(workdir, "edits", epochs=2, n_trials=1, log_models="none")
    accepted = invoke("search", str(exp), "--quiet", "--accept-data-change")
    assert accepted.exit_code == 0, accepted.output
    assert f"the data differ from the study's ({old} -> {new})" in accepted.output
    resumed = study(workdir, "edits")
    assert len(resumed.trials) == 2 and resumed.user_attrs["data"]["fingerprint"] == new
    parents = sorted(runs(workdir, "edits", role="parent"), key=lambda r: r.info.start_time)
    assert len(parents) == 2
    assert "data_change_accepted" not in parents[0].data.params
    assert parents[1].data.params["data_change_accepted"] == f"{old} -> {new}"
    assert parents[1].data.tags["nnexp.dataset_fingerprint"] == new
    # once accepted, the same data resume without a word
    again = invoke("search", str(exp), "--quiet")
    assert again.exit_code == 0 and "differ" not in again.output
