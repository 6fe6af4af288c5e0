"""The study plots: drawn for a study with integer, log-integer, float and categorical
parameters and more trials than the intermediate-values legend keeps."""

from __future__ import annotations

import matplotlib.image


def test_plots_are_written_for_a_study_with_integer_parameters_and_many_trials(tmp_path):
    import optuna

    from nnexp.tracking.summary import LEGEND_TRIALS, _plots

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(0))

    def objective(trial):
        depth = trial.suggest_int("depth", 1, 4)
        width = trial.suggest_int("width", 16, 256, log=True)
        lr = trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
        trial.suggest_categorical("init", ["he", "xavier"])
        for epoch in range(1, 6):
            trial.report(depth / 4 + width / 512 - lr - 1 / epoch, epoch)
        return depth / 4 + width / 512 - lr

    study.optimize(objective, n_trials=LEGEND_TRIALS + 5)
    written = _plots(study, tmp_path, ["dev_accuracy"])
    assert {p.name for p in written} == {"optimization_history.png", "param_importances.png",
                                         "parallel_coordinate.png", "slice.png",
                                         "intermediate_values.png"}
    height, width = matplotlib.image.imread(tmp_path / "intermediate_values.png").shape[:2]
    assert width > height  # no legend taller than the plot
