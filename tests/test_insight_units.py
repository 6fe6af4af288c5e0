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


# ----- reading the learning curves and update ratios (nnexp.insight.curves, rate, chance, noise)

def _curve(number, lr, costs, ratio=None, state="complete", value=0.5, high_bias=True):
    from nnexp.insight.curves import TrialCurve

    return TrialCurve(number, state, value, lr, list(enumerate(costs, start=1)), ratio,
                      None if ratio is None else ratio * 20, 20, high_bias=high_bias)


def _flat(start=0.70, epochs=30, fall=0.003):
    return [start * (1 - fall * e / epochs) for e in range(epochs)]


def _falling(start=0.70, epochs=30):
    return [start * 0.9 ** e for e in range(epochs)]


def _bouncing(epochs=30, level=0.7):
    return [level * 2] + [level * (1.1 if e % 2 else 0.9) for e in range(epochs - 1)]


def test_cost_fall_rising_and_oscillation_read_one_curve():
    from nnexp.insight.curves import cost_fall, oscillation, rising

    pts = lambda values: list(enumerate(values, start=1))  # noqa: E731
    assert cost_fall(pts([1.0, 0.9, 0.5])) == pytest.approx(0.5)
    assert cost_fall(pts([1.0])) is None
    assert oscillation(pts(_falling())) == 0.0  # only falls
    assert oscillation(pts(_bouncing())) == pytest.approx(1.0, abs=0.1)
    assert oscillation(pts([0.5 + 0.001 * (-1) ** e for e in range(20)])) == 0.0  # flat: 0.2%
    assert rising(pts([0.7, 0.3, 0.4, 0.6]))  # back up from its low
    assert rising(pts([0.7, 0.5, float("inf")]))  # overflowed
    assert not rising(pts([0.7, 1e-4, 1.2e-4]))  # a memorising net wobbling near zero
    assert not rising(pts(_falling()))


def test_update_ratios_are_brought_to_one_update():
    from nnexp.insight.curves import layer_ratios, per_update, updates_per_epoch
    from nnexp.insight.evidence import Trial

    assert per_update(3e-4, 3, 7) == (pytest.approx(3e-4 / 21), 21)
    assert per_update(3e-4, 0, None) == (3e-4, 1)
    assert updates_per_epoch(Trial(0, 0.5, {}, config={"batch_size": 32}), 210) == 7
    assert updates_per_epoch(Trial(0, 0.5, {}, config={"batch_size": None}), None) == 1
    assert updates_per_epoch(Trial(0, 0.5, {}, config={"batch_size": 32}), None) is None
    assert layer_ratios({"4_layer_02/update_ratio": 1e-3, "layer_1/update_ratio": 2e-3,
                         "layer_1/grad_norm": 5.0}) == {2: 1e-3, 1: 2e-3}


LR = Parameter("learning_rate", "float", low=1e-6, high=1e-5, log=True)


def test_a_learning_rate_far_too_small_moves_the_range_up_to_a_healthy_update_ratio():
    from nnexp.insight.rate import too_small

    # ratio per update = 0.5 * lr: the healthy 1e-3 is reached at lr 2e-3, the centre of
    # [1e-6, 1e-5] is 3.16e-6: a factor of 632, shown as 600
    curves = [_curve(n, lr, _flat(), 0.5 * lr) for n, lr in enumerate([1e-6, 3e-6, 9e-6])]
    found = too_small(curves, best=0, param=LR, high_bias=True)
    assert found is not None and found.whole and found.factor == 600
    assert (found.param.low, found.param.high) == (pytest.approx(6e-4), pytest.approx(6e-3))
    assert found.param.log
    assert "median update ratio 1.5e-06 per update" in found.evidence
    assert "fell 0.29% over 30 epochs" in found.evidence
    assert "range up 600x, to [0.0006, 0.006]" in found.moves[0]
    tiny = [_curve(n, lr, _flat(), 1e-4 * lr) for n, lr in enumerate([1e-6, 3e-6, 9e-6])]
    assert too_small(tiny, 0, LR, True).factor == 1000  # capped
    assert "(capped)" in too_small(tiny, 0, LR, True).moves[0]
    # not when the cost falls, when the ratio is healthy, or when the best trial is fine
    assert too_small([_curve(0, 1e-5, _falling(), 5e-6)], 0, LR, True) is None
    assert too_small([_curve(0, 1e-5, _flat(), 2e-3)], 0, LR, True) is None
    assert too_small(curves, 0, LR, high_bias=False) is None
    # the trial with the largest rate trains: the range is not too small as a whole
    healthy_top = curves[:2] + [_curve(2, 9e-6, _falling(), 2e-3)]
    assert too_small(healthy_top, 0, LR, True) is None


