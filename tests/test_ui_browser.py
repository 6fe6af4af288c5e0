"""The MLflow UI as a practitioner sees it: ``nnexp ui`` in a real headless Chromium (Debian's
/usr/bin/chromium driven by Playwright's Python package; no browser download). Skipped when
either is missing, unless NNEXP_REQUIRE_BROWSER=1 (CI), which makes that a failure."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from search_helpers import runs
from ui_helpers import STUDY, UiProcess, free_port, group_alive, run_pruned_study

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WAIT_MS = 60_000


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

    # a trial's page: its learning curve first among the model metrics
    page.get_by_text(complete[0], exact=True).click()
    page.get_by_role("tab", name="Model metrics").click()
    curves = page.get_by_text("dev", exact=True).first  # the header of the dev/* section
    curves.wait_for()
    page.get_by_text("accuracy", exact=True).first.wait_for()
    # "Model metrics" names the tab and, below the curve sections, the one-value charts
    page.get_by_text("Model metrics", exact=True).nth(1).wait_for()
    one_value = max(e.bounding_box()["y"]
                    for e in page.get_by_text("Model metrics", exact=True).all())
    assert curves.bounding_box()["y"] < one_value  # the learning curves come first
    page.wait_for_timeout(1500)  # let the chart draw for the screenshot
    _shot(page, tmp_path / "3-trial-metrics.png")
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
