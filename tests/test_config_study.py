"""Study settings resolved once in config; a trial's configuration rebuilt exactly; seeds and
names checked; config does not import search."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from search_helpers import study, write_experiment

from nnexp.config import check_name, check_seed, load_experiment, pruner_options
from nnexp.config.study import DEFAULT_PRUNER, DEFAULT_TRIALS, STARTUP_TRIALS
from nnexp.core.config import TrainConfig
from nnexp.study.cached_pruner import best_so_far
from nnexp.study.samplers import make_pruner

ROOT = Path(__file__).resolve().parents[1]


def test_config_does_not_import_search():
    code = ("import sys, nnexp.config; "
            "print([m for m in sys.modules if m.startswith('nnexp.search')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]"


def test_train_config_is_what_each_trial_trained(workdir):
    from nnexp.study.runner import SearchOptions, run_search

    path = write_experiment(workdir, name="again", study={"n_trials": 3, "seed": 5})
    run_search(path, SearchOptions(quiet=True))
    exp = load_experiment(path)
    trials = study(workdir, "again").trials
    assert len(trials) == 3
    for trial in trials:
        rebuilt = exp.train_config(trial.params, trial.number)
        assert rebuilt.to_dict() == trial.user_attrs["config"]
        assert rebuilt.seed == trial.user_attrs["seed"]
    seeds = {exp.train_config(trials[0].params, n).seed for n in range(3)}
    assert len(seeds) == 3  # one seed per trial, not the study seed
    other = exp.train_config(trials[0].params, 0, study_seed=6)
    assert other.seed != exp.train_config(trials[0].params, 0).seed


def test_study_defaults_are_resolved(tmp_path):
    path = write_experiment(tmp_path, study={}, train={"epochs": 40})
    settings = load_experiment(path).study
    assert settings.n_trials == DEFAULT_TRIALS and settings.pruner == DEFAULT_PRUNER == "none"
    assert settings.pruner_options == {}
    named = load_experiment(write_experiment(tmp_path, study={"pruner": "median"},
                                             train={"epochs": 40})).study
    assert named.pruner_options == {"n_warmup_steps": 4, "n_startup_trials": 2,
                                    "compare": "best_so_far"}
    timed = load_experiment(write_experiment(tmp_path, study={"timeout": 60})).study
    assert timed.n_trials is None
    given = load_experiment(write_experiment(
        tmp_path, study={"pruner": "percentile",
                         "pruner_options": {"percentile": 25.0, "n_warmup_steps": 2}})).study
    assert given.pruner_options == {"percentile": 25.0, "n_warmup_steps": 2,
                                    "n_startup_trials": 2, "compare": "best_so_far"}


def test_budget_command_line_values_win_and_a_timeout_alone_lifts_the_default(tmp_path):
    default = load_experiment(write_experiment(tmp_path, study={})).study
    assert default.budget() == (DEFAULT_TRIALS, None)
    assert default.budget(n_trials=3) == (3, None)
    assert default.budget(timeout=30) == (None, 30)  # --timeout alone: bounded by time
    assert default.budget(n_trials=3, timeout=30) == (3, 30)
    fixed = load_experiment(write_experiment(tmp_path, study={"n_trials": 7})).study
    assert fixed.budget(timeout=30) == (7, 30)  # the file's explicit trial count stays
    grid = load_experiment(write_experiment(
        tmp_path, study={"sampler": "grid"},
        search_space={"parameters": {"depth": {"type": "int", "low": 1, "high": 2},
                                     "width": {"type": "categorical", "choices": [4, 8]}}})).study
    assert grid.budget(timeout=30) == (4, 30)  # a grid keeps its size


def test_pruner_options_warm_up():
    assert pruner_options("median", {}, TrainConfig.epochs) == {
        "n_warmup_steps": 5, "n_startup_trials": 2, "compare": "best_so_far"}
    assert pruner_options("median", {}, 3) == {"n_warmup_steps": 1, "n_startup_trials": 2,
                                               "compare": "best_so_far"}
    assert pruner_options("percentile", {"n_startup_trials": 5, "compare": "at_step"},
                          100) == {"n_warmup_steps": 10, "n_startup_trials": 5,
                                   "compare": "at_step"}  # given options win
    assert pruner_options("hyperband", {}, 100) == {}


def test_successive_halving_first_rung_is_the_warm_up():
    """Its first judgement waits for a tenth of the epochs, as median pruning does, instead of
    Optuna's ``auto`` (1 % of a complete trial's epochs: epoch 1 below 200 epochs)."""
    assert pruner_options("successive_halving", {}, 60) == {"min_resource": 6}
    assert pruner_options("successive_halving", {}, 5) == {"min_resource": 1}
    assert pruner_options("successive_halving", {"min_resource": "auto"}, 60) == {
        "min_resource": "auto"}
    assert pruner_options("successive_halving", {"reduction_factor": 3}, 100) == {
        "reduction_factor": 3, "min_resource": 10}
    pruner = make_pruner("successive_halving", pruner_options("successive_halving", {}, 60))
    assert pruner._min_resource == 6 and pruner._reduction_factor == 4


def test_median_pruning_judges_from_the_third_trial():
    pruner = make_pruner("median", pruner_options("median", {}, 60)).inner
    assert pruner._n_startup_trials == STARTUP_TRIALS == 2 and pruner._n_warmup_steps == 6


def plateau_study(pruner):
    """A maximised study with three completed trials whose noisy dev accuracy plateaus at 0.92
    after peaks of 0.93-0.95, and a running trial on the same plateau (best 0.93)."""
    import optuna
    from optuna.trial import create_trial

    study = optuna.create_study(direction="maximize", pruner=pruner)
    for peak in (0.94, 0.93, 0.95):
        study.add_trial(create_trial(value=0.92, intermediate_values={
            1: 0.90, 2: peak, 3: 0.92}))
    trial = study.ask()
    for step, value in ((1, 0.90), (2, 0.93), (3, 0.921)):
        trial.report(value, step)
    return study, study._storage.get_trial(trial._trial_id)


def test_median_pruning_compares_best_with_best_by_default():
    """Optuna's rule sets the running trial's best (0.93) against the completed trials' values
    at the step (median 0.92): kept. nnexp's default sets it against their bests so far
    (median 0.94): pruned. ``compare: at_step`` gives Optuna's rule back."""
    options = {**pruner_options("median", {}, 3), "n_startup_trials": 1}
    assert options["compare"] == "best_so_far"
    nnexp_rule = make_pruner("median", options)
    optuna_rule = make_pruner("median", {**options, "compare": "at_step"})
    study, trial = plateau_study(nnexp_rule)
    assert nnexp_rule.prune(study, trial)
    assert not optuna_rule.prune(study, trial)


def test_best_so_far_is_the_running_best_in_the_study_direction():
    from optuna.trial import create_trial

    trial = create_trial(value=0.5, intermediate_values={3: 0.4, 1: 0.5, 2: float("nan"),
                                                         4: 0.6})
    assert best_so_far(trial, maximize=True).intermediate_values == {1: 0.5, 2: 0.5, 3: 0.5,
                                                                     4: 0.6}
    assert best_so_far(trial, maximize=False).intermediate_values == {1: 0.5, 2: 0.5, 3: 0.4,
                                                                      4: 0.4}
    assert trial.intermediate_values[3] == 0.4  # the study's own trial is left as it is


def test_check_seed_and_check_name():
    assert check_seed(0, "--seed") is None and check_seed(2**32 - 1, "--seed") is None
    assert "--seed=-1" in check_seed(-1, "--seed")
    assert "4294967296" in check_seed(2**32, "--seed")
    assert "worker" in check_seed(2**32 - 1, "--seed", jobs=2)
    assert check_name("digits-depth width.v2", ("study", "mlflow")) is None
    assert "'/'" in check_name("a/b", ("mlflow",))
    assert check_name("a/b", ("study",)) is None
    assert "quote" in check_name("it's", ("study",))
