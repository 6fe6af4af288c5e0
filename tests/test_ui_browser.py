"""The MLflow UI as a practitioner sees it: ``nnexp ui`` in a real headless Chromium (Debian's
/usr/bin/chromium driven by Playwright's Python package; no browser download). Skipped when
either is missing, unless NNEXP_REQUIRE_BROWSER=1 (CI), which makes that a failure."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest
from search_helpers import runs
from ui_helpers import STUDY, UiProcess, free_port, group_alive, nnexp, run_pruned_study

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WAIT_MS = 60_000
SECTIONS = ("1_accuracy", "2_cost", "3_epoch", "4_layer_01", "4_layer_02")
"""The run page's chart sections of a trial (depth 1), top to bottom
(``nnexp.tracking.records``)."""


def _browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"{CHROMIUM} not found (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture()
def chromium():
    missing = _browser_missing()
    if missing:
        if os.environ.get("NNEXP_REQUIRE_BROWSER") == "1":
            pytest.fail(f"NNEXP_REQUIRE_BROWSER=1 but {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture()
def ui_url(tmp_path):
    """A study recorded in tmp_path, and ``nnexp ui STUDY`` serving it; stopped at the end."""
    run_pruned_study(tmp_path)
    ui = UiProcess(tmp_path, STUDY, "--port", str(free_port()))
    pgid = None
    try:
        url = ui.url()
        pgid = ui.server_group()
        yield url
    finally:
        code = ui.stop(signal.SIGTERM)
        left = group_alive(pgid) if pgid else []
        if left:
            os.killpg(pgid, signal.SIGKILL)
        assert not left, f"server processes left after SIGTERM: {left}"
        assert code == 0, "".join(ui.output)


def _shot(page, path: Path) -> None:
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")


def test_study_in_the_browser_nested_trials_curves_and_pruned_not_failed(
        chromium, ui_url, tmp_path):
    trials = {r.info.run_name: r for r in runs(tmp_path, STUDY, child=True)}
    pruned = sorted(n for n, r in trials.items() if r.data.tags["nnexp.state"] == "pruned")
    complete = sorted(n for n, r in trials.items() if r.data.tags["nnexp.state"] == "complete")
    assert pruned and complete, {n: r.data.tags["nnexp.state"] for n, r in trials.items()}

    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(WAIT_MS)
    page.goto(ui_url)
    # the experiment opens on its runs (model-training view), the parent run listed
    parent = page.locator('[role="row"]', has=page.get_by_text(f"{STUDY} #1", exact=True))
    parent.wait_for()
    _shot(page, tmp_path / "1-experiment.png")
    parent.locator('button[data-component-id$="runnamecellrenderer.tsx_46"]').click()
    for name in trials:  # expanded: every trial run is listed under the parent
        page.get_by_text(name, exact=True).wait_for()
    _shot(page, tmp_path / "2-parent-expanded.png")

    def status_icon(name: str):
        row = page.locator('[role="row"]', has=page.get_by_text(name, exact=True))
        return row.locator('[col-id="runDateAndNestInfo"] [role="img"]').first

    done_icon = status_icon(complete[0])
    for name in pruned:  # the same icon (a check) and colour as a completed trial's
        icon = status_icon(name)
        assert icon.inner_html() == done_icon.inner_html(), name
        assert icon.evaluate("e => getComputedStyle(e).color") == \
            done_icon.evaluate("e => getComputedStyle(e).color"), name

    # a trial's page (reached from the list, whose links MLflow gives no workflowType: its
    # side bar is the view the browser last chose; the links nnexp prints carry it, below):
    # the sections a person compares first (the metric on dev and train side
    # by side, the cost), then time (the constant learning rate is no chart), then the layers
    page.get_by_text(complete[0], exact=True).click()
    page.get_by_role("tab", name="Model metrics").click()
    headers = [page.get_by_text(name, exact=True).first for name in SECTIONS]
    for header in headers:
        header.wait_for()
    # "Model metrics" names the tab and, below the curve sections, the one-value charts
    page.get_by_text("Model metrics", exact=True).nth(1).wait_for()
    one_value = max(e.bounding_box()["y"]
                    for e in page.get_by_text("Model metrics", exact=True).all())
    tops = [h.bounding_box()["y"] for h in headers]
    assert tops == sorted(tops) and tops[-1] < one_value, dict(zip(SECTIONS, tops))
    assert headers[0].locator("xpath=..").inner_text().split() == ["1_accuracy", "(2)"]
    assert headers[2].locator("xpath=..").inner_text().split() == ["3_epoch", "(1)"]  # seconds
    charts = [page.get_by_text(f"{complete[0]} (1_accuracy/{split})", exact=True)
              for split in ("dev", "train")]
    for chart in charts:  # the legends of the two charts of section 1, side by side
        chart.wait_for()
    dev_box, train_box = (c.bounding_box() for c in charts)
    assert abs(dev_box["y"] - train_box["y"]) < 5 and dev_box["x"] < train_box["x"]
    page.wait_for_timeout(1500)  # let the chart draw for the screenshot
    _shot(page, tmp_path / "3-trial-metrics.png")
    headers[2].scroll_into_view_if_needed()  # down to the time and layer sections
    page.wait_for_timeout(1500)
    _shot(page, tmp_path / "3b-trial-metrics-lower.png")
    for bookkeeping in ("trial_number", "epochs_run", "best_epoch", "flops_per_epoch"):
        assert page.get_by_text(bookkeeping, exact=True).count() == 0, bookkeeping

    # a pruned trial's own page does not say it failed
    page.goto(ui_url.split("/#/")[0] + f"/#/experiments/{trials[pruned[0]].info.experiment_id}"
              f"/runs/{trials[pruned[0]].info.run_id}")
    page.get_by_text("Status", exact=True).first.wait_for()
    page.wait_for_timeout(1000)
    _shot(page, tmp_path / "4-pruned-trial.png")
    overview = page.locator("main").inner_text() if page.locator("main").count() else \
        page.inner_text("body")
    assert "Finished" in overview and "Failed" not in overview and "Killed" not in overview


def _view(browser, url: str, shot: Path) -> str:
    """The page at ``url`` in a fresh context (no view remembered by the browser): the text of
    its page once the run has loaded."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        page.goto(url)
        page.get_by_role("tab", name="Model metrics").wait_for()
        page.wait_for_timeout(1500)  # the side bar follows the view
        _shot(page, shot)
        return page.inner_text("body")
    finally:
        context.close()


