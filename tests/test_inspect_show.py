"""``nnexp studies``, ``nnexp show`` and ``nnexp compare`` on one real study; unknown studies,
bad run ids and empty stores are exit 2 with a message."""

from __future__ import annotations

import pytest
from inspect_helpers import cli, study_fixture
from search_helpers import client, runs, study

from nnexp.inspection.compare import compare_runs
from nnexp.inspection.studies import list_studies, show_study

COMMANDS = ("studies", "show", "trials", "export", "compare")


made = study_fixture("show", "tiny", study={"n_trials": 5, "seed": 1, "pruner": "none"})


def test_studies_lists_the_study_with_experiment_counts_best_and_last_activity(here):
    [info] = list_studies()
    s = study(here, "tiny")
    assert (info.name, info.directions, info.metrics) == ("tiny", ["maximize"],
                                                          ["dev_accuracy"])
    assert info.counts == {"complete": 5} and info.best == [s.best_value]
    assert info.mlflow_experiment == "tiny" and info.experiment_file.endswith("tiny.yaml")
    assert info.last_activity == max(t.datetime_complete for t in s.trials)
    out = cli("studies")
    assert out.exit_code == 0
    assert "tiny" in out.output and "5 complete" in out.output
    assert f"best {s.best_value:.4g}" in out.output


def test_show_reports_the_best_trial_its_mlflow_metrics_importances_and_links(here):
    s = study(here, "tiny")
    report = show_study("tiny", ui_url="http://host:5001/")
    [best] = report.best
    run = next(r for r in runs(here, "tiny", child=True)
               if r.data.tags["nnexp.trial_number"] == str(s.best_trial.number))
    assert (best.number, best.values, best.params) == (s.best_trial.number, [s.best_value],
                                                        s.best_trial.params)
    assert best.run_id == run.info.run_id
    assert best.metrics == {k: v for k, v in run.data.metrics.items()
                            if k.startswith(("final_dev_", "test_"))}
    assert "test_accuracy" in best.metrics
    assert best.url == f"http://host:5001/#/experiments/{run.info.experiment_id}/runs/" \
                       f"{run.info.run_id}?workflowType=machine_learning"  # model training
    assert set(report.importances) == {"depth", "width", "learning_rate"}
    assert sum(report.importances.values()) == pytest.approx(1.0)
    assert report.counts == {"complete": 5}
    [parent] = report.parent_runs
    assert parent[0] == "tiny #1"
    out = cli("show", "tiny")
    assert out.exit_code == 0
    assert f"http://127.0.0.1:5000/#/experiments/{run.info.experiment_id}/runs/" \
           f"{run.info.run_id}" in out.output
    assert "parameter importances" in out.output and "test_accuracy=" in out.output


def test_compare_table_equals_the_runs_and_the_figure_has_a_line_per_run(here):
    children = sorted(runs(here, "tiny", child=True),
                      key=lambda r: int(r.data.tags["nnexp.trial_number"]))[:3]
    ids = [r.info.run_id for r in children]
    c = compare_runs(ids, output=here / "cmp.png")
    assert (here / "cmp.png").stat().st_size > 10_000
    assert c.run_ids == ids
    for column, run in zip(c.table.columns, children):
        for key, value in run.data.params.items():
            assert c.table.loc[key, column] == value
        assert c.table.loc["final_dev_accuracy", column] == run.data.metrics[
            "final_dev_accuracy"]
    assert "learning_rate" in c.differing and "optimizer" not in c.differing
    assert list(c.table.index[:len(c.differing)]) == c.differing  # the differing ones first
    axes = c.figure.get_axes()
    assert len(axes) == 2
    mlflow = client(here)
    for ax, key in zip(axes, ("1_accuracy/dev", "2_cost/dev")):
        assert len(ax.get_lines()) == 3
        for line, run in zip(ax.get_lines(), children):
            history = sorted(mlflow.get_metric_history(run.info.run_id, key),
                             key=lambda m: m.step)
            assert list(line.get_ydata()) == [m.value for m in history]
            assert list(line.get_xdata()) == list(range(1, 7))

    out = cli("compare", "--study", "tiny", "--top", "2", "-o", "best.png")
    assert out.exit_code == 0, out.output
    assert (here / "best.png").is_file() and "* learning_rate" in out.output


def test_unknown_study_and_run_are_exit_2(here):
    for command in ("show", "trials", "export"):
        out = cli(command, "tinny")
        assert out.exit_code == 2, command
        assert "no study named 'tinny'" in out.output and "Did you mean 'tiny'?" in out.output
        assert "Known studies: tiny" in out.output
    out = cli("compare", "--study", "tinny")
    assert out.exit_code == 2 and "Did you mean 'tiny'?" in out.output
    out = cli("compare", "0123456789abcdef0123456789abcdef")
    assert out.exit_code == 2 and "no MLflow run '0123456789abcdef" in out.output
    out = cli("show", "tiny", "--storage", "nosuch://x")
    assert out.exit_code == 2 and "is not one Optuna can use" in out.output
    out = cli("show", "tiny", "--tracking-uri", "nosuch://x")
    assert out.exit_code == 2 and "not one MLflow can use" in out.output


def test_an_empty_directory_says_there_is_nothing_yet_and_creates_nothing(tmp_path,
                                                                          monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    for args in (["studies"], ["show", "x"], ["trials", "x"], ["export", "x"],
                 ["compare", "--study", "x"]):
        out = cli(*args)
        assert out.exit_code == 2, args
        assert "no Optuna studies here" in out.output and "nnexp search" in out.output
    out = cli("compare", "abc")
    assert out.exit_code == 2 and "no MLflow runs here" in out.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    out = cli(command, "--help")
    assert out.exit_code == 0 and "--storage" in out.output and len(out.output) > 300


def test_a_storage_without_studies_and_too_few_trials_for_importances(tmp_path, monkeypatch):
    import optuna

    from nnexp.inspection.studies import importances
    from nnexp.stores.study_storage import open_storage

    monkeypatch.chdir(tmp_path)
    journal = tmp_path / "empty.journal"
    storage = open_storage(f"journal:{journal}")
    journal.touch()
    out = cli("studies", "--storage", f"journal:{journal}")
    assert out.exit_code == 0 and "no studies in this storage yet" in out.output
    out = cli("show", "x", "--storage", f"journal:{journal}")
    assert out.exit_code == 2 and "holds no studies yet" in out.output

    two = optuna.create_study(storage=storage, study_name="two")
    two.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    scores, note = importances(two)
    assert scores == {} and "at least 3 complete trials (2 so far)" in note