HIGH = Parameter("learning_rate", "float", low=2.0, high=20.0, log=True)


def test_a_learning_rate_too_large_moves_the_range_down():
    from nnexp.insight.rate import too_large

    bad = [_curve(0, 3.0, _bouncing()), _curve(1, 9.0, _bouncing()),
           _curve(2, 15.0, [], state="diverged")]
    found = too_large(bad, best=0, param=HIGH)
    # the high end 20 goes to a tenth of the smallest rate that went bad, 3: 66.7x, shown as 70
    assert found.whole and found.factor == pytest.approx(1 / 70)
    assert (found.param.low, found.param.high) == (pytest.approx(0.0286), pytest.approx(0.286))
    assert "range down 70x, to [0.0286, 0.286]" in found.moves[0]
    assert found.evidence.startswith("1 diverged, 2 oscillating of the 3 trials read")
    assert "trial 0 (learning_rate 3): train cost went up 1x as much as down" in found.evidence
    # only the top of the range went bad: its high end comes down between good and bad
    top = [_curve(0, 2.5, _falling()), _curve(1, 4.0, _falling()), _curve(2, 9.0, _bouncing()),
           _curve(3, 16.0, _bouncing())]
    part = too_large(top, best=1, param=HIGH)
    assert not part.whole and part.new_high == pytest.approx(6.0)  # sqrt(4 * 9)
    assert part.param.low == 2.0 and part.param.high == pytest.approx(6.0)
    assert too_large(top, best=3, param=HIGH) is None  # the best trial went bad itself
    assert too_large([_curve(0, 3.0, _falling())], 0, HIGH) is None
    # bouncing around a low cost in a trial that scores fine is mini-batch noise
    assert too_large([_curve(0, 3.0, _bouncing(), high_bias=False)], 0, HIGH) is None
    # a cost that fell from a blown-up first epoch to weights that no longer move
    frozen = too_large([_curve(0, 3.0, [900.0] + [0.7] * 29, ratio=1e-9)], 0, HIGH)
    assert "its cost fell from 900 at epoch 1 and its weights froze (update ratio 1e-09 per " \
        "update)" in frozen.evidence


def _classified(number, dev, train=None, hidden=(16,)):
    from nnexp.insight.evidence import Trial

    return Trial(number, dev, {}, {"final_dev_accuracy": dev,
                                   "final_train_accuracy": dev if train is None else train},
                 config={"hidden_layers": list(hidden)})


def test_nothing_learned_when_every_trial_is_at_the_majority_class_rate():
    from nnexp.insight.chance import Chance, nothing_learned

    chance = Chance(0.63, 0.65, 90, "0")  # two standard errors: 0.10
    trials = [_classified(2, 0.70), _classified(0, 0.60, train=0.66), _classified(1, 0.55)]
    found = nothing_learned(trials, chance, True, fall=0.3, moved=1e-3)
    assert found is not None and "majority-class rate 0.63" in found.evidence
    assert "check the target" in found.moves[0]
    assert nothing_learned([_classified(0, 0.80)] + trials, chance, True, 0.3) is None
    assert nothing_learned(trials, chance, True, fall=0.01) is None  # the cost barely moved
    assert nothing_learned(trials, chance, True, fall=0.3, moved=1e-6) is None  # nor weights
    linear = [_classified(0, 0.6, hidden=())]
    assert nothing_learned(linear, chance, True, fall=0.3) is None  # capacity, not data
    assert nothing_learned(trials, None, True, fall=0.3) is None  # chance level unknown


