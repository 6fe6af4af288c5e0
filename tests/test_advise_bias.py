"""A network too small for its data (logistic regression, depth 0, on the course's planar
flower, 10 epochs) is diagnosed as high bias against the experiment's target_error; the
report of a study without per-layer instrumentation says so and is attached to the parent
run."""

from __future__ import annotations

import pytest
from inspect_helpers import cli, study_fixture
from search_helpers import client, invoke

from nnexp.insight import advise

TARGET = 0.05
SECTIONS = {
    "dataset": {"name": "planar_flower", "n_samples": 400, "noise": 0.2, "dev_size": 0.25,
                "test_size": 0.1, "seed": 0},
    "search_space": {"parameters": {
        "depth": 0, "width": 4,
        "learning_rate": {"type": "float", "low": 0.01, "high": 0.1, "log": True}}},
    "train": {"epochs": 10, "batch_size": 64, "optimizer": "adam"},
    "study": {"n_trials": 4, "seed": 1, "sampler": "random", "pruner": "none"},
    "tracking": {"log_models": "none", "signals": False},  # a study without instrumentation
    "target_error": TARGET,
}


made = study_fixture("bias", "bias", **SECTIONS)


def test_logistic_regression_on_the_flower_is_high_bias_against_the_target(here):
    advice = advise("bias")
    best = advice.diagnoses[0]
    assert advice.evidence.target_error == TARGET and best.target_given
    train_acc = advice.evidence.best.metrics["final_train_accuracy"]
    assert best.train_error == pytest.approx(1 - train_acc)
    assert best.avoidable_bias == pytest.approx(1 - train_acc - TARGET)
    assert best.avoidable_bias > 0.2  # a line cannot separate four petals
    assert best.verdict == "high bias", best.evidence()
    first = advice.findings[0]
    assert first.kind == "bias" and "bigger network" in first.moves[0]


def test_advise_prints_the_diagnosis_first_with_its_numbers(here):
    out = cli("advise", "bias")
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0].startswith("study bias: 4 complete trials of 4")
    assert "target error 0.05" in out.output
    first = lines.index(next(ln for ln in lines if ln.startswith("1. ")))
    assert "high bias" in lines[first] and "avoidable bias" in lines[first + 1]
    assert "-> a bigger network" in out.output
    assert "no per-layer signals recorded" in out.output


def test_report_without_instrumentation_says_so_and_is_attached(here):
    out = cli("report", "bias", "-o", "out/report.html")
    assert out.exit_code == 0, out.output
    page = (here / "out" / "report.html").read_text()
    assert "no per-layer signals recorded" in page
    assert "high bias" in page and "data:image/png;base64," in page
    assert "<script" not in page and "http://" not in page and "https://" not in page
    c = client(here)
    [parent] = [r for r in c.search_runs([c.get_experiment_by_name("bias").experiment_id])
                if r.data.tags.get("nnexp.role") == "parent"]
    assert "report.html" in {a.path for a in c.list_artifacts(parent.info.run_id)}
    assert parent.info.run_id in out.output


def test_an_unknown_study_is_exit_2(here):
    out = invoke("advise", "nope")  # errors go to stderr; CliRunner keeps them in output
    assert out.exit_code == 2 and "no study named 'nope'" in out.output
