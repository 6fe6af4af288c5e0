"""Shared helpers for the inspection-command tests: one real study per test module (journal
file and SQLite MLflow store in a temporary directory), and running the CLI inside it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from search_helpers import write_experiment

from nnexp.cli import main


def run_study(directory: Path, name: str = "tiny", **sections) -> Path:
    """Run the study of ``write_experiment(directory, name, **sections)`` with ``directory`` as
    the working directory (default stores under ``directory/mlruns``)."""
    from nnexp.study.runner import SearchOptions, run_search

    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(directory)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        result = run_search(write_experiment(directory, name, **sections),
                            SearchOptions(quiet=True))
    assert result.exit_code == 0, result
    return directory


def study_fixture(folder: str, name: str, prepare=None, **sections):
    """A module-scoped fixture (assign it to ``made``): ``run_study`` of ``name`` with
    ``sections`` in a new temporary directory ``folder<N>``, once per test module, after
    ``prepare(directory)`` when given (e.g. writing a data file). The ``here`` fixture of
    ``conftest.py`` makes that directory the working directory of each test."""

    @pytest.fixture(scope="module")
    def made(tmp_path_factory):
        directory = tmp_path_factory.mktemp(folder)
        if prepare is not None:
            prepare(directory)
        return run_study(directory, name, **sections)

    return made


def cli(*args: str):
    """``nnexp ARGS`` in-process; exceptions other than exit codes propagate."""
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


MIXED_OUTCOMES = {
    # 2 complete, 3 pruned (median pruner), 1 diverged (gd at learning rate 1e4)
    "search_space": {"parameters": {
        "depth": {"type": "int", "low": 1, "high": 2},
        "width": {"type": "int", "low": 4, "high": 16},
        "learning_rate": {"type": "float", "low": 1e-5, "high": 1e4, "log": True},
        "optimizer": {"type": "categorical", "choices": ["adam", "gd"]}}},
    "baselines": [{"depth": 2, "width": 12, "learning_rate": 0.02, "optimizer": "adam"},
                  {"depth": 1, "width": 8, "learning_rate": 0.01, "optimizer": "adam"},
                  {"depth": 1, "width": 4, "learning_rate": 1e-5, "optimizer": "gd"},
                  {"depth": 2, "width": 16, "learning_rate": 1e4, "optimizer": "gd"}],
    "study": {"n_trials": 6, "seed": 1, "pruner": "median",
              "pruner_options": {"n_startup_trials": 2, "n_warmup_steps": 1}},
}
