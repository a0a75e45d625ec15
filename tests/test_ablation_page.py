"""The routing ablation section ("7 Does routing matter?") in a real browser: headless Debian Chromium
against run_visualization.py on a random checkpoint whose routing changes the answer for the first
gallery digit (tests/routed_weights.py). What the page draws is compared with what /api/ablation says.
Like tests/test_page.py, every test checks for console errors or warnings and requests that leave this
machine."""
from __future__ import annotations

import json
import urllib.request

import numpy as np
import pytest

from app.encoding import decode
from browser_helpers import analyses, fits_narrow_screen, pick, reveal, wait_for_analysis, wait_until, watch
from test_page import canvas_pixels, check_clean, shoot, text

pytestmark = pytest.mark.browser

FIRST = "test-00003"  # the page starts with the gallery's first digit


@pytest.fixture(scope="module")
def server(routed_server):
    return routed_server


@pytest.fixture(scope="module")
def api(server):
    """POST /api/ablation on the same server, as the page's input would be sent."""
    def call(**body):
        request = urllib.request.Request(server + "api/ablation", json.dumps({"sample": FIRST, **body}).encode(),
                                         {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as r:
            return json.load(r)
    return call


@pytest.fixture(scope="module")
def page(browser, server):
    # Like test_page.open_page, but not waiting for the "load" event (plotly.js is 4 MB) within a fixed
    # time: on 2 cores shared with training and other test runs that alone took over 2 minutes.
    page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
    page.set_default_timeout(300_000)
    watch(page)
    page.goto(server, wait_until="domcontentloaded")
    wait_for_analysis(page, 1, timeout=600)
    wait_for_analysis(page, 1, timeout=300)
    reveal(page, "#ablation")  # the section asks for its data when it comes near the viewport
    wait_until(page, "Number(document.body.dataset.ablations || 0) >= 1", timeout=300)
    yield page
    check_clean(page)
    page.context.close()


def ablations(page) -> int:
    return int(page.evaluate("Number(document.body.dataset.ablations || 0)"))


def bars(page, selector) -> np.ndarray:
    """The bar heights plotly was given, as the float32 values the API sent."""
    return np.asarray(page.evaluate(f"Array.from(document.querySelector('{selector}').data[0].y)"), dtype=np.float32)


def test_section_draws_for_the_first_digit(page, api):
    body = api()
    lengths, uniform = decode(body["lengths"]), decode(body["uniform"]["lengths"])
    assert page.locator(".walk-nav a[href='#ablation']").inner_text() == "7 Routing ablation"
    assert text(page, "#ablation-title").endswith("Does routing matter?")
    # These weights route: uniform coupling says one digit, 3 iterations another (the API says so too).
    assert body["uniform"]["prediction"] != body["predictions"][2]
    np.testing.assert_array_equal(bars(page, "#ablation-uniform"), uniform)
    np.testing.assert_array_equal(bars(page, "#ablation-routed"), lengths[2])
    assert np.any(bars(page, "#ablation-uniform") != bars(page, "#ablation-routed"))
    assert text(page, "#ablation-uniform-caption").startswith(f"Prediction {body['uniform']['prediction']},")
    assert text(page, "#ablation-routed-caption").startswith(f"Prediction {body['predictions'][2]},")
    assert text(page, "#ablation-iterations-label") == "n = 3"
    conclusion = text(page, "#ablation-conclusion")
    assert conclusion.startswith(f"Routing changes the answer from {body['uniform']['prediction']} (no routing) "
                                 f"to {body['predictions'][2]} (3 iterations)")
    # Each digit's length against the iteration count, and every digit's mean |Δc| per step.
    assert page.evaluate("document.querySelector('#ablation-curves').data.length") == 10
    curve = page.evaluate(f"document.querySelector('#ablation-curves').data[{body['digit']}]")
    np.testing.assert_array_equal(np.asarray(curve["y"], dtype=np.float32), lengths[:, body["digit"]])
    assert curve["line"]["width"] == 4  # the digit picked for Δc: the prediction at the default iterations
    assert page.evaluate("document.querySelector('#ablation-convergence').data.length") == 10
    # The Δc map of the default digit and step 1 -> 2, with its range in the legend.
    assert page.locator(f"#ablation-digit-{body['digit']}").is_checked()
    assert text(page, "#ablation-step-label") == "1 → 2"
    pixels = canvas_pixels(page, "#ablation-delta").reshape(-1, 4)
    assert pixels[:, 3].max() == 255 and len(np.unique(pixels[:, :3], axis=0)) > 20, "the Δc map is blank"
    top = np.abs(decode(body["delta_c"][0]["map"])).max()
    assert page.get_attribute("#ablation-delta-legend", "data-hi") == f"{float(f'{top:.2g}'):g}"
    assert text(page, "#ablation-delta-caption").startswith(f"Δc for digit {body['digit']}, iteration 1 → 2")
    check_clean(page)


def test_iteration_control_redraws_without_a_request(page, api):
    body = api()
    lengths = decode(body["lengths"])
    before, routed = ablations(page), bars(page, "#ablation-routed")
    page.focus("#ablation-iterations")
    page.keyboard.press("Home")
    assert text(page, "#ablation-iterations-label") == "n = 1"
    # One iteration is uniform coupling: the two sides are equal exactly when the API says so.
    assert body["uniform"]["equals_iterations_1"] is True
    np.testing.assert_array_equal(bars(page, "#ablation-routed"), bars(page, "#ablation-uniform"))
    assert text(page, "#ablation-conclusion").startswith("Identical: after 1 iteration the coupling is still uniform")
    assert "One iteration: the same uniform coupling" in text(page, "#ablation-routed-caption")
    page.keyboard.press("End")
    assert text(page, "#ablation-iterations-label") == "n = 10"
    np.testing.assert_array_equal(bars(page, "#ablation-routed"), lengths[9])
    assert not np.array_equal(bars(page, "#ablation-routed"), routed)
    assert page.evaluate("document.querySelector('#ablation-curves').layout.shapes[2].x0") == 10
    assert ablations(page) == before, "the iteration control must redraw from the data on the page"
    check_clean(page)


def test_step_and_digit_change_the_difference_map(page, api):
    first = canvas_pixels(page, "#ablation-delta")
    page.focus("#ablation-step")
    page.keyboard.press("ArrowRight")
    assert text(page, "#ablation-step-label") == "2 → 3"
    assert "iteration 2 → 3" in text(page, "#ablation-delta-caption")
    second = canvas_pixels(page, "#ablation-delta")
    assert not np.array_equal(first, second), "the step changed nothing on the map"
    # Another digit's Δc comes from the server; the map, caption and thick curve follow.
    before = ablations(page)
    digit = int(page.evaluate("document.querySelector('#ablation-digits input:checked').value"))
    other = (digit + 3) % 10
    pick(page, f"ablation-digit-{other}")
    wait_until(page, f"Number(document.body.dataset.ablations || 0) > {before}")
    assert text(page, "#ablation-delta-caption").startswith(f"Δc for digit {other}, iteration 2 → 3")
    assert not np.array_equal(canvas_pixels(page, "#ablation-delta"), second)
    assert page.evaluate(f"document.querySelector('#ablation-curves').data[{other}].line.width") == 4
    top = np.abs(decode(api(digit=other)["delta_c"][1]["map"])).max()
    assert page.get_attribute("#ablation-delta-legend", "data-hi") == f"{float(f'{top:.2g}'):g}"
    # The map answers hover with the capsule's value.
    page.locator("#ablation-delta").hover(position={"x": 3, "y": 3})
    assert text(page, "#ablation-readout").startswith(f"Capsule type 0, row 0, column 0 → digit {other}, iteration 2 → 3: Δc = ")
    shoot(page, "ablation")
    check_clean(page)


def test_fetched_when_the_walk_input_changes_and_only_then(page):
    before, walk = ablations(page), analyses(page)
    page.fill("#routing-iterations", "5")
    page.press("#routing-iterations", "Enter")
    wait_for_analysis(page, walk + 1)
    wait_until(page, "!document.body.classList.contains('is-busy')")
    page.wait_for_timeout(300)
    assert ablations(page) == before, "re-routing the walk's same input fetched the ablation again"
    page.locator("#gallery button").nth(5).click()
    wait_for_analysis(page, walk + 2)
    reveal(page, "#ablation")  # asked for once the section is near the viewport again
    wait_until(page, f"Number(document.body.dataset.ablations || 0) > {before}")
    assert text(page, "#ablation-conclusion")
    check_clean(page)


def test_narrow_screen(page):
    overflow = fits_narrow_screen(page)
    assert overflow <= 0, f"page is {overflow} px wider than a 390 px screen"
    shoot(page, "ablation", "ablation-390")
    check_clean(page)
