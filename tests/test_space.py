"""Search spaces on real Optuna studies: what is sampled, what it resolves to, grids, baselines."""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path

import optuna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnexp.config import ConfigError, load_experiment, load_space, to_train_config, trial_seed
from nnexp.config.source import Source
from nnexp.config.space import parse_space
from nnexp.core.config import TrainConfig
from nnexp.study.samplers import make_sampler

ROOT = Path(__file__).resolve().parents[1]
SPACES = sorted((ROOT / "search_spaces").glob("*.yaml"))

optuna.logging.set_verbosity(optuna.logging.WARNING)


def space_from(tmp_path: Path, text: str):
    path = tmp_path / "space.yaml"
    path.write_text(textwrap.dedent(text))
    return load_space(path)


def random_study(seed: int = 0) -> optuna.Study:
    return optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))


def sample(space, n: int, seed: int = 0) -> list[dict]:
    """``n`` configurations from a random-sampler study, each checked against trial.params."""
    study, out = random_study(seed), []
    for _ in range(n):
        trial = study.ask()
        params = space.suggest(trial)
        assert params == trial.params
        study.tell(trial, 0.0)
        out.append(params)
    return out


@pytest.mark.parametrize("path", SPACES, ids=[p.stem for p in SPACES])
def test_shipped_space_samples_valid_configs(path):
    space = load_space(path)
    for params in sample(space, 40):
        config = to_train_config(params, space.fixed, seed=3)
        assert isinstance(config, TrainConfig)
        assert config.seed == 3


def test_conditional_parameters_appear_only_when_their_condition_holds():
    space = load_space(ROOT / "search_spaces" / "optimizers.yaml")
    seen = set()
    for params in sample(space, 300):
        optimizer = params["optimizer"]
        seen.add(optimizer)
        assert ("beta1" in params) == (optimizer in ("momentum", "adam"))
        assert ("beta2" in params) == (optimizer in ("rmsprop", "adam"))
        inverse = params["schedule"] == "inverse_time"
        assert ("decay_rate" in params) == inverse and ("decay_steps" in params) == inverse
        config = to_train_config(params, {}, seed=0)
        assert config.beta1 == params.get("beta1", TrainConfig.beta1)
    assert seen == {"gd", "momentum", "rmsprop", "adam"}


def test_range_condition_and_helper_parameter(tmp_path):
    space = space_from(tmp_path, """
        parameters:
          depth: {type: int, low: 0, high: 3}
          width: {type: categorical, choices: [4, 8]}
          regularization: {type: categorical, choices: [none, dropout]}
          keep_prob: {type: float, low: 0.5, high: 0.9, when: {regularization: dropout,
                                                             depth: {low: 2}}}
    """)
    for params in sample(space, 200):
        active = params["regularization"] == "dropout" and params["depth"] >= 2
        assert ("keep_prob" in params) == active
        config = to_train_config(params, {}, seed=0)
        assert config.keep_prob == params.get("keep_prob", 1.0)
        assert config.hidden_layers == (params["width"],) * params["depth"]


def test_per_layer_widths_follow_depth():
    space = load_space(ROOT / "search_spaces" / "per_layer_widths.yaml")
    depths = set()
    for params in sample(space, 150):
        depth = params["depth"]
        depths.add(depth)
        widths = sorted(k for k in params if k.startswith("width_"))
        assert widths == [f"width_{i}" for i in range(1, depth + 1)]
        config = to_train_config(params, {}, seed=0)
        assert config.hidden_layers == tuple(params[w] for w in widths)
        assert all(8 <= w <= 256 for w in config.hidden_layers)
    assert depths == {1, 2, 3, 4}


def test_per_layer_keep_prob(tmp_path):
    space = space_from(tmp_path, """
        parameters:
          depth: {type: int, low: 1, high: 3}
          width: 16
          keep_prob: {type: float, low: 0.5, high: 1.0, per_layer: true}
    """)
    for params in sample(space, 30):
        config = to_train_config(params, space.fixed, seed=0)
        assert config.keep_prob == tuple(params[f"keep_prob_{i}"]
                                         for i in range(1, params["depth"] + 1))
        assert config.hidden_layers == (16,) * params["depth"]


def test_fixed_values_apply_and_the_space_overrides_train(tmp_path):
    space = space_from(tmp_path, """
        parameters:
          epochs: 7
          hidden_layers: [12, 6]
          learning_rate: {type: float, low: 0.01, high: 0.1}
    """)
    train = {"epochs": 50, "learning_rate": 0.5, "batch_size": 16, "hidden_layers": (3,)}
    (params,) = sample(space, 1)
    config = to_train_config(params, {**train, **space.fixed}, seed=0)
    assert config.epochs == 7 and config.hidden_layers == (12, 6)
    assert config.learning_rate == params["learning_rate"] != 0.5
    assert config.batch_size == 16


def test_yaml_strings_that_are_numbers_become_numbers(tmp_path):
    # PyYAML reads 1e-3 (no dot) as a string; the space must still hand Optuna floats.
    space = space_from(tmp_path, """
        parameters:
          learning_rate: {type: float, low: 1e-3, high: 1e-1, log: true}
          l2: {type: categorical, choices: [0, 1e-4]}
    """)
    for params in sample(space, 10):
        assert isinstance(params["learning_rate"], float)
        assert params["l2"] in (0.0, 1e-4)
        to_train_config(params, {}, seed=0)


