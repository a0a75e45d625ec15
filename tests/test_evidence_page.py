"""The evidence section of the page in a real browser (headless Debian Chromium against run_visualization.py on
a random checkpoint): both overlays drawn, a second digit picked redraws its overlay, a listed capsule clicked
shows its vector and votes as the API gives them. Like tests/test_page.py, every test checks for console
errors or warnings and requests that leave this machine."""
from __future__ import annotations

import json
import urllib.request

import numpy as np
import pytest

from app.encoding import decode
from browser_helpers import reveal, wait_until
from test_page import ROOT, canvas_pixels, check_clean, open_page, shoot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def page(browser, server):
    page = open_page(browser, server)
    reveal(page, "#evidence")  # the section asks for its data when it comes near the viewport
    wait_until(page, "Number(document.body.dataset.evidence || 0) >= 1")
    yield page
    check_clean(page)
    page.context.close()


def evidence_count(page) -> int:
    return int(page.evaluate("Number(document.body.dataset.evidence || 0)"))


def api_evidence(server, body) -> dict:
    request = urllib.request.Request(server + "api/evidence", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as r:
        return json.load(r)


def test_overlays_are_drawn(page):
    for n in (0, 1):
        rgba = canvas_pixels(page, f"#evidence-map-{n}").reshape(28, 28, 4)
        assert rgba[..., 3].min() == 255
        assert rgba[..., :3].std() > 5, f"overlay {n} is flat"
        # viridis over grey: the colour channels differ somewhere (grey alone has r == g == b)
        assert np.abs(rgba[..., 0].astype(int) - rgba[..., 2].astype(int)).max() > 20
    assert page.locator("#evidence-top-0 button").count() == 10
    assert page.locator("#evidence-top-1 button").count() == 10
    assert page.locator("#evidence-detail").is_visible()  # the predicted digit's strongest capsule
    check_clean(page)


def test_picking_a_second_digit_redraws_its_overlay(page):
    prediction = int(page.locator("#evidence-caption-0").inner_text().split()[1])
    checked = page.locator("#evidence-second input:checked").get_attribute("value")
    assert int(checked) != prediction
    assert page.locator(f"#evidence-second-{prediction}").is_disabled()
    left = canvas_pixels(page, "#evidence-map-0")
    # The random test weights hardly route (c stays near 0.1), so every digit's c|u| map is the same pyramid
    # to 8 bits; what routing added differs between digits, so that is the picture compared here.
    page.check("#evidence-mode-routed")
    assert not np.array_equal(canvas_pixels(page, "#evidence-map-0"), left), "the mode switch redrew nothing"
    caption = page.locator("#evidence-caption-0").inner_text()
    before = canvas_pixels(page, "#evidence-map-1")
    pick = next(j for j in range(10) if j not in (prediction, int(checked)))
    count = evidence_count(page)
    page.check(f"#evidence-second-{pick}")
    wait_until(page, f"Number(document.body.dataset.evidence || 0) > {count}")
    assert page.locator("#evidence-caption-1").inner_text().startswith(f"Digit {pick} ")
    assert page.locator("#evidence-caption-0").inner_text() == caption
    assert not np.array_equal(canvas_pixels(page, "#evidence-map-1"), before), "the second overlay did not change"
    page.check("#evidence-mode-map")
    check_clean(page)


def test_clicking_a_capsule_shows_its_vector_and_votes(page, server):
    button = page.locator("#evidence-top-1 button").nth(3)
    capsule = int(button.get_attribute("data-capsule"))
    rf_before = canvas_pixels(page, "#evidence-rf-0")
    button.click()
    assert button.get_attribute("aria-pressed") == "true"
    assert page.locator("#evidence-top-1 button[aria-pressed=true]").count() == 1
    assert page.locator("#evidence-capsule").inner_text().startswith(f"Capsule {capsule}: ")
    assert not np.array_equal(canvas_pixels(page, "#evidence-rf-0"), rf_before) or capsule % 36 == 0

    digits = [int(page.locator(f"#evidence-caption-{n}").inner_text().split()[1]) for n in (0, 1)]
    body = api_evidence(server, {"sample": first_sample(page), "digits": digits})
    votes = next(v for v in body["capsules"] if v["capsule"] == capsule)
    u = decode(votes["vector"])
    numbers = page.locator("#evidence-numbers li").all_inner_texts()
    assert numbers == [f"u{i + 1} = {v:.3f}".replace("-0.000", "0.000") for i, v in enumerate(u)]
    rows = page.locator("#evidence-votes tr")
    assert rows.count() == 10
    for j in range(10):
        cells = rows.nth(j).locator("td").all_inner_texts()
        assert float(cells[1]) == pytest.approx(votes["u_hat_lengths"][j], abs=6e-4)
        assert float(cells[2]) == pytest.approx(votes["c"][-1][j], abs=6e-4)
    assert page.locator("#evidence-votes canvas").count() == 10
    # From the keyboard: Tab to the first listed capsule and press Enter.
    page.focus("#evidence-top-0 button >> nth=0")
    page.keyboard.press("Enter")
    first = page.locator("#evidence-top-0 button").nth(0).get_attribute("data-capsule")
    assert page.locator("#evidence-capsule").inner_text().startswith(f"Capsule {first}: ")
    shoot(page, "evidence")
    check_clean(page)


def first_sample(page) -> str:
    """The gallery sample the page starts with: the walk's input throughout this module."""
    assert page.evaluate("document.body.dataset.source") == "sample"
    return json.loads((ROOT / "weights" / "mnist" / "gallery.json").read_text())["samples"][0]["id"]


def test_narrow_screen(page):
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"page is {overflow} px wider than a 390 px screen"
    shoot(page, "evidence", "evidence-390")
    check_clean(page)
