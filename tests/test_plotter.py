"""The study plots drawn by a helper process, and the fallback when it cannot."""

from __future__ import annotations

from nnexp.study.plotter import Plotter


def _study(tmp_path):
    import optuna

    from nnexp.stores.study_storage import open_storage

    url = f"journal:{tmp_path / 'optuna.journal'}"
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(study_name="s", storage=open_storage(url),
                                direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=0))

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        n = trial.suggest_int("n", 1, 8)
        for step in range(1, 4):
            trial.report(x * step / n, step)
        return x / n

    study.optimize(objective, n_trials=8)
    return url


def test_helper_draws_the_plots(tmp_path):
    url = _study(tmp_path)
    out = tmp_path / "plots"
    out.mkdir()
    plotter = Plotter(url)
    try:
        assert plotter.draw("s", out, ["dev_accuracy"])
        # asked again (the summary, after the runner asked when its workers ended): the
        # first request stands, nothing is drawn twice or elsewhere
        assert plotter.draw("s", tmp_path / "elsewhere", None)
        written = plotter.result()
    finally:
        plotter.close()
    assert {p.name for p in written} >= {"optimization_history.png", "slice.png",
                                         "intermediate_values.png"}
    assert all(p.parent == out and p.stat().st_size > 1000 for p in written)
    assert not (tmp_path / "elsewhere").exists()
    assert not plotter.directory.exists()  # its own folder is removed by close


def test_helper_failure_is_reported_for_a_fallback(tmp_path):
    url = _study(tmp_path)
    plotter = Plotter(url)
    try:
        assert plotter.draw("no-such-study", tmp_path, None)
        assert plotter.result() is None
        assert "KeyError" in plotter.failure
    finally:
        plotter.close()


def test_close_stops_a_waiting_helper(tmp_path):
    plotter = Plotter(f"journal:{tmp_path / 'x.journal'}")
    process = plotter._process
    plotter.close()
    assert process.poll() is not None
    assert plotter.result() is None


def test_summary_draws_itself_when_the_helper_is_gone(tmp_path, monkeypatch):
    import nnexp.tracking.summary as summary

    class Gone:
        def draw(self, *args):
            return True

        def result(self):
            return None  # it died

    drawn = []
    monkeypatch.setattr(summary, "_plots", lambda study, d, m: drawn.append(d) or [])

    class Parent:
        client = None
        write_errors: list = []

        def metrics(self, *a, **k):
            pass

        tags = flush = artifact = metrics

    class Study:
        study_name, directions, trials = "s", [1], []

        def get_trials(self, deepcopy=True, states=None):
            return []

        @property
        def best_trial(self):
            raise ValueError("no trials")

    monkeypatch.setattr(summary, "trials_table", lambda s: __import__("pandas").DataFrame())
    summary.summarize(Study(), Parent(), "0", None, plotter=Gone())
    assert len(drawn) == 1