def test_printed_links_open_the_model_training_view_and_retrained_runs_are_grouped(
        chromium, ui_url, tmp_path):
    base = ui_url.split("/#/")[0]
    exported = nnexp("export", STUDY, cwd=tmp_path)
    assert exported.returncode == 0, exported.stdout + exported.stderr
    (run_file,) = tmp_path.glob(f"{STUDY}-trial-*.yaml")
    for _ in range(2):
        trained = nnexp("train", str(run_file), "-q", cwd=tmp_path)
        assert trained.returncode == 0, trained.stdout + trained.stderr
    shown = nnexp("show", STUDY, "--ui-url", base, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    (link,) = re.findall(r"^    run +\w+ +(http\S+)$", shown.stdout, re.M)  # the best trial
    assert link.endswith("?workflowType=machine_learning")

    text = _view(chromium, link, tmp_path / "5-printed-link.png")
    assert "Evaluations" not in text and "Judges" not in text, text[:500]  # no GenAI view
    assert "Runs" in text and "Model training" in text
    # the oracle tells the views apart: the same page without the parameter is the GenAI one
    text = _view(chromium, link.split("?")[0], tmp_path / "6-without-parameter.png")
    assert "Evaluations" in text and "Judges" in text

    # the study's list: its parent run and one group of retrained runs, named apart
    page = chromium.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(WAIT_MS)
    page.goto(ui_url)
    group = page.locator('[role="row"]', has=page.get_by_text(f"{STUDY} retrained", exact=True))
    group.wait_for()
    page.get_by_text(f"{STUDY} #1", exact=True).wait_for()
    assert page.get_by_text(f"{run_file.stem} retrained #1", exact=True).count() == 0
    assert page.get_by_text(run_file.stem, exact=True).count() == 0  # no run named as a trial
    _shot(page, tmp_path / "7-study-runs.png")
    group.locator('button[data-component-id$="runnamecellrenderer.tsx_46"]').click()
    for k in (1, 2):
        page.get_by_text(f"{run_file.stem} retrained #{k}", exact=True).wait_for()
    _shot(page, tmp_path / "8-retrained-expanded.png")
