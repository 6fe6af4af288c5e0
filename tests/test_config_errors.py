"""Every validation mistake is caught before training, named by file, field and fix.

Each case writes an experiment (and a search-space file it refers to) to a temporary folder,
then checks both ``load_experiment`` and ``nnexp validate`` report it.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from nnexp.cli import main
from nnexp.config import ConfigError, load_experiment

SPACE = """\
parameters:
  depth: {type: int, low: 1, high: 3}
  width: {type: int, low: 8, high: 64, log: true}
  learning_rate: {type: float, low: 1.0e-3, high: 1.0e-1, log: true}
  init: {type: categorical, choices: [he, random]}
  init_scale: {type: float, low: 0.001, high: 1.0, log: true, when: {init: random}}
"""

EXPERIMENT = """\
dataset: {name: digits}
search_space: spaces/space.yaml
"""


def write(folder: Path, experiment: str, space: str = SPACE) -> Path:
    (folder / "spaces").mkdir(exist_ok=True)
    (folder / "spaces" / "space.yaml").write_text(textwrap.dedent(space))
    path = folder / "exp.yaml"
    path.write_text(textwrap.dedent(experiment))
    return path


# (id, experiment text, space text, file named, fragments the message must contain)
CASES = [
    ("unknown top field", EXPERIMENT + "studdy: {n_trials: 3}\n", SPACE, "exp.yaml",
     ["studdy", "unknown field", "did you mean 'study'"]),
    ("unknown nested field", EXPERIMENT + "study: {n_trails: 3}\n", SPACE, "exp.yaml",
     ["study.n_trails", "did you mean 'n_trials'"]),
    ("wrong type", EXPERIMENT + "study: {n_trials: many}\n", SPACE, "exp.yaml",
     ["study.n_trials", "integer"]),
    ("n_trials below 1", EXPERIMENT + "study: {n_trials: 0}\n", SPACE, "exp.yaml",
     ["study.n_trials", "greater than or equal to 1"]),
    ("low > high", EXPERIMENT, SPACE.replace("low: 8, high: 64", "low: 300, high: 64"),
     "space.yaml", ["parameters.width.low", "must be <= high"]),
    ("log with low <= 0", EXPERIMENT, SPACE.replace("low: 1.0e-3", "low: 0.0"), "space.yaml",
     ["parameters.learning_rate.low", "log scale needs low > 0"]),
    ("empty choices", EXPERIMENT, SPACE.replace("[he, random]", "[]"), "space.yaml",
     ["parameters.init.choices", "at least 1"]),
    ("unknown dataset", EXPERIMENT.replace("digits", "digts"), SPACE, "exp.yaml",
     ["dataset.name", "unknown dataset 'digts'", "did you mean 'digits'", "moons"]),
    ("unknown activation", EXPERIMENT + "train: {activation: relux}\n", SPACE, "exp.yaml",
     ["train.activation", "did you mean 'relu'", "tanh"]),
    ("unknown initialiser", EXPERIMENT, SPACE.replace("[he, random]", "[he, xavierr]"),
     "space.yaml", ["parameters.init.choices", "did you mean 'xavier'", "lecun"]),
    ("unknown optimiser", EXPERIMENT + "train: {optimizer: adma}\n", SPACE, "exp.yaml",
     ["train.optimizer", "did you mean 'adam'", "momentum"]),
    ("unknown schedule", EXPERIMENT,
     SPACE + "  schedule: {type: categorical, choices: [constant, cosin]}\n", "space.yaml",
     ["parameters.schedule.choices", "did you mean 'cosine'", "inverse_time"]),
    ("unknown sampler", EXPERIMENT + "study: {sampler: tpee}\n", SPACE, "exp.yaml",
     ["study.sampler", "did you mean 'tpe'", "nsga2"]),
    ("unknown pruner", EXPERIMENT + "study: {pruner: medain}\n", SPACE, "exp.yaml",
     ["study.pruner", "did you mean 'median'", "hyperband"]),
    ("sampler option typo", EXPERIMENT + "study: {sampler_options: {n_startup_trial: 5}}\n",
     SPACE, "exp.yaml",
     ["study.sampler_options.n_startup_trial", "did you mean 'n_startup_trials'"]),
    ("pruner option typo", EXPERIMENT + "study: {pruner: median, pruner_options: "
                                        "{n_warmup_step: 5}}\n",
     SPACE, "exp.yaml", ["study.pruner_options.n_warmup_step", "n_warmup_steps"]),
    ("pruner options without a pruner", EXPERIMENT + "study: {pruner_options: "
                                                     "{n_warmup_steps: 5}}\n",
     SPACE, "exp.yaml", ["study.pruner_options", "none (the default)", "pruner: median"]),
    ("seed as sampler option", EXPERIMENT + "study: {sampler_options: {seed: 5}}\n", SPACE,
     "exp.yaml", ["study.sampler_options.seed", "study.seed"]),
    ("percentile needs percentile", EXPERIMENT + "study: {pruner: percentile}\n", SPACE,
     "exp.yaml", ["study.pruner_options.percentile", "needs this option"]),
    ("pruner comparison unknown", EXPERIMENT + "study: {pruner: median, pruner_options: "
                                               "{compare: best}}\n",
     SPACE, "exp.yaml", ["study.pruner_options.compare", "'best'", "best_so_far, at_step"]),
    ("comparison without median", EXPERIMENT + "study: {pruner: successive_halving, "
     "pruner_options: {compare: at_step}}\n", SPACE, "exp.yaml",
     ["study.pruner_options.compare", "unknown option", "min_resource"]),
    ("missing space file", EXPERIMENT.replace("space.yaml", "nope.yaml"), SPACE, "exp.yaml",
     ["search_space", "not found", "nope.yaml"]),
    ("missing dataset", "search_space: spaces/space.yaml\n", SPACE, "exp.yaml",
     ["dataset", "required field is missing"]),
    ("condition on unknown parameter", EXPERIMENT,
     SPACE.replace("when: {init: random}", "when: {initt: random}"), "space.yaml",
     ["parameters.init_scale.when.initt", "unknown parameter", "did you mean 'init'"]),
    ("condition value never taken", EXPERIMENT,
     SPACE.replace("when: {init: random}", "when: {init: randm}"), "space.yaml",
     ["parameters.init_scale.when.init", "never takes the value randm", "did you mean 'random'"]),
    ("YAML syntax error", EXPERIMENT + "study: {n_trials: 3\n", SPACE, "exp.yaml",
     ["YAML syntax error", "line 4, column"]),
    ("YAML syntax error in space", EXPERIMENT, SPACE + "  bad: [1, 2\n", "space.yaml",
     ["YAML syntax error", "line"]),
    ("non-mapping top level", "- dataset\n- search_space\n", SPACE, "exp.yaml",
     ["top level must be a mapping"]),
    ("non-mapping space", EXPERIMENT, "- depth\n", "space.yaml",
     ["top level must be a mapping"]),
    ("duplicate key", EXPERIMENT + "study: {n_trials: 3}\nstudy: {n_trials: 4}\n", SPACE,
     "exp.yaml", ["study", "duplicate key"]),
    ("dev + test >= 1", "dataset: {name: digits, dev_size: 0.5, test_size: 0.5}\n"
     "search_space: spaces/space.yaml\n", SPACE, "exp.yaml",
     ["dataset", "dev_size + test_size = 1 must be < 1"]),
    ("metric for another task", "dataset: {name: regression}\n"
     "search_space: spaces/space.yaml\nobjective: {metric: dev_accuracy}\n", SPACE, "exp.yaml",
     ["objective.metric", "dev_accuracy needs a binary or multiclass dataset", "regression"]),
    ("unknown metric", EXPERIMENT + "objective: {metric: dev_acuracy}\n", SPACE, "exp.yaml",
     ["objective.metric", "did you mean 'dev_accuracy'"]),
    ("baseline outside the space", EXPERIMENT + "baselines: [{width: 1000}]\n", SPACE,
     "exp.yaml", ["baselines[0].width", "outside the search space", "8 .. 64"]),
    ("baseline unknown key", EXPERIMENT + "baselines: [{widht: 32}]\n", SPACE, "exp.yaml",
     ["baselines[0].widht", "did you mean 'width'"]),
    ("baseline inactive key", EXPERIMENT + "baselines: [{init: he, init_scale: 0.1}]\n", SPACE,
     "exp.yaml", ["baselines[0].init_scale", "not used", "init == random"]),
    ("multi-objective with a pruner", EXPERIMENT + "objective: [{metric: dev_accuracy}, "
     "{metric: n_params}]\nstudy: {pruner: median}\n", SPACE, "exp.yaml",
     ["study.pruner", "cannot prune", "pruner: none"]),
    ("cmaes with two objectives", EXPERIMENT + "objective: [dev_accuracy, n_params]\n"
     "study: {sampler: cmaes}\n", SPACE, "exp.yaml", ["study.sampler", "one objective"]),
    ("grid over a continuous space", EXPERIMENT + "study: {sampler: grid}\n", SPACE, "exp.yaml",
     ["study.sampler", "finite space", "learning_rate"]),
    ("unknown parameter type", EXPERIMENT, SPACE.replace("type: int, low: 1", "type: integer, "
                                                          "low: 1"), "space.yaml",
     ["parameters.depth.type", "did you mean 'int'"]),
    ("unused helper parameter", EXPERIMENT,
     SPACE + "  regularisation: {type: categorical, choices: [none, l2]}\n", "space.yaml",
     ["parameters.regularisation", "not a training setting", "no 'when' refers to it"]),
    ("float for an integer setting", EXPERIMENT,
     SPACE + "  epochs: {type: float, low: 5, high: 10}\n", "space.yaml",
     ["parameters.epochs.type", "whole numbers"]),
    ("value outside the setting's domain", EXPERIMENT,
     SPACE + "  keep_prob: {type: float, low: 0.5, high: 1.5}\n", "space.yaml",
     ["parameters.keep_prob.high", "keep_prob=1.5"]),
    ("depth without width", EXPERIMENT, SPACE.replace("  width:", "  widths:"), "space.yaml",
     ["parameters.depth", "needs width"]),
    ("reserved per-layer name", EXPERIMENT, SPACE + "  width_2: 32\n", "space.yaml",
     ["parameters.width_2", "per_layer: true"]),
    ("unknown field in a parameter", EXPERIMENT, SPACE.replace("log: true}", "logg: true}"),
     "space.yaml", ["parameters.width.logg", "unknown field"]),
    ("step does not divide the range", EXPERIMENT,
     SPACE.replace("low: 1, high: 3", "low: 1, high: 4, step: 2"), "space.yaml",
     ["parameters.depth.high", "multiple of step"]),
    ("unknown generator parameter", EXPERIMENT.replace("{name: digits}",
                                                       "{name: moons, n_sample: 100}"), SPACE,
     "exp.yaml", ["dataset.n_sample", "did you mean 'n_samples'"]),
    ("missing data file", EXPERIMENT.replace("{name: digits}", "{path: data/x.csv}"), SPACE,
     "exp.yaml", ["dataset.path", "data file not found"]),
    ("train setting typo", EXPERIMENT + "train: {epoch: 3}\n", SPACE, "exp.yaml",
     ["train.epoch", "did you mean 'epochs'"]),
    ("cross-field train mistake", EXPERIMENT + "train: {keep_prob: [0.9, 0.9, 0.9, 0.9]}\n",
     SPACE, "exp.yaml", ["train", "keep_prob has 4 values"]),
]


@pytest.mark.parametrize(("experiment", "space", "file", "fragments"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_load_experiment_reports(tmp_path, experiment, space, file, fragments):
    path = write(tmp_path, experiment, space)
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    message = str(info.value)
    for fragment in [file, *fragments]:
        assert fragment in message, f"{fragment!r} not in:\n{message}"
    assert "errors.pydantic.dev" not in message
    assert info.value.problems


@pytest.mark.parametrize(("experiment", "space", "file", "fragments"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_cli_validate_reports(tmp_path, experiment, space, file, fragments):
    path = write(tmp_path, experiment, space)
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2, result.output
    assert file in result.output and fragments[0] in result.output
    assert "Traceback" not in result.output
    assert "errors.pydantic.dev" not in result.output


def test_every_mistake_is_reported_together(tmp_path):
    experiment = EXPERIMENT.replace("digits", "digts") + "study: {sampler: tpee}\n" \
        + "train: {optimizer: adma}\n"
    space = SPACE.replace("low: 8, high: 64", "low: 300, high: 64")
    path = write(tmp_path, experiment, space)
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    fields = {".".join(map(str, p.loc)) for p in info.value.problems}
    assert {"dataset.name", "study.sampler", "train.optimizer", "parameters.width.low"} <= fields
    assert str(info.value).startswith("4 problems in ")


def test_problems_carry_the_line(tmp_path):
    path = write(tmp_path, EXPERIMENT + "study:\n  n_trials: 3\n  sampler: tpee\n")
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    (problem,) = info.value.problems
    assert problem.line == 5
    assert "exp.yaml:5: study.sampler:" in str(problem)


def test_missing_experiment_file(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: file not found"):
        load_experiment(tmp_path / "nope.yaml")
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "nope.yaml: file not found" in result.output
    assert "Traceback" not in result.output


def test_empty_experiment_file(tmp_path):
    path = write(tmp_path, "")
    with pytest.raises(ConfigError, match="empty"):
        load_experiment(path)


def test_inline_space_mistakes_are_all_reported_under_search_space(tmp_path):
    path = write(tmp_path, """\
        dataset: {name: digits}
        search_space:
          parameters:
            depth: 2
            width: {type: int, low: 64, high: 16}
            l2: {type: float, low: 0.1, high: 0.2, when: {depth: [3]}}
            keep_prob: {type: float, low: 0.5, high: 0.9, when: {batch: 3}}
        """)
    with pytest.raises(ConfigError) as info:
        load_experiment(path)
    message = str(info.value)
    assert "exp.yaml:5: search_space.parameters.width.low: low (64) must be <= high" in message
    assert "search_space.parameters.l2.when.depth: depth never takes the value 3" in message
    assert "search_space.parameters.keep_prob.when.batch: refers to unknown parameter" in message
