"""The HTML report in a real headless Chromium: loads offline without console errors, shows its issue
cards and plots, and shows hostile user text as text."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.report_store import HOSTILE_LABEL, HOSTILE_TEXT, SAFE_URL, build_small_store
from voxlens.report import write_report
from voxlens.core.store import Store

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PLOTS = ["trend", "spark-1", "topics-chart", "drivers"]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if CHROMIUM is None:
        message = "Chromium is not installed: apt-get install chromium (CI installs it in .ci/run)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    with playwright_api.sync_playwright() as driver:
        context = driver.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("profile")), executable_path=CHROMIUM, headless=True, args=FLAGS,
            viewport={"width": 1366, "height": 768})
        yield context
        context.close()


class Visit:
    """A page opened from a file, with everything it logged, asked for and tried to pop up."""

    def __init__(self, context, path: Path) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page = context.new_page()
        self.page.on("console", lambda m: m.type in ("error", "warning") and self.errors.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(path.as_uri(), wait_until="load")
        self.page.wait_for_selector("#trend .main-svg", state="visible", timeout=20_000)

    def plot_box(self, element_id: str) -> dict:
        return self.page.locator(f"#{element_id} .main-svg").first.bounding_box()


def test_demo_report_loads_offline_with_cards_and_plots_visible(browser, demo_db, tmp_path):
    with Store(demo_db, read_only=True) as store:
        html = write_report(store, "html", tmp_path / "report.html", sample=True)
    visit = Visit(browser, html)
    assert visit.errors == []
    assert visit.requests == [html.as_uri()]  # nothing fetched: the page is self-contained
    card = visit.page.locator("#issue-1")
    assert card.is_visible() and "payment" in card.inner_text().lower()
    assert card.locator("blockquote").count() >= 3
    for element_id in PLOTS:
        box = visit.plot_box(element_id)
        assert box["width"] > 300 and box["height"] > 80, element_id
    assert visit.page.locator("#topics-chart .ytick").count() >= 10
    assert visit.page.locator("#metric-nps").inner_text().count("95% CI") == 3  # now, before and the change
    shot = tmp_path / "report.png"
    visit.page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 50_000
    visit.page.emulate_media(media="print")
    assert visit.page.locator("#issue-1").is_visible() and visit.plot_box("drivers")["width"] > 300
    visit.page.screenshot(path=str(tmp_path / "report-print.png"), full_page=True)
    visit.page.close()


def test_hostile_user_text_is_shown_as_text_and_never_runs(browser, tmp_path):
    db = build_small_store(tmp_path / "hostile.duckdb")
    with Store(db, read_only=True) as store:
        html = write_report(store, "html", tmp_path / "report.html")
    visit = Visit(browser, html)
    page = visit.page
    assert visit.dialogs == [] and visit.errors == []
    assert page.locator("img").count() == 0
    assert page.locator("body script").count() == 2  # the report's own: plot data and the plot loop
    card = page.locator("#issue-1")
    assert HOSTILE_TEXT in card.inner_text()
    assert HOSTILE_LABEL in card.locator("h3").inner_text()
    assert "[click me](javascript:alert(1))" in card.inner_text()
    assert page.locator('a[href^="javascript"]').count() == 0
    assert page.locator(f'a[href="{SAFE_URL}"]').count() == 1
    assert any(HOSTILE_LABEL in tick for tick in page.locator("#topics-chart .ytick").all_text_contents())
    page.screenshot(path=str(tmp_path / "hostile.png"), full_page=True)
    assert (tmp_path / "hostile.png").stat().st_size > 10_000
    page.close()
