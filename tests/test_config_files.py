"""Shipped files validate; defaults, datasets, run files, samplers and pruners."""

from __future__ import annotations

import textwrap
from pathlib import Path

import optuna
import pytest
from click.testing import CliRunner

from nnexp.cli import main
from nnexp.config import ConfigError, load_experiment, load_run_config
from nnexp.core.config import TrainConfig
from nnexp.study.samplers import PRUNERS, SAMPLERS, check_options, make_pruner, make_sampler

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENTS = sorted((ROOT / "experiments").glob("*.yaml"))


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize("path", EXPERIMENTS, ids=[p.stem for p in EXPERIMENTS])
def test_shipped_experiment_validates(path):
    experiment = load_experiment(path)
    assert experiment.name == path.stem
    assert path.read_text().startswith("#"), "each experiment says what it reproduces"
    experiment.train_config(experiment.space.example(), 0)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok\n")
    for row in experiment.space.summary():
        assert row.parameter in result.output


def test_shipped_experiments_cover_the_brief():
    names = {p.stem for p in EXPERIMENTS}
    assert {"quickstart", "planar_hidden_size", "circles_initialization", "moons_optimizers",
            "digits_depth_width"} <= names
    planar = load_experiment(ROOT / "experiments" / "planar_hidden_size.yaml")
    assert planar.study.sampler == "grid" and planar.study.n_trials == 7
    assert planar.space.grid() == {"width": [1, 2, 3, 4, 5, 20, 50]}
    assert planar.train_config({"width": 4}, 0).hidden_layers == (4,)
    assert planar.train_config({"width": 4}, 0).activation == "tanh"


def test_validate_prints_the_summary():
    result = CliRunner().invoke(main, ["validate", str(ROOT / "experiments" / "quickstart.yaml")])
    out = result.output
    for text in ("experiment: quickstart", "digits", "dev_accuracy (maximize)", "sampler tpe",
                 "pruner median", "25 trials", "init == random", "grid size:"):
        assert text in out


def test_minimal_experiment_defaults(tmp_path):
    write(tmp_path, "s.yaml", "parameters: {learning_rate: {type: float, low: 0.001, high: 0.1}}")
    experiment = load_experiment(write(tmp_path, "tiny.yaml", """
        dataset: {name: regression}
        search_space: s.yaml
    """))
    assert experiment.name == "tiny"
    assert experiment.objective == [("dev_rmse", "minimize")]
    assert experiment.study.sampler == "tpe" and experiment.study.pruner == "none"
    assert experiment.study.n_trials == 20 and experiment.study.jobs == 1
    assert experiment.tracking.log_models == "best"
    assert experiment.dataset.dev_size == 0.2 and experiment.dataset.scale == "standard"
    assert experiment.baselines == [] and experiment.train == {}


def test_multi_objective_defaults_to_no_pruner(tmp_path):
    experiment = load_experiment(write(tmp_path, "e.yaml", """
        dataset: {name: digits}
        search_space: {parameters: {l2: {type: float, low: 0.0, high: 0.1}}}
        objective: [dev_accuracy, {metric: train_seconds}]
    """))
    assert experiment.study.pruner == "none"
    assert experiment.directions == ["maximize", "minimize"]


def test_dataset_generator_parameters_and_file_paths(tmp_path):
    experiment = load_experiment(write(tmp_path, "e.yaml", """
        dataset: {name: moons, n_samples: 300, noise: 0.3, seed: 4, params: {seed: 9}}
        search_space: {parameters: {epochs: 3}}
    """))
    assert experiment.dataset.params == {"n_samples": 300, "noise": 0.3, "seed": 9}
    assert experiment.dataset.seed == 4
    write(tmp_path, "data/points.csv",  # enough rows for a dev split, which is now checked
          "a,b,label\n" + "".join(f"{i},2,{i % 3}\n" for i in range(10)))
    experiment = load_experiment(write(tmp_path, "sub/e.yaml", """
        dataset: {path: ../data/points.csv, target: label, task: regression}
        search_space: {parameters: {epochs: 3}}
        objective: dev_r2
    """))
    assert experiment.dataset.path.resolve() == (tmp_path / "data" / "points.csv").resolve()
    assert experiment.dataset.name is None and experiment.dataset.target == "label"
    assert experiment.objective == [("dev_r2", "maximize")]


