"""The public Python API (nnexp.search, load_study, load_model, train) from a plain script
with and without a __main__ guard, from code fed on stdin, and in-process; the same records
as the command line."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from search_helpers import runs, write_experiment

import nnexp
from nnexp.errors import NnexpError

SCRIPT = """
import nnexp
print("script body ran")
study = nnexp.search("experiments/tiny.yaml", quiet=True)
print("trials", len(study.optuna.trials))
"""


@pytest.mark.parametrize("how", ["script", "stdin", "guarded"])
def test_search_from_a_script_runs_once(tmp_path, how):
    write_experiment(tmp_path, study={"n_trials": 2, "seed": 1, "jobs": 2})
    code = SCRIPT if how != "guarded" else "if __name__ == '__main__':\n" + "".join(
        f"    {line}\n" for line in SCRIPT.strip().splitlines())
    command = [sys.executable, "-"] if how == "stdin" else [sys.executable, "search.py"]
    if how != "stdin":
        (tmp_path / "search.py").write_text(code)
    done = subprocess.run(command, cwd=tmp_path, input=code if how == "stdin" else None,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("script body ran") == 1, done.stdout
    assert "trials 2" in done.stdout
    assert "Traceback" not in done.stderr and "RuntimeError" not in done.stderr
    assert len(runs(tmp_path, "tiny", role="parent")) == 1
    assert len(runs(tmp_path, "tiny", child=True)) == 2


def test_study_model_and_train_in_process(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_experiment(tmp_path, tracking={"log_models": "best"})
    study = nnexp.search("experiments/tiny.yaml", quiet=True)
    assert study.name == "tiny" and len(study.optuna.trials) == 3
    table = study.trials(state="complete", sort="dev_accuracy")
    assert list(table["value"]) == sorted(table["value"], reverse=True)
    assert study.best_value == table["value"].iloc[0]
    again = nnexp.load_study("tiny")
    assert again.best_trial.number == study.best_trial.number
    rows = pd.DataFrame({"x0": [0.0, 1.5, -1.0], "x1": [0.5, -0.5, 0.8], "unused": 1})
    model = study.best_model()
    proba = model.predict_proba(rows)
    assert proba.shape == (3, 2) and list(model.classes) == [0, 1]
    assert list(model.predict(rows)) == list(model.classes[proba.argmax(axis=1)])
    assert list(model.predictions(rows).columns) == ["prediction", "proba_0", "proba_1"]
    [path] = study.export(tmp_path / "best.yaml")
    result = nnexp.train(str(path), output=tmp_path / "model")
    assert result.state.name == "COMPLETE"
    from_dir = nnexp.load_model(str(tmp_path / "model"))  # a str path, not only a Path
    assert from_dir.predict(rows).shape == (3,)


def test_unknown_study_is_one_message(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_experiment(tmp_path)
    nnexp.search("experiments/tiny.yaml", n_trials=1, quiet=True)
    with pytest.raises(NnexpError, match="Did you mean 'tiny'"):
        nnexp.load_study("tinny")


def test_import_is_lazy_and_documented():
    done = subprocess.run([sys.executable, "-c", "import sys, nnexp; "
                           "print(sorted(m for m in ('optuna', 'mlflow', 'pandas', 'sklearn') "
                           "if m in sys.modules)); help(nnexp)"],
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.splitlines()[0] == "[]"
    for name in ("search(", "load_study(", "load_model(", "train("):
        assert name in done.stdout.replace("\x08", "").replace("_\x08", ""), name
