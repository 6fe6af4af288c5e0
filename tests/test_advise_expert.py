"""What a person who took the course says first about a study, read from its learning curves
and per-layer update ratios: four real small studies, each built to show one thing.

1. A learning rate far too small (Adam at 1e-6 .. 1e-5 for 30 epochs): every trial near
   chance, the cost flat, update ratios ~1e-6 per update. advise says so first, moves the
   range up, and the written space trains (checked by running it).
2. A learning rate far too large (Adam at 2 .. 20): every trial's cost oscillates or its
   units die. advise says so first and moves the range down; the written space trains.
3. Nothing learned (random labels on random features): every trial at the majority-class
   rate although its cost fell and its weights moved. advise says to check the data first.
4. Noise between initialisations larger than the effect of the learning rate (0.009 .. 0.011
   for 60 epochs, four nearly equal baselines from different seeds): advise says so instead
   of naming an effect.
"""

from __future__ import annotations

import statistics

import numpy as np
import pytest
import yaml
from inspect_helpers import cli, study_fixture
from search_helpers import study, write_experiment

from nnexp.insight import advise
from nnexp.insight.curves import cost_fall

MOONS = {"name": "moons", "n_samples": 300, "noise": 0.2, "dev_size": 0.3, "test_size": 0.1,
         "seed": 0}
ADAM = {"epochs": 30, "batch_size": 32, "optimizer": "adam"}
FIVE = {"n_trials": 5, "seed": 1, "sampler": "random", "pruner": "none"}


def _space(low: float, high: float, hidden=(16, 8)) -> dict:
    return {"parameters": {"hidden_layers": list(hidden), "learning_rate": {
        "type": "float", "low": low, "high": high, "log": True}}}


SMALL = {"dataset": MOONS, "search_space": _space(1e-6, 1e-5), "train": ADAM, "study": FIVE}
LARGE = {"dataset": MOONS, "search_space": _space(2.0, 20.0), "train": ADAM, "study": FIVE}
CHANCE = {"dataset": {"path": "../data/random.csv", "target": "label", "dev_size": 0.3,
                      "test_size": 0.1, "seed": 0},
          "search_space": _space(0.003, 0.03, hidden=(16,)), "train": ADAM, "study": FIVE}
NOISE = {"dataset": {**MOONS, "n_samples": 200, "noise": 0.3},
         "search_space": _space(0.009, 0.011, hidden=(8,)),
         "train": {**ADAM, "epochs": 60},  # trained to the end: 10% more rate changes little
         "study": {**FIVE, "n_trials": 9},
         # four runs of nearly one configuration (Optuna keeps one of equal baselines)
         "baselines": [{"learning_rate": lr} for lr in (0.01, 0.0101, 0.0099, 0.01005)],
         "target_error": 0.15}


