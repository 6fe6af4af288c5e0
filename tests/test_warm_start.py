"""The next study starts from what the last one learnt (``nnexp.study.warm_start``): an
earlier study's finished trials inside the new space enter it as finished trials, with their
values and intermediate values, once; a trial outside the new ranges or trained otherwise
stays out; other data or an unknown study is a clear error. Real searches on a journal and a
SQLite MLflow store."""

from __future__ import annotations

import pytest
from search_helpers import assert_user_error, invoke, runs, study, write_experiment

SPACE = {"depth": {"type": "int", "low": 1, "high": 3},
         "width": {"type": "int", "low": 4, "high": 16},
         "learning_rate": {"type": "float", "low": 0.001, "high": 0.1, "log": True}}


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    directory = tmp_path_factory.mktemp("warm")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(directory)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        exp = write_experiment(directory, name="first", search_space={"parameters": SPACE},
                               study={"n_trials": 10, "seed": 3, "pruner": "median",
                                      "pruner_options": {"n_startup_trials": 1,
                                                         "n_warmup_steps": 1}})
        assert invoke("search", str(exp), "--quiet").exit_code == 0
        yield directory


def _narrow(directory, name, **changes):
    space = {**SPACE, "depth": {"type": "int", "low": 1, "high": 2},
             "learning_rate": {"type": "float", "low": 0.01, "high": 0.1, "log": True}}
    return write_experiment(directory, name=name, search_space={"parameters": space},
                            study={"n_trials": 2, "seed": 4}, **changes)


def test_the_trials_inside_the_new_space_start_it_once(first, monkeypatch):
    monkeypatch.chdir(first)
    source = study(first, "first")
    inside = [t for t in source.trials if t.state.name in ("COMPLETE", "PRUNED")
              and t.params["depth"] <= 2 and t.params["learning_rate"] >= 0.01]
    assert 0 < len(inside) < len(source.trials)  # the test means something
    exp = _narrow(first, "second")
    result = invoke("search", str(exp), "--quiet", "--warm-start", "first")
    assert result.exit_code == 0, result.output
    assert f"warm start: {len(inside)} finished trial(s) of study 'first'" in result.output
    second = study(first, "second")
    carried = second.trials[:len(inside)]
    assert [t.user_attrs["warm_start_from"] for t in carried] == \
        [f"first#{t.number}" for t in inside]
    for new, old in zip(carried, inside):
        assert new.state == old.state and new.params == old.params
        assert new.values == (old.values if old.state.name == "COMPLETE" else None)
        assert new.intermediate_values == old.intermediate_values
    assert len(second.trials) == len(inside) + 2  # and this invocation's own two
    assert second.user_attrs["warm_start"] == {"study": "first", "trials": len(inside)}
    parent = runs(first, "second", role="parent")[0]
    assert parent.data.params["warm_start_from"] == "first"
    assert parent.data.params["warm_start_trials"] == str(len(inside))
    table = invoke("trials", "second", "--format", "csv")
    assert table.exit_code == 0, table.output
    assert "first#" in table.output
    # resuming does not carry them again
    again = invoke("search", str(exp), "--quiet", "--warm-start", "first", "--n-trials", "1")
    assert again.exit_code == 0 and "warm start" not in again.output
    assert len(study(first, "second").trials) == len(inside) + 3
    # nothing reported missing by doctor: their runs are the first study's
    doctor = invoke("doctor", "second")
    assert doctor.exit_code == 0, doctor.output


def test_trials_trained_otherwise_stay_out(first, monkeypatch):
    monkeypatch.chdir(first)
    exp = _narrow(first, "longer", train={"epochs": 9, "batch_size": 32, "optimizer": "adam"},
                  warm_start="first")
    result = invoke("search", str(exp), "--quiet")
    assert result.exit_code == 0, result.output
    assert "warm start: 0 finished trial(s)" in result.output


def test_other_data_or_an_unknown_study_is_a_clear_error(first, monkeypatch):
    monkeypatch.chdir(first)
    exp = _narrow(first, "other", dataset={"name": "moons", "n_samples": 300, "noise": 0.2,
                                           "seed": 0})
    assert_user_error(invoke("search", str(exp), "--quiet", "--warm-start", "first"),
                      "cannot warm-start from study 'first'", "fingerprint")
    exp = _narrow(first, "nowhere")
    assert_user_error(invoke("search", str(exp), "--quiet", "--warm-start", "firts"),
                      "no study 'firts'")


def test_the_python_api_warm_starts_as_the_command_line_does(first, monkeypatch):
    import nnexp

    monkeypatch.chdir(first)
    stores = {"storage": f"journal:{first / 'mlruns' / 'optuna.journal'}",
              "tracking_uri": f"sqlite:///{first / 'mlruns' / 'mlflow.db'}", "quiet": True}
    source = study(first, "first")
    inside = [t for t in source.trials if t.state.name in ("COMPLETE", "PRUNED")
              and t.params["depth"] <= 2 and t.params["learning_rate"] >= 0.01]
    assert inside
    warm = nnexp.search(_narrow(first, "api-warm"), warm_start="first", **stores)
    assert warm.name == "api-warm"
    carried = [t for t in warm.optuna.trials if "warm_start_from" in t.user_attrs]
    assert [t.user_attrs["warm_start_from"] for t in carried] == \
        [f"first#{t.number}" for t in inside]
    assert [t.params for t in carried] == [t.params for t in inside]
    assert len(warm.optuna.trials) == len(inside) + 2  # and this call's own two
    assert warm.optuna.user_attrs["warm_start"] == {"study": "first", "trials": len(inside)}
    # the same experiment without it starts cold
    cold = nnexp.search(_narrow(first, "api-cold"), **stores)
    assert len(cold.optuna.trials) == 2
    assert not any("warm_start_from" in t.user_attrs for t in cold.optuna.trials)