def test_grid_size_and_grid_sampler_cover_a_finite_space_exactly(tmp_path):
    space = space_from(tmp_path, """
        parameters:
          activation: {type: categorical, choices: [relu, tanh, sigmoid]}
          epochs: {type: int, low: 2, high: 8, step: 2}
          keep_prob: {type: float, low: 0.5, high: 1.0, step: 0.25}
          learning_rate: 0.01
    """)
    assert space.grid_size() == 3 * 4 * 3
    study = optuna.create_study(sampler=make_sampler("grid", {}, seed=0, space=space))
    study.optimize(lambda trial: float(len(space.suggest(trial))), n_trials=100)
    seen = [tuple(sorted(t.params.items())) for t in study.trials]
    expected = {tuple(sorted(zip(("activation", "epochs", "keep_prob"), values)))
                for values in itertools.product(["relu", "tanh", "sigmoid"], [2, 4, 6, 8],
                                                [0.5, 0.75, 1.0])}
    assert len(seen) == len(set(seen)) == 36
    assert set(seen) == expected


def test_grid_size_counts_conditional_spaces_exactly(tmp_path):
    assert load_space(ROOT / "search_spaces" / "initialization.yaml").grid_size() == 6
    space = space_from(tmp_path, """
        parameters:
          depth: {type: int, low: 1, high: 2}
          width: {type: categorical, choices: [8, 16], per_layer: true}
    """)
    assert space.grid_size() == 2 + 4
    assert len({tuple(sorted(p.items())) for p in sample(space, 300)}) == 6
    with pytest.raises(ConfigError, match="without conditions"):
        space.grid()


def test_grid_refuses_continuous_spaces():
    space = load_space(ROOT / "search_spaces" / "depth_width_lr_init.yaml")
    assert space.grid_size() is None
    with pytest.raises(ConfigError, match="finite space; learning_rate, init_scale"):
        space.grid()


def test_per_layer_grid_with_fixed_depth(tmp_path):
    space = space_from(tmp_path, """
        parameters:
          depth: 2
          width: {type: categorical, choices: [8, 16, 32], per_layer: true}
    """)
    assert not space.is_conditional
    assert space.grid() == {"width_1": [8, 16, 32], "width_2": [8, 16, 32]}
    assert space.grid_size() == 9


def test_summary_rows():
    space = load_space(ROOT / "search_spaces" / "depth_width_lr_init.yaml")
    rows = {row.parameter: row for row in space.summary()}
    assert rows["width"].range == "16 .. 256" and rows["width"].log == "log"
    assert rows["init"].type == "categorical" and rows["init"].range == "he, xavier, random"
    assert rows["init_scale"].condition == "init == random"


def write_experiment(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(textwrap.dedent(text).replace("SPACES", str(ROOT / "search_spaces")))
    return path


def test_baselines_are_enqueued_first(tmp_path):
    experiment = load_experiment(write_experiment(tmp_path, """
        dataset: {name: digits}
        search_space: SPACES/depth_width_lr_init.yaml
        baselines:
          - {depth: 2, width: 64, learning_rate: 0.01, init: he}
          - {depth: 1, init: random, init_scale: 0.5}
    """))
    study = optuna.create_study(direction="maximize", sampler=make_sampler(
        experiment.study.sampler, experiment.study.sampler_options, experiment.study.seed))
    for baseline in experiment.baselines:
        study.enqueue_trial(baseline)
    for baseline in experiment.baselines:
        trial = study.ask()
        params = experiment.space.suggest(trial)
        assert baseline.items() <= params.items()
        experiment.train_config(params, trial.number)
        study.tell(trial, 0.5)


def test_round_trip_stored_trial_params_rebuild_the_config(tmp_path):
    experiment = load_experiment(write_experiment(tmp_path, """
        dataset: {name: digits}
        search_space: SPACES/optimizers.yaml
        train: {hidden_layers: [32, 16], epochs: 5}
        study: {seed: 7}
    """))
    built = {}

    def objective(trial):
        built[trial.number] = experiment.train_config(experiment.space.suggest(trial),
                                                      trial.number)
        return built[trial.number].learning_rate

    study = optuna.create_study(sampler=make_sampler("tpe", {}, seed=7))
    study.optimize(objective, n_trials=25)
    for trial in study.trials:
        seed = trial_seed(7, trial.number)  # each trial trains with its own seed
        again = to_train_config(trial.params, experiment.fixed, seed)
        assert again == built[trial.number]
        assert again.hidden_layers == (32, 16) and again.epochs == 5 and again.seed == seed


def test_check_point_names_every_problem():
    space = load_space(ROOT / "search_spaces" / "optimizers.yaml")
    assert space.check_point({"optimizer": "adam", "beta1": 0.9, "batch_size": None}) == []
    problems = dict(space.check_point({"optimizer": "gd", "beta1": 0.9, "batch_size": 48}))
    assert "not used" in problems["beta1"] and "optimizer in [momentum, adam]" in problems["beta1"]
    assert "outside" in problems["batch_size"]


@settings(max_examples=40, deadline=None)
@given(low=st.integers(1, 50), span=st.integers(0, 200), log=st.booleans(),
       step=st.sampled_from([None, 0.5, 0.25]), seed=st.integers(0, 1000))
def test_sampled_values_stay_inside_the_declared_ranges(low, span, log, step, seed):
    float_spec = {"type": "float", "low": low / 100, "high": (low + span) / 100}
    float_spec.update({"log": True} if log else ({"step": step / 100} if step else {}))
    if step and not log:
        float_spec["high"] = (low + step * 4) / 100
    raw = {"parameters": {"depth": {"type": "int", "low": 0, "high": 3},
                          "width": {"type": "int", "low": low, "high": low + span, "log": log},
                          "learning_rate": float_spec}}
    src = Source(Path("space.yaml"))
    space = parse_space(raw, src, ())
    assert space is not None, src.problems
    for params in sample(space, 5, seed=seed):
        assert all(space.get(k).contains(v) for k, v in params.items())
        config = to_train_config(params, space.fixed, seed=0)
        assert len(config.hidden_layers) == params["depth"]
