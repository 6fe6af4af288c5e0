"""``nnexp trials`` and ``nnexp.trials_dataframe`` on one real study with complete, pruned and
diverged trials: every format read back with pandas, --state, --sort, --top."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest
from inspect_helpers import MIXED_OUTCOMES, cli, study_fixture
from search_helpers import runs, study

import nnexp

made = study_fixture("trials", "mixed", **MIXED_OUTCOMES)


def test_dataframe_has_one_row_per_trial_with_params_values_and_mlflow_metrics(here):
    df = nnexp.trials_dataframe("mixed")
    trials = study(here, "mixed").trials
    assert list(df["number"]) == [t.number for t in trials] == list(range(6))
    assert sorted(df["state"]) == ["complete"] * 2 + ["diverged"] + ["pruned"] * 3
    by_id = {r.info.run_id: r for r in runs(here, "mixed", child=True)}
    assert set(df["run_id"]) == set(by_id)
    for row, t in zip(df.itertuples(), trials):
        run = by_id[row.run_id]
        assert run.data.tags["nnexp.trial_number"] == str(t.number)
        assert row.params_learning_rate == t.params["learning_rate"]
        assert row.params_optimizer == t.params["optimizer"]
        if row.state == "complete":
            assert row.value == t.value == run.data.metrics["final_dev_accuracy"]
            assert row.final_dev_accuracy == run.data.metrics["final_dev_accuracy"]
            assert row.test_accuracy == run.data.metrics["test_accuracy"]
            assert row.epochs == 6
        else:
            assert pd.isna(row.value) and pd.isna(row.final_dev_accuracy)
            assert row.epochs == t.user_attrs["epoch"] < 6
            assert row.reason
        assert row.duration_seconds == pytest.approx(t.duration.total_seconds())


def test_a_study_object_works_as_well_as_a_name(here):
    from_object = nnexp.trials_dataframe(study(here, "mixed"))
    pd.testing.assert_frame_equal(from_object, nnexp.trials_dataframe("mixed"))


@pytest.mark.parametrize("state, expected", [("complete", {"complete"}),
                                             ("pruned", {"pruned"}),
                                             ("failed", {"diverged"})])
def test_state_filter(here, state, expected):
    df = nnexp.trials_dataframe("mixed", state=state)
    assert set(df["state"]) == expected
    assert len(df) == {"complete": 2, "pruned": 3, "failed": 1}[state]


def test_sort_is_best_first_and_top_keeps_the_first_rows(here):
    df = nnexp.trials_dataframe("mixed", sort="dev_accuracy")
    values = df["final_dev_accuracy"].dropna().tolist()
    assert values == sorted(values, reverse=True) and len(values) == 2
    assert df["final_dev_accuracy"].isna().tolist() == [False] * 2 + [True] * 4  # NaN last
    cheap = nnexp.trials_dataframe("mixed", sort="n_params", state="complete")
    assert cheap["n_params"].is_monotonic_increasing
    top = nnexp.trials_dataframe("mixed", top=1)  # without --sort: the best by objective
    assert len(top) == 1 and top["value"][0] == max(t.value for t in study(here, "mixed").trials
                                                    if t.value is not None)
    lr = nnexp.trials_dataframe("mixed", sort="learning_rate")
    assert lr["params_learning_rate"].is_monotonic_increasing


@pytest.mark.parametrize("fmt, read", [
    ("csv", pd.read_csv),
    ("parquet", pd.read_parquet),
    ("json", lambda p: pd.DataFrame(json.loads(p.read_text()))),
])
def test_every_format_is_written_and_reads_back(here, fmt, read):
    out = here / f"t.{fmt}"
    result = cli("trials", "mixed", "--format", fmt, "-o", str(out), "--state", "complete")
    assert result.exit_code == 0, result.output
    back = read(out)
    expected = nnexp.trials_dataframe("mixed", state="complete")
    assert list(back.columns) == list(expected.columns)
    assert list(back["number"]) == list(expected["number"])
    assert back["run_id"].tolist() == expected["run_id"].tolist()
    assert back["final_dev_accuracy"].tolist() == pytest.approx(
        expected["final_dev_accuracy"].tolist())


def test_markdown_and_text_tables(here):
    out = here / "t.md"
    assert cli("trials", "mixed", "-o", str(out), "--sort", "value", "--top", "2").exit_code == 0
    lines = out.read_text().splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == list(nnexp.trials_dataframe("mixed").columns)
    assert set(lines[1]) <= set("|-:") and len(lines) == 4  # header, rule, 2 rows
    back = pd.read_csv(out, sep="|", skiprows=[1], skipinitialspace=True).iloc[:, 1:-1]
    back.columns = [c.strip() for c in back.columns]
    best = nnexp.trials_dataframe("mixed", sort="value", top=2)
    assert back["number"].tolist() == best["number"].tolist()
    text = cli("trials", "mixed", "--state", "pruned")
    rows = text.output.splitlines()[1:]
    assert text.exit_code == 0 and [r.split()[1] for r in rows] == ["pruned"] * 3


def test_bad_input_is_exit_2_with_a_message(here):
    result = cli("trials", "mixed", "--sort", "dev_acuracy")
    assert result.exit_code == 2
    assert "cannot sort by 'dev_acuracy'" in result.output and "final_dev_accuracy" in \
        result.output
    result = cli("trials", "mixd")
    assert result.exit_code == 2 and "Did you mean 'mixed'?" in result.output
    result = cli("trials", "mixed", "--format", "parquet")
    assert result.exit_code == 2 and "-o" in result.output
    result = cli("trials", "mixed", "--storage", "journal:nowhere/optuna.journal")
    assert result.exit_code == 2 and "nowhere/optuna.journal" in result.output
    assert not (here / "nowhere").exists()


def test_import_nnexp_stays_light():
    code = "import nnexp; print(nnexp.trials_dataframe.__module__)"
    light = subprocess.run([sys.executable, "-c", "import sys, nnexp; "
                            "print(sorted(m for m in ('pandas', 'optuna', 'mlflow') "
                            "if m in sys.modules))"], capture_output=True, text=True)
    assert light.stdout.strip() == "[]", light.stderr
    lazy = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert lazy.stdout.strip() == "nnexp.inspection.tables", lazy.stderr