def test_dataset_spec_feeds_the_data_layer(tmp_path):
    from nnexp.data import prepare

    experiment = load_experiment(write(tmp_path, "e.yaml", """
        dataset: {name: moons, n_samples: 100, dev_size: 0.25, test_size: 0.25}
        search_space: {parameters: {epochs: 3}}
    """))
    splits = prepare(experiment.dataset)
    assert len(splits.y_train) == 50 and len(splits.y_dev) == 25


RUN = """
    name: best-digits
    dataset: {name: digits, dev_size: 0.2, test_size: 0.2}
    train: {hidden_layers: [64, 32], learning_rate: 0.003, epochs: 30}
    objective: {metric: dev_accuracy}
    tracking: {log_models: none}
    source: {study: quickstart, trial: 12, dev_accuracy: 0.98}
"""


def test_load_run_config(tmp_path):
    run = load_run_config(write(tmp_path, "run.yaml", RUN))
    assert run.name == "best-digits"
    assert run.train == TrainConfig(hidden_layers=(64, 32), learning_rate=0.003, epochs=30)
    assert run.objective == [("dev_accuracy", "maximize")]
    assert run.source["trial"] == 12 and run.tracking.log_models == "none"


def test_run_config_round_trips_train_config_to_dict(tmp_path):
    config = TrainConfig(hidden_layers=(8, 4), keep_prob=(0.9, 0.8), batch_size=None)
    import yaml

    text = yaml.safe_dump({"dataset": {"name": "iris"}, "train": config.to_dict()})
    assert load_run_config(write(tmp_path, "run.yaml", text)).train == config


@pytest.mark.parametrize(("change", "fragments"), [
    (("epochs: 30", "epochs: 30, optimiser: adam"), ["train.optimiser", "'optimizer'"]),
    (("hidden_layers: [64, 32]", "hidden_layers: [64, 32], keep_prob: [0.5]"),
     ["train", "keep_prob has 1 values"]),
    (("name: best-digits", "nam: best-digits"), ["nam", "did you mean 'name'"]),
    (("{name: digits,", "{name: digits, target: y,"), ["dataset", "target and task are for"]),
])
def test_run_config_errors(tmp_path, change, fragments):
    path = write(tmp_path, "run.yaml", RUN.replace(*change))
    with pytest.raises(ConfigError) as info:
        load_run_config(path)
    for fragment in ["run.yaml", *fragments]:
        assert fragment in str(info.value)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_every_sampler_builds(name, tmp_path):
    experiment = load_experiment(ROOT / "experiments" / "planar_hidden_size.yaml")
    sampler = make_sampler(name, {}, seed=1, space=experiment.space)
    assert isinstance(sampler, optuna.samplers.BaseSampler)
    assert check_options("sampler", name, {}) == []


@pytest.mark.parametrize("name", sorted(PRUNERS))
def test_every_pruner_builds(name):
    options = {"percentile": 25.0} if name == "percentile" else {}
    assert check_options("pruner", name, options) == []
    assert isinstance(make_pruner(name, options), optuna.pruners.BasePruner)


def test_options_are_checked_against_the_class():
    assert check_options("sampler", "tpe", {"n_startup_trials": 5, "multivariate": True}) == []
    problems = dict(check_options("sampler", "tpe", {"gamma": 0.1, "n_startup": 3}))
    assert "Python object" in problems["gamma"]
    assert "did you mean 'n_startup_trials'" in problems["n_startup"]
    sampler = make_sampler("tpe", {"n_startup_trials": 3}, seed=0)
    assert sampler._n_startup_trials == 3
