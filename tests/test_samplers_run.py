"""Every sampler the experiment files name samples real trials through a search space's
define-by-run function (no training: a cheap objective of the resolved config)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import optuna
import pytest
from click.testing import CliRunner

from nnexp.cli import main
from nnexp.config import load_experiment
from nnexp.study.samplers import SAMPLERS, make_sampler

ROOT = Path(__file__).resolve().parents[1]
HAS_TORCH = importlib.util.find_spec("torch") is not None


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_every_sampler_runs_trials_of_a_real_space(name):
    if name == "gp" and not HAS_TORCH:
        pytest.skip("GPSampler needs PyTorch, which nnexp does not install")
    exp = load_experiment(ROOT / "experiments" / "planar_hidden_size.yaml") if name == "grid" \
        else load_experiment(ROOT / "experiments" / "quickstart.yaml")
    sampler = make_sampler(name, {}, seed=3, space=exp.space)
    study = optuna.create_study(sampler=sampler, direction="maximize")

    def objective(trial) -> float:
        config = exp.train_config(exp.space.suggest(trial), trial.number)
        return config.learning_rate * sum(config.hidden_layers)

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study.optimize(objective, n_trials=7)
    assert [t.state.name for t in study.trials] == ["COMPLETE"] * 7
    if name == "grid":  # the course's 7 widths, each exactly once
        assert sorted(t.params["width"] for t in study.trials) == [1, 2, 3, 4, 5, 20, 50]


@pytest.mark.skipif(HAS_TORCH, reason="PyTorch is installed here: gp can run")
def test_gp_without_pytorch_is_a_clear_validation_error(tmp_path):
    path = tmp_path / "gp.yaml"
    path.write_text(f"dataset: {{name: moons}}\n"
                    f"search_space: {ROOT / 'search_spaces' / 'depth_width_lr_init.yaml'}\n"
                    "study: {sampler: gp}\n")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert "study.sampler" in result.output and "PyTorch" in result.output
    assert "Traceback" not in result.output
