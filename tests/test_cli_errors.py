"""Bad input at the command line: one clear paragraph, exit code 2, no traceback, and nothing
already recorded is lost or changed."""

from __future__ import annotations

from search_helpers import assert_user_error, invoke, runs, study, write_experiment


def test_missing_experiment_file(workdir):
    assert_user_error(invoke("search", "experiments/nope.yaml"), "nope.yaml")


def test_malformed_yaml_names_line_and_column(workdir):
    path = workdir / "bad.yaml"
    path.write_text("dataset: {name: digits\nsearch_space: x\n")
    assert_user_error(invoke("search", str(path)), "bad.yaml", "line")


def test_missing_run_file_for_train(workdir):
    assert_user_error(invoke("train", "missing.yaml"), "missing.yaml")


def test_unknown_field_in_run_file(workdir):
    path = workdir / "run.yaml"
    path.write_text("dataset: {name: moons}\ntrain: {epochs: 3, learnin_rate: 0.1}\n")
    assert_user_error(invoke("train", str(path)), "run.yaml", "learnin_rate", "learning_rate")


def test_nan_refused_by_missing_error_stops_before_anything_is_recorded_and_keeps_the_study(
        workdir):
    exp = write_experiment(workdir, name="keep")
    assert invoke("search", str(exp), "--quiet").exit_code == 0
    before = [(t.number, t.state.name, t.values) for t in study(workdir, "keep").trials]
    csv = workdir / "data.csv"
    csv.write_text("a,b,label\n" + "1,2,0\n3,,1\n5,6,0\n7,8,1\n" * 5)  # b empty on line 3...
    write_experiment(workdir, name="keep",
                     dataset={"path": str(csv), "target": "label", "dev_size": 0.25,
                              "test_size": 0.2, "missing": "error"})
    result = invoke("search", str(exp), "--quiet")
    assert_user_error(result, "data.csv", "column 'b' is missing in 5 rows",
                      "lines 3, 7, 11, 15, 19 of the file", "missing: error")
    after = [(t.number, t.state.name, t.values) for t in study(workdir, "keep").trials]
    assert after == before
    assert len(runs(workdir, "keep", role="parent")) == 1
