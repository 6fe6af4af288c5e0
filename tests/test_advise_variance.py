"""A large unregularised network on little data (60 training rows of noisy moons, 3 x 128
hidden units, 300 epochs of Adam) is diagnosed as high variance; its report, with per-layer
signals written into the best trial's run as the instrumentation will record them, renders in
headless Chromium without a single network request."""

from __future__ import annotations

from inspect_helpers import cli, study_fixture
from search_helpers import client
from test_ui_browser import chromium  # noqa: F401 - the fixture

from nnexp.insight import advise
from nnexp.tracking.signals import layer_key

SECTIONS = {
    "dataset": {"name": "moons", "n_samples": 200, "noise": 0.35, "dev_size": 0.6,
                "test_size": 0.1, "seed": 0},
    "search_space": {"parameters": {
        "depth": 3, "width": 128,
        "learning_rate": {"type": "float", "low": 0.005, "high": 0.02, "log": True}}},
    "train": {"epochs": 300, "batch_size": 64, "optimizer": "adam"},
    "study": {"n_trials": 3, "seed": 1, "sampler": "random", "pruner": "none"},
}


made = study_fixture("variance", "variance", **SECTIONS)


def test_a_wide_deep_net_on_sixty_rows_is_high_variance(here):
    advice = advise("variance")
    best = advice.diagnoses[0]
    assert not best.target_given and best.target == 0
    assert best.train_error < 0.05, best.evidence()  # it memorises the training set
    assert best.variance >= best.variance_threshold, best.evidence()
    assert best.verdict == "high variance"
    first = advice.findings[0]
    assert first.kind == "variance"
    assert first.moves[:2] == ["more data", "regularisation (L2 or dropout)"]
    assert "relative to zero error" in first.evidence


def _instrument_best_trial(here) -> str:
    """Write per-layer metrics and a signal into the best trial's run (what the per-layer
    instrumentation will record)."""
    from mlflow.entities import Metric

    c = client(here)
    run_id = advise("variance").evidence.best.run_id
    metrics = []
    for epoch in (1, 150, 300):
        for i in (1, 2, 3):
            for key, value in (("act_mean", 0.3 * i), ("act_std", 0.5), ("grad_norm", 0.1 / i),
                               ("update_ratio", 1e-3), ("saturation", 0.0),
                               ("dead_fraction", 0.9 if i == 2 else 0.05)):
                metrics.append(Metric(layer_key(i, key), value, 0, epoch))
    c.log_batch(run_id, metrics=metrics)
    c.set_tag(run_id, "nnexp.signal", "dead_layer")
    c.set_tag(run_id, "nnexp.signal_evidence", "epoch 150, layer 2, dead_fraction 0.9")
    return run_id


def test_report_shows_the_best_trials_signals_and_loads_nothing_from_the_network(
        here, chromium):  # noqa: F811 - the fixture
    _instrument_best_trial(here)
    advice = advise("variance")
    assert advice.findings[0].kind == "signal" and "layer 2" in advice.findings[0].evidence
    out = cli("report", "variance", "-o", "report.html")
    assert out.exit_code == 0, out.output
    page = chromium.new_page(viewport={"width": 1200, "height": 900})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto((here / "report.html").as_uri())
    page.wait_for_load_state("load")
    shot = here / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")
    assert requests and all(u.startswith(("file://", "data:")) for u in requests), requests
    text = page.inner_text("body")
    for expected in ("Study variance", "Diagnosis and advice", "high variance",
                     "signal: dead_layer", "layer 2", "dead_fraction", "Best configurations",
                     "Learning curves of the top trials", "Parameter importances",
                     "Suggested next search space"):
        assert expected in text, expected
    images = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
    assert len(images) >= 2 and all(w > 100 for w in images)
