"""Shared helpers for the end-to-end search tests: write small experiments, run the command
line in-process, read the stores."""

from __future__ import annotations

from pathlib import Path

import yaml


def write_experiment(directory: Path, name: str = "tiny", **sections) -> Path:
    """Write experiments/<name>.yaml with a small moons study unless sections override it."""
    content = {
        "name": name,
        "dataset": {"name": "moons", "n_samples": 240, "noise": 0.2, "dev_size": 0.25,
                    "test_size": 0.2, "seed": 0},
        "search_space": {"parameters": {
            "depth": {"type": "int", "low": 1, "high": 2},
            "width": {"type": "int", "low": 4, "high": 16},
            "learning_rate": {"type": "float", "low": 0.003, "high": 0.05, "log": True},
        }},
        "train": {"epochs": 6, "batch_size": 32, "optimizer": "adam"},
        "study": {"n_trials": 3, "seed": 1},
        "tracking": {"log_models": "none"},
    }
    content.update(sections)
    path = directory / "experiments" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(content, sort_keys=False))
    return path


def diverging(activation: str) -> dict:
    """Sections of a two-trial grid on regression data with plain gradient descent: learning
    rate 0.01 completes, 1e6 diverges."""
    return {
        "search_space": {"parameters": {
            "learning_rate": {"type": "categorical", "choices": [0.01, 1.0e6]},
            "optimizer": "gd", "hidden_layers": [8], "activation": activation}},
        "dataset": {"name": "regression", "n_samples": 200, "dev_size": 0.25, "test_size": 0.2,
                    "scale": "none"},
        "study": {"n_trials": 2, "seed": 0, "sampler": "grid"},
    }


def pruned_second(hidden_layers: list[int], n_trials: int) -> dict:
    """Sections of a study whose second trial the median pruner stops at epoch 2: baselines at
    learning rate 0.05, then 1e-7 from near-zero initial weights (8 epochs of Adam)."""
    return {
        "search_space": {"parameters": {
            "learning_rate": {"type": "float", "low": 1.0e-7, "high": 0.05, "log": True},
            "hidden_layers": hidden_layers}},
        "train": {"epochs": 8, "batch_size": 32, "optimizer": "adam", "init": "random",
                  "init_scale": 0.01},
        "baselines": [{"learning_rate": 0.05}, {"learning_rate": 1.0e-7}],
        "study": {"n_trials": n_trials, "seed": 0, "pruner": "median",
                  "pruner_options": {"n_startup_trials": 1, "n_warmup_steps": 1}},
    }


def invoke(*args: str):
    """``nnexp ARGS`` in-process; exceptions are caught (see ``result.exception``)."""
    from click.testing import CliRunner

    from nnexp.cli import main

    return CliRunner().invoke(main, list(args))


def assert_user_error(result, *needles: str) -> None:
    """A user error: exit code 2, no traceback, each of ``needles`` in the output."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.output, (needle, result.output)


def tracking_uri(directory: Path) -> str:
    return f"sqlite:///{directory / 'mlruns' / 'mlflow.db'}"


def client(directory: Path):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri(directory))


def runs(directory: Path, experiment: str, role: str | None = None, child: bool = False):
    """All runs of an MLflow experiment; parents (role='parent') or trial runs (child=True:
    nested, but not the ``nnexp train`` runs nested under ``<study> retrained``)."""
    c = client(directory)
    exp = c.get_experiment_by_name(experiment)
    found = c.search_runs([exp.experiment_id], max_results=1000)
    if role:
        found = [r for r in found if r.data.tags.get("nnexp.role") == role]
    if child:
        found = [r for r in found if "mlflow.parentRunId" in r.data.tags
                 and r.data.tags.get("nnexp.role") != "train"]
    return found


def study(directory: Path, name: str):
    import optuna

    from nnexp.stores.study_storage import open_storage

    storage = open_storage(f"journal:{directory / 'mlruns' / 'optuna.journal'}")
    return optuna.load_study(study_name=name, storage=storage)
