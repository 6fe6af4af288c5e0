"""A real study with two objectives: ``nnexp show`` reports the Pareto front and
``nnexp export`` writes it, one run file per Pareto-optimal trial."""

from __future__ import annotations

from inspect_helpers import cli, study_fixture
from search_helpers import study

import nnexp
from nnexp.config import load_run_config
from nnexp.inspection.studies import show_study

made = study_fixture("pareto", "front", objective=[
    {"metric": "dev_accuracy", "direction": "maximize"},
    {"metric": "n_params", "direction": "minimize"}], study={"n_trials": 6, "seed": 4})


def test_export_writes_the_pareto_front(here):
    front = sorted(t.number for t in study(here, "front").best_trials)
    assert len(front) >= 2  # a front worth the name (depends only on the seeded study)
    out = cli("export", "front", "-o", "front")
    assert out.exit_code == 0, out.output
    files = sorted((here / "front").glob("*.yaml"))
    assert sorted(int(f.stem.rsplit("-", 1)[1]) for f in files) == front
    for f in files:
        rc = load_run_config(f)
        assert [m for m, _ in rc.objective] == ["dev_accuracy", "n_params"]
        assert {"dev_accuracy", "n_params"} <= set(rc.source)
        assert f.read_text().splitlines()[0].endswith("(minimize)")
    one = cli("export", "front", "--top", "1", "-o", "one.yaml")
    assert one.exit_code == 0 and (here / "one.yaml").is_file()
    assert load_run_config(here / "one.yaml").source["trial"] == front[0]


def test_show_and_trials_name_both_objectives(here):
    s = study(here, "front")
    report = show_study("front")
    assert report.metrics == ["dev_accuracy", "n_params"]
    assert sorted(b.number for b in report.best) == sorted(t.number for t in s.best_trials)
    assert all(b.run_id for b in report.best)
    out = cli("show", "front")
    assert out.exit_code == 0 and f"Pareto front ({len(s.best_trials)} trials)" in out.output
    df = nnexp.trials_dataframe("front", sort="n_params")
    assert {"value_dev_accuracy", "value_n_params"} <= set(df.columns)
    assert df["value_n_params"].dropna().is_monotonic_increasing
    assert (df["value_n_params"] == df["n_params"]).all()
