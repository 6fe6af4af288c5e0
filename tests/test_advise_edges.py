"""A learning rate capped far too low (1e-5 .. 1e-4, 10 epochs, every trial from the same
initial weights) puts the best trials at the range's upper edge: advise names the parameter
and the edge, suggests one decade more, and the suggested next space validates and runs."""

from __future__ import annotations

import pytest
import yaml
from inspect_helpers import cli, study_fixture
from search_helpers import write_experiment

from nnexp.insight import advise

SECTIONS = {
    "dataset": {"name": "moons", "n_samples": 200, "noise": 0.2, "dev_size": 0.3,
                "test_size": 0.1, "seed": 0},
    "search_space": {"parameters": {
        "depth": 1, "width": 8,
        "learning_rate": {"type": "float", "low": 1.0e-5, "high": 1.0e-4, "log": True},
        "init": {"type": "categorical", "choices": ["he", "xavier"]}}},
    "objective": "dev_cost",
    "train": {"epochs": 10, "batch_size": 32, "optimizer": "adam", "seed": 0},
    "study": {"n_trials": 5, "seed": 1, "sampler": "random", "pruner": "none"},
    "baselines": [{"learning_rate": 1.0e-4, "init": "he"}, {"learning_rate": 8.0e-5, "init": "he"},
                  {"learning_rate": 1.0e-5, "init": "he"}],
}


made = study_fixture("edges", "edge", **SECTIONS)


def test_learning_rate_at_its_upper_edge_is_found_with_a_decade_more(here):
    advice = advise("edge")
    [edge] = advice.edges
    assert (edge.param, edge.side, edge.bound) == ("learning_rate", "high", 1e-4)
    assert edge.widened == pytest.approx(1e-3)
    assert advice.evidence.best.params["learning_rate"] == pytest.approx(1e-4)
    found = next(f for f in advice.findings if f.kind == "edge")
    assert "learning_rate is at the high edge" in found.title
    assert "from 0.0001 to 0.001" in found.moves[0]


def test_the_suggested_space_validates_and_runs(here):
    out = cli("advise", "edge", "--write-space", "spaces/next.yaml")
    assert out.exit_code == 0, out.output
    assert "learning_rate is at the high edge" in out.output
    # 5 trials widen the edge but are too few to narrow the range (MIN_TO_NARROW)
    assert "narrowed" not in out.output and "baselines outside" not in out.output
    written = (here / "spaces" / "next.yaml").read_text()
    assert written.startswith("# Suggested by nnexp advise from study edge")
    lr = yaml.safe_load(written)["parameters"]["learning_rate"]
    assert lr["log"] is True and lr["high"] == pytest.approx(1e-3) and lr["low"] == 1e-5
    assert yaml.safe_load(written)["parameters"]["depth"] == 1  # fixed values kept
    sections = {k: v for k, v in SECTIONS.items() if k != "baselines"}
    path = write_experiment(here, "edge-next", **{**sections, "search_space": "../spaces/next.yaml",
                                                  "study": {"n_trials": 2, "seed": 2}})
    out = cli("validate", str(path))
    assert out.exit_code == 0, out.output
    out = cli("search", str(path), "--quiet")
    assert out.exit_code == 0, out.output
    from search_helpers import study

    s = study(here, "edge-next")
    assert [t.state.name for t in s.trials] == ["COMPLETE", "COMPLETE"]
    assert all(lr["low"] <= t.params["learning_rate"] <= lr["high"] for t in s.trials)
