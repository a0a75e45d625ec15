"""Issue 11 item 2 in a real browser: a new input sends exactly one /api/analyze, and no section that is
not near the viewport asks for anything; scrolling to a section then sends its request. Also: plotly.js
is not loaded before a chart is about to be drawn, and the page still renders its canvases without it."""
from __future__ import annotations

import pytest

from browser_helpers import SEVEN, draw, launch, reveal, serve, wait_for_analysis, wait_until, watch
from playwright.sync_api import sync_playwright

pytestmark = pytest.mark.browser

LAZY = ("/api/ablation", "/api/overlap", "/api/evidence", "/api/perturbations", "/api/sweep")


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server():
    with serve() as url:
        yield url


def api_calls(page, path):
    return [u for u in page.requests if path in u]


def test_a_new_input_sends_one_analysis_and_nothing_for_sections_out_of_view(browser, server):
    page = watch(browser.new_page(viewport={"width": 1366, "height": 768}))
    page.goto(server)
    wait_for_analysis(page, 1)
    assert len(api_calls(page, "/api/analyze")) == 1
    page.wait_for_timeout(500)
    for path in LAZY:
        assert api_calls(page, path) == [], f"{path} asked for while its section is off screen"
    src = page.evaluate("document.body.dataset.plotlySrc")
    assert not any(u.endswith(src) for u in page.requests), "plotly.js loaded before any chart was near"

    before = len(page.requests)
    page.click("#clear")
    draw(page, SEVEN)
    wait_for_analysis(page, 2)
    page.wait_for_timeout(500)
    fresh = [u for u in page.requests[before:] if "/api/" in u]
    assert [u for u in fresh if "/api/analyze" in u] and len([u for u in fresh if "/api/analyze" in u]) == 1, fresh
    # Drawing scrolls the pad into view, which can bring Conv1 near: its kernels (asked for once) may come.
    others = [u for u in fresh if "/api/analyze" not in u and "/api/kernels" not in u]
    assert others == [], "a new input asked for more than the analysis"

    reveal(page, "#ablation")
    wait_until(page, "Number(document.body.dataset.ablations || 0) >= 1")
    assert len(api_calls(page, "/api/ablation")) == 1
    assert api_calls(page, "/api/evidence") == [], "the evidence section is still far away"
    assert page.problems == []
    page.close()


def test_canvases_render_when_plotly_cannot_load(browser, server):
    page = watch(browser.new_page(viewport={"width": 1366, "height": 768}))
    page.route("**/vendor/plotly*", lambda route: route.abort())
    page.goto(server)
    wait_for_analysis(page, 1)
    reveal(page, "#conv1", "#routing", "#digit_caps")
    wait_until(page, "document.querySelector('#digit-lengths').dataset.chartError !== undefined")
    assert "could not be loaded" in page.locator("#digit-lengths").inner_text()
    # The canvases drew regardless.
    assert page.evaluate("document.querySelector('#routing-c').width") > 0
    assert page.evaluate("document.querySelector('#prediction').textContent.trim()").isdigit()
    assert [p for p in page.problems if "page error" in p] == []
    page.close()
