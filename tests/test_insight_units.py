"""The rules of nnexp advise on their own, without a study: effect shapes, widened ranges
clipped to valid values, narrowing on the grid, the written space reading back as the same
space, and target_error in experiment files."""

from __future__ import annotations

import pytest
import yaml
from search_helpers import write_experiment

from nnexp.config import load_experiment
from nnexp.config.errors import ConfigError
from nnexp.config.source import Source
from nnexp.config.space import Parameter, parse_space
from nnexp.insight.edges import position, widen
from nnexp.insight.effects import shape
from nnexp.insight.nextspace import space_mapping


@pytest.mark.parametrize("means, maximize, expected", [
    ([0.70, 0.80, 0.90], True, "larger is better"),
    ([0.90, 0.80, 0.70], True, "smaller is better"),
    ([0.30, 0.20, 0.10], False, "larger is better"),  # a cost falling as the parameter grows
    ([0.70, 0.90, 0.75], True, "best in the middle"),
    ([0.80, 0.8001, 0.8], True, "flat"),
    ([0.70, 0.90, 0.60, 0.95], True, "irregular"),
])
def test_effect_shapes(means, maximize, expected):
    assert shape(means, maximize) == expected


def test_widening_one_decade_on_log_floats_and_clipped_to_valid_values():
    lr = Parameter("learning_rate", "float", low=1e-5, high=1e-4, log=True)
    assert widen(lr, "high") == pytest.approx(1e-3)
    assert widen(lr, "low") == pytest.approx(1e-6)
    keep = Parameter("keep_prob", "float", low=0.5, high=0.9)
    assert 0.9 < widen(keep, "high") <= 1.0  # 0.9 + 0.2 is clipped back into (0, 1]
    assert widen(Parameter("keep_prob", "float", low=0.5, high=1.0), "high") is None
    depth = Parameter("depth", "int", low=0, high=3, step=1)
    assert widen(depth, "low") is None  # depth >= 0
    assert widen(depth, "high") == 5
    assert widen(Parameter("width", "int", low=16, high=256, step=1, log=True), "high") == 512
    stepped = Parameter("l2", "float", low=0.0, high=0.1, step=0.02)
    assert widen(stepped, "high") == pytest.approx(0.16)  # 50% of the span, on the grid
    assert widen(stepped, "low") is None  # l2 >= 0


def test_position_is_on_the_log_scale_for_log_parameters():
    lr = Parameter("learning_rate", "float", low=1e-5, high=1e-3, log=True)
    assert position(lr, 1e-4) == pytest.approx(0.5)


def test_the_written_mapping_reads_back_as_the_same_space():
    raw = {"parameters": {
        "depth": {"type": "int", "low": 1, "high": 3},
        "width": {"type": "int", "low": 8, "high": 64, "log": True, "per_layer": True},
        "learning_rate": {"type": "float", "low": 1e-4, "high": 0.1, "log": True},
        "regularization": {"type": "categorical", "choices": ["none", "l2", "dropout"]},
        "l2": {"type": "float", "low": 0.0, "high": 0.1, "step": 0.01,
               "when": {"regularization": "l2"}},
        "keep_prob": {"type": "float", "low": 0.5, "high": 1.0,
                      "when": {"regularization": ["dropout"]}},
        "epochs": 20}}
    space = _parse(raw)
    again = _parse(yaml.safe_load(yaml.safe_dump(space_mapping(space), sort_keys=False)))
    assert again == space


def _parse(raw):
    from pathlib import Path

    src = Source(Path("space.yaml"), [])
    space = parse_space(raw, src, ())
    assert space is not None, src.problems
    return space


@pytest.mark.parametrize("value", [-0.1, "low", True])
def test_target_error_must_be_a_number_at_least_zero(tmp_path, value):
    path = write_experiment(tmp_path, target_error=value)
    with pytest.raises(ConfigError, match="target_error"):
        load_experiment(path)


def test_target_error_is_read_and_defaults_to_none(tmp_path):
    assert load_experiment(write_experiment(tmp_path, "a")).target_error is None
    assert load_experiment(write_experiment(tmp_path, "b", target_error=0.02)).target_error == 0.02


def _evidence(learning_rates: list[float]):
    from nnexp.config.space import Parameter, SearchSpace
    from nnexp.insight.evidence import StudyEvidence, Trial

    space = SearchSpace((Parameter("learning_rate", "float", low=1e-5, high=1.0, log=True),))
    trials = [Trial(i, 1.0 - i / 100, {"learning_rate": lr})
              for i, lr in enumerate(learning_rates)]
    return StudyEvidence("s", "dev_accuracy", True, "binary", trials,
                         {"complete": len(trials)}, space, None, None, None, [])


def test_ranges_are_narrowed_around_the_top_trials_only_once_the_study_has_enough():
    from nnexp.insight.nextspace import MIN_TO_NARROW, suggest_space

    best_first = [1e-3, 2e-3, 1.5e-3] + [0.3] * (MIN_TO_NARROW - 3)
    space, changes = suggest_space(_evidence(best_first), [])
    lr = space.get("learning_rate")
    assert 1e-5 < lr.low < 1e-3 and 2e-3 < lr.high < 1.0  # around the top trials' 1e-3..2e-3
    assert [c.param for c in changes] == ["learning_rate"]
    few, changes = suggest_space(_evidence(best_first[:MIN_TO_NARROW - 1]), [])
    assert few.get("learning_rate") == _evidence([]).space.get("learning_rate") and not changes