def _random_labels(directory) -> None:
    """data/random.csv: 300 rows of three normal features and a label drawn apart from them,
    35% ones (so the majority-class rate is about 0.65, not 0.5)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = (rng.random(300) < 0.35).astype(int)
    (directory / "data").mkdir()
    rows = [",".join(f"{v:.4f}" for v in x) + f",{t}" for x, t in zip(X, y)]
    (directory / "data" / "random.csv").write_text("a,b,c,label\n" + "\n".join(rows) + "\n")


small = study_fixture("small", "small", **SMALL)
large = study_fixture("large", "large", **LARGE)
chance = study_fixture("chance", "chance", prepare=_random_labels, **CHANCE)
noisy = study_fixture("noisy", "noisy", **NOISE)


@pytest.fixture()
def work_in(monkeypatch):
    def go(directory):
        monkeypatch.chdir(directory)
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
        return directory
    return go


def _first(out: str) -> tuple[str, str, list[str]]:
    """The first finding nnexp advise prints: its title, evidence and moves."""
    lines = out.splitlines()
    i = lines.index(next(ln for ln in lines if ln.startswith("1. ")))
    moves = []
    for ln in lines[i + 2:]:
        if not ln.startswith("   -> "):
            break
        moves.append(ln[len("   -> "):])
    assert lines[i + 1].startswith("   evidence: ")
    return lines[i][3:], lines[i + 1][len("   evidence: "):], moves


def _run_next(here, name: str, sections: dict):
    """Run three trials of ``sections`` on the written space spaces/next.yaml; the advice on
    that study."""
    path = write_experiment(here, f"{name}-next", **{
        **sections, "search_space": "../spaces/next.yaml",
        "study": {"n_trials": 3, "seed": 2, "sampler": "random", "pruner": "none"}})
    out = cli("search", str(path), "--quiet")
    assert out.exit_code == 0, out.output
    assert [t.state.name for t in study(here, f"{name}-next").trials] == ["COMPLETE"] * 3
    return advise(f"{name}-next")


def test_a_learning_rate_far_too_small_is_said_first_and_the_range_moves_up(small, work_in):
    here = work_in(small)
    advice = advise("small")
    assert max(t.value for t in advice.evidence.trials) < 0.7  # every trial near chance
    out = cli("advise", "small", "--write-space", "spaces/next.yaml")
    assert out.exit_code == 0, out.output
    title, evidence, moves = _first(out.output)
    assert title == "learning_rate far too small: the weights and the cost barely move"
    assert "per update at the last sampled epoch" in evidence and "about 0.001 is healthy" \
        in evidence and "learning_rate [1e-06, 1e-05]" in evidence
    ratio = float(evidence.split("median update ratio ")[1].split()[0])
    assert ratio < 1e-4  # orders of magnitude below 1e-3
    fell = float(evidence.split("the train cost fell ")[1].split("%")[0])
    assert fell < 5
    assert moves[0].startswith("move learning_rate's range up ")
    # the noisy "smaller is better" between initialisations is no longer named, nor the
    # low edge that reading would widen, and bias/variance comes after
    assert "smaller is better" not in out.output and "low edge" not in out.output
    assert "2. best trial" in out.output and "high bias" in out.output
    lr = yaml.safe_load((here / "spaces" / "next.yaml").read_text())["parameters"][
        "learning_rate"]
    factor = advice.rate.factor
    assert 100 <= factor <= 1000
    assert lr["log"] is True and lr["low"] == pytest.approx(1e-6 * factor) and \
        lr["high"] == pytest.approx(1e-5 * factor)
    assert lr["low"] > 1e-5  # the whole range moved above the old one
    # there the median update ratio is about 1e-3 (within half a decade), the cost falls and
    # the network learns
    after = _run_next(here, "small", SMALL)
    median = statistics.median(c.ratio for c in after.curves)
    assert 10 ** -3.5 < median < 10 ** -2.5, median
    assert all(cost_fall(c.costs) > 0.05 for c in after.curves)
    assert after.evidence.best.value > advice.evidence.best.value + 0.1
    assert after.rate is None


def test_a_learning_rate_far_too_large_is_said_first_and_the_range_moves_down(large, work_in):
    here = work_in(large)
    out = cli("advise", "large", "--write-space", "spaces/next.yaml")
    assert out.exit_code == 0, out.output
    title, evidence, moves = _first(out.output)
    assert title == ("learning_rate too large: every trial went bad (its cost rose, "
                     "oscillated or diverged, or its weights froze)")
    assert "of the 5 trials read (learning_rate [2, 20])" in evidence
    assert "as much as down in the second half of its run" in evidence  # oscillating
    assert moves[0].startswith("move learning_rate's range down ")
    assert "its high end a tenth of the smallest rate that went bad" in moves[0]
    lr = yaml.safe_load((here / "spaces" / "next.yaml").read_text())["parameters"][
        "learning_rate"]
    assert lr["high"] <= 0.2 + 1e-12 and lr["low"] < lr["high"]  # below a tenth of 2
    before = advise("large")
    after = _run_next(here, "large", LARGE)  # there no trial goes bad, and they score better
    assert after.rate is None and after.evidence.best.value > before.evidence.best.value


def test_nothing_learned_says_check_the_data_first(chance, work_in):
    here = work_in(chance)
    out = cli("advise", "chance", "--write-space", "spaces/next.yaml")
    assert out.exit_code == 0, out.output
    title, evidence, moves = _first(out.output)
    assert title.startswith("nothing learned: every trial is at chance")
    assert "majority-class rate 0.6" in evidence and "(always answering class 0)" in evidence
    assert "the weights moved" in evidence  # the learning rate is not the cause
    assert moves[0].startswith("check the target") and moves[1].startswith("check the features")
    assert "most important" not in out.output and "edge of its range" not in out.output
    written = (here / "spaces" / "next.yaml").read_text()
    assert "no change suggested" in written


def test_noise_between_seeds_larger_than_the_effect_is_said_instead_of_an_effect(
        noisy, work_in):
    work_in(noisy)
    advice = advise("noisy")
    assert advice.diagnoses[0].verdict == "fine", advice.diagnoses[0].evidence()
    out = cli("advise", "noisy")
    assert out.exit_code == 0, out.output
    title, evidence, moves = _first(out.output)
    assert title.startswith("noise between initialisations (±")
    assert title.endswith("is larger than the effect of learning_rate ("
                          f"{advice.noise.effect:.2g}); not naming an effect")
    assert advice.noise.effect < advice.noise.needed
    assert advice.effect.shape != "flat"  # a shape that would have been named
    assert f"{advice.noise.runs} runs of" in evidence and "from different seeds" in evidence
    assert "its effect on" not in out.output  # no shape named
    assert "keeps its range" in moves[0]
    assert [c.why for c in advice.changes if c.param == "learning_rate"] == [
        "kept: noise between initialisations is larger than its effect"]
