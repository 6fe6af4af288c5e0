"""Views that open where they should (issue 19): the metric keys order the sections of MLflow's
run page (the metric on dev and train, the cost, learning rate and time, then the layers), a
constant learning rate is a parameter and not a flat chart, the links nnexp prints ask for the
model-training view, ``nnexp train`` runs are grouped under ``<study> retrained`` and named
apart from the trials, and Optuna's own tools open the study nnexp printed, its values named
after the metrics. (The browser's view of it: tests/test_ui_browser.py.)"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from inspect_helpers import cli, study_fixture
from search_helpers import client, runs

from nnexp.core import EpochMetrics, TrainConfig
from nnexp.core.schedules import changes
from nnexp.stores.queries import experiment_url, run_url
from nnexp.stores.study_storage import optuna_form, shown_storage
from nnexp.tracking.records import (
    EPOCH_SECONDS,
    LEARNING_RATE,
    curve,
    epoch_record,
    legacy_key,
    metric_history,
)
from nnexp.tracking.signals import FIELDS, layer_key

made = study_fixture("views", "views", study={"n_trials": 2, "seed": 3, "pruner": "none"})


def _epoch(metric: str) -> EpochMetrics:
    return EpochMetrics(epoch=1, metric=metric, train_cost=0.5, train_metric=0.8, dev_cost=0.6,
                        dev_metric=0.7, learning_rate=0.01, epoch_seconds=0.1,
                        elapsed_seconds=0.1)


def _sections(keys) -> dict[str, list[str]]:
    """MLflow 3.17's run page: a section per key prefix (up to the last '/'), sections and
    the charts in each sorted by name (JS ``Array.sort``: code-unit order, as here)."""
    out: dict[str, list[str]] = {}
    for key in sorted(keys):
        section, _, chart = key.rpartition("/")
        out.setdefault(section, []).append(chart)
    return dict(sorted(out.items()))


@pytest.mark.parametrize("metric", ["accuracy", "rmse"])
def test_run_page_sections_come_metric_cost_epoch_then_layers(metric):
    keys = set(epoch_record(_epoch(metric)))
    keys |= {layer_key(i, name) for i in range(1, 13) for name in FIELDS}
    sections = _sections(keys)
    assert list(sections) == [f"1_{metric}", "2_cost", "3_epoch",
                              *[f"4_layer_{i:02d}" for i in range(1, 13)]]
    assert sections[f"1_{metric}"] == ["dev", "train"]  # side by side, dev first
    assert sections["2_cost"] == ["dev", "train"]
    assert sections["3_epoch"] == ["learning_rate", "seconds"]


def test_a_constant_learning_rate_is_no_curve_a_schedule_is():
    assert LEARNING_RATE not in epoch_record(_epoch("accuracy"), learning_rate=False)
    assert EPOCH_SECONDS in epoch_record(_epoch("accuracy"), learning_rate=False)
    base = TrainConfig(epochs=20)
    assert not changes(base)
    assert not changes(replace(base, schedule="exponential", decay_rate=1.0))
    assert not changes(replace(base, schedule="step", decay_rate=0.5, decay_steps=20))
    assert changes(replace(base, schedule="step", decay_rate=0.5, decay_steps=19))
    assert changes(replace(base, schedule="cosine"))
    assert changes(replace(base, schedule="inverse_time", decay_rate=0.1))


def test_runs_recorded_under_the_old_names_are_still_read():
    assert legacy_key(curve("dev", "accuracy")) == "dev/accuracy"
    assert legacy_key(curve("train", "cost")) == "train/cost"
    assert legacy_key(EPOCH_SECONDS) == "epoch/seconds"
    assert legacy_key(layer_key(2, "grad_norm")) == "layer_2/grad_norm"
    assert legacy_key("final_dev_accuracy") is None and legacy_key("objective") is None

    class Old:  # a client holding a run recorded before the numbered sections
        def get_metric_history(self, run_id, key):
            from mlflow.entities import Metric

            return [Metric(key, 1.0 / s, 0, s) for s in (2, 1)] if key == "dev/cost" else []

    assert [m.step for m in metric_history(Old(), "r", curve("dev", "cost"))] == [1, 2]


def test_every_link_asks_for_the_model_training_view():
    assert run_url("http://h:5000/", "3", "abc") == \
        "http://h:5000/#/experiments/3/runs/abc?workflowType=machine_learning"
    assert experiment_url("http://h:5000", "3") == \
        "http://h:5000/#/experiments/3?workflowType=machine_learning"
    assert experiment_url("http://h:5000") == \
        "http://h:5000/#/experiments?workflowType=machine_learning"


def test_the_storage_is_printed_in_both_forms_and_a_password_in_neither():
    assert optuna_form("journal:/w/mlruns/optuna.journal") == "/w/mlruns/optuna.journal"
    assert shown_storage("journal:/w/mlruns/optuna.journal") == \
        "journal:/w/mlruns/optuna.journal (optuna, optuna-dashboard: /w/mlruns/optuna.journal)"
    assert shown_storage("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db"


def test_trial_runs_carry_the_curves_and_the_rate_as_a_parameter(here):
    for run in runs(here, "views", child=True):
        metrics = run.data.metrics
        assert {curve(s, m) for s in ("dev", "train") for m in ("accuracy", "cost")} \
            <= set(metrics)
        assert EPOCH_SECONDS in metrics and LEARNING_RATE not in metrics  # constant rate
        assert float(run.data.params["learning_rate"]) > 0
        assert any(k.startswith("4_layer_01/") for k in metrics)


def test_show_prints_model_training_links_and_a_storage_optuna_opens(here):
    out = cli("show", "views")
    assert out.exit_code == 0, out.output
    links = re.findall(r"http://\S+", out.output)
    assert links and all(link.endswith("?workflowType=machine_learning") for link in links)
    found = re.search(r"Optuna storage\s+journal:(\S+) \(optuna, optuna-dashboard: (\S+)\)",
                      out.output)
    assert found and found.group(1) == found.group(2), out.output
    assert "Optuna storage journal:" in cli("studies").output
    listed = subprocess.run([str(Path(sys.executable).parent / "optuna"), "studies",
                             "--storage", found.group(2), "-f", "json"],
                            capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert "views" in {s["name"] for s in json.loads(listed.stdout)}


def _get(app, path: str) -> dict:
    from wsgiref.util import setup_testing_defaults

    environ: dict = {"PATH_INFO": path, "REQUEST_METHOD": "GET"}
    setup_testing_defaults(environ)
    status = []
    body = b"".join(app(environ, lambda s, headers, exc_info=None: status.append(s)))
    assert status[0].startswith("200"), (path, status, body[:300])
    return json.loads(body)


def test_optuna_dashboard_names_the_objective_after_the_metric(here):
    pytest.importorskip("optuna_dashboard", reason="the optional extra nnexp[dashboard]")
    from nnexp.inspection.dashboard import dashboard_app
    from nnexp.stores.queries import open_existing_storage

    app = dashboard_app(open_existing_storage(None))
    studies = _get(app, "/api/studies")["study_summaries"]
    (views,) = [s for s in studies if s["study_name"] == "views"]
    detail = _get(app, f"/api/studies/{views['study_id']}")
    assert detail["objective_names"] == ["dev_accuracy"]  # not "Objective 0"
    assert len(detail["best_trials"]) == 1


def test_nnexp_train_runs_are_grouped_and_named_apart_from_the_trials(here):
    out = cli("export", "views")
    assert out.exit_code == 0, out.output
    (path,) = here.glob("views-trial-*.yaml")
    trial_name = path.stem  # the run file's name: views-trial-<n>
    for _ in range(2):
        assert cli("train", str(path), "-q").exit_code == 0
    content = yaml.safe_load(path.read_text())
    content["train"].update(schedule="cosine", min_learning_rate=0.0)
    (here / "cosine.yaml").write_text(yaml.safe_dump(content))
    assert cli("train", str(here / "cosine.yaml"), "-q").exit_code == 0

    c = client(here)
    everything = runs(here, "views")
    (group,) = [r for r in everything if r.data.tags.get("nnexp.role") == "retrained"]
    assert group.info.run_name == "views retrained" and group.info.status == "FINISHED"
    trained = sorted((r for r in everything if r.data.tags.get("nnexp.role") == "train"),
                     key=lambda r: r.info.start_time)
    assert [r.info.run_name for r in trained] == [
        f"{trial_name} retrained #1", f"{trial_name} retrained #2",
        f"{trial_name} retrained #3"]
    assert {r.data.tags["mlflow.parentRunId"] for r in trained} == {group.info.run_id}
    top_level = [r.info.run_name for r in everything if "mlflow.parentRunId" not in r.data.tags]
    assert sorted(top_level) == ["views #1", "views retrained"]  # the study's list
    assert len(runs(here, "views", child=True)) == 2  # the trials alone
    assert LEARNING_RATE not in trained[0].data.metrics
    rates = [m.value for m in metric_history(c, trained[2].info.run_id, LEARNING_RATE)]
    assert len(rates) == content["train"]["epochs"] and rates[0] > rates[-1]


def test_dashboard_without_its_extra_or_of_an_unknown_study_is_a_user_error(here, monkeypatch):
    from search_helpers import assert_user_error

    out = cli("dashboard", "nosuch", "--port", "0")
    assert_user_error(out, "no study named 'nosuch'")
    monkeypatch.setitem(sys.modules, "optuna_dashboard", None)  # not installed
    out = cli("dashboard", "views", "--port", "0")
    assert_user_error(out, "optuna-dashboard", "pip install 'nnexp[dashboard]'")