def test_nothing_learned_for_regression_when_every_trial_predicts_the_mean():
    from nnexp.insight.chance import nothing_learned
    from nnexp.insight.evidence import Trial

    trials = [Trial(n, 5.0, {}, {"final_dev_r2": r2}, config={"hidden_layers": [8]})
              for n, r2 in enumerate([0.03, -0.01])]
    assert "predicts about the target's mean" in nothing_learned(trials, None, False,
                                                                   0.5).evidence
    trials[0].metrics["final_dev_r2"] = 0.4
    assert nothing_learned(trials, None, False, 0.5) is None


def _seeded(number, lr, value, seed):
    from nnexp.insight.evidence import Trial

    return Trial(number, value, {"learning_rate": lr, "init": "he"}, seed=seed)


def test_noise_between_seeds_larger_than_an_effect_is_said_instead_of_the_effect():
    from nnexp.insight.effects import Bin, Effect
    from nnexp.insight.noise import replicates, same, within_noise

    assert same({"learning_rate": 0.01, "init": "he", "seed": 1},
                {"learning_rate": 0.0101, "init": "he", "seed": 2})
    assert not same({"learning_rate": 0.01, "init": "he"}, {"learning_rate": 0.011,
                                                            "init": "he"})
    assert not same({"learning_rate": 0.01, "init": "he"}, {"learning_rate": 0.01,
                                                            "init": "xavier"})
    repeats = [_seeded(n, 0.01 * (1 + 0.005 * n), v, seed=n)
               for n, v in enumerate([0.80, 0.72, 0.86, 0.76])]  # sd 0.06
    others = [_seeded(4, 0.03, 0.78, 4), _seeded(5, 0.05, 0.75, 5)]
    assert [len(g) for g in replicates(repeats + others)] == [4]
    assert replicates([_seeded(0, 0.01, 0.8, 7), _seeded(1, 0.01, 0.8, 7)]) == []  # one seed
    eff = Effect("learning_rate", "dev_accuracy", "smaller is better",
                 [Bin("0.01", 0.01, 0.01, 0.80, 3), Bin("0.03", 0.03, 0.05, 0.75, 3)], 0)
    noise = within_noise(repeats + others, eff)
    assert noise is not None and noise.sigma == pytest.approx(0.0606, abs=1e-3)
    assert noise.title() == ("noise between initialisations (±0.098) is larger than the effect "
                             "of learning_rate (0.05); not naming an effect")
    eff.bins[1].mean = 0.60  # a difference of 0.2: an effect
    assert within_noise(repeats + others, eff) is None


def test_the_next_space_takes_a_moved_learning_rate_and_keeps_a_noisy_range():
    from nnexp.insight.nextspace import suggest_space

    ev = _evidence([1e-3, 2e-3, 1.5e-3] + [0.3] * 10)
    moved = Parameter("learning_rate", "float", low=1e-2, high=1e-1, log=True)
    space, changes = suggest_space(ev, [], moved={"learning_rate": (moved, "moved up")})
    assert space.get("learning_rate") == moved and changes[0].why == "moved up"
    space, changes = suggest_space(ev, [], kept={"learning_rate": "kept: noise"})
    assert space.get("learning_rate") == ev.space.get("learning_rate")  # not narrowed
    assert changes[0].line() == "learning_rate: 1e-05 .. 1 -> 1e-05 .. 1 (kept: noise)"
