"""The overlapping-digits section in a real browser (headless Debian Chromium against run_visualization.py
on a random checkpoint): choosing two gallery digits draws their composite and both reconstructions in
their two colours, the shift slider moves the second digit, "random pair" picks two digits of different
classes. Every test checks for console errors or warnings and for requests that leave this machine."""
from __future__ import annotations

import re

import numpy as np
import pytest

from app.samples import Gallery
from browser_helpers import reveal, wait_until
from conftest import GALLERY
from test_page import SHOTS, canvas_pixels, check_clean, open_page, shoot


pytestmark = pytest.mark.browser

FIRST, SECOND = "test-00004", "test-00002"  # a 4 and a 1


@pytest.fixture(scope="module")
def page(browser, server):
    page = open_page(browser, server)
    reveal(page, "#overlap")  # the section asks for its data when it comes near the viewport
    wait_until(page, "Number(document.body.dataset.overlaps || 0) >= 1")  # the default pair
    yield page
    check_clean(page)
    page.context.close()


def overlaps(page) -> int:
    return int(page.evaluate("Number(document.body.dataset.overlaps || 0)"))


def wait_settled(page, before: int) -> None:
    """Until a newer pair is drawn and nothing is in flight: under load one key press's answer can be drawn
    before the next press is sent, so a drawn pair alone does not mean the last choice is on screen."""
    wait_until(page, f"Number(document.body.dataset.overlaps || 0) > {before}")
    wait_until(page, "document.querySelector('#overlap').getAttribute('aria-busy') === 'false'")


def rgb(page, selector) -> np.ndarray:
    return canvas_pixels(page, selector).reshape(28, 28, 4)[..., :3].astype(int)


def test_two_chosen_digits_are_composed_and_both_reconstructions_drawn(page):
    before = overlaps(page)
    page.select_option("#overlap-first", FIRST)
    page.select_option("#overlap-second", SECOND)
    # back to no shift, from the keyboard
    for slider in ("#overlap-dx", "#overlap-dy"):
        page.focus(slider)
        page.keyboard.press("End")
        page.keyboard.press("Home")
        for _ in range(4):
            page.keyboard.press("ArrowRight")
    wait_settled(page, before)
    assert page.locator("#overlap-dx + output").inner_text() == "0 px"
    assert page.locator("#overlap-dy + output").inner_text() == "0 px"

    # the grey composite is the clipped sum of the two MNIST digits
    g = Gallery(GALLERY)
    expected = np.minimum(g.image(FIRST) + g.image(SECOND), 1) * 255
    composite = rgb(page, "#overlap-input")
    assert np.abs(composite[..., 0] - expected).max() <= 2
    assert (composite[..., 0] == composite[..., 2]).all()

    # each reconstruction alone in its own colour: black -> orange, black -> blue
    first, second = rgb(page, "#overlap-reconstruction-0"), rgb(page, "#overlap-reconstruction-1")
    lit0, lit1 = first.sum(-1) > 60, second.sum(-1) > 60
    assert lit0.any() and lit1.any(), "a reconstruction is empty"
    assert (first[lit0][:, 0] > first[lit0][:, 1]).all() and (first[lit0][:, 2] <= 1).all()  # orange: R > G, no B
    assert (second[lit1][:, 0] <= 1).all() and (second[lit1][:, 2] > second[lit1][:, 1]).all()  # blue: B > G, no R

    # the overlay mixes both colours over the grey input: not grey, and blue and red both present
    overlay = rgb(page, "#overlap-overlay")
    assert (overlay[..., 0] != overlay[..., 2]).mean() > 0.5
    assert overlay[..., 0].max() > 100 and overlay[..., 2].max() > 80

    # the legend names the two digits the verdict names, and the bars mark them
    legend = page.locator("#overlap-legend").inner_text()
    verdict = page.locator("#overlap-verdict").inner_text()
    captions = page.locator("#overlap-reconstruction-0-caption, #overlap-reconstruction-1-caption").all_inner_texts()
    top = [int(re.search(r"capsule: (\d)", c).group(1)) for c in captions]
    assert f"capsule {top[0]}" in legend and f"capsule {top[1]}" in legend and "both" in legend
    assert f"are {top[0]} and {top[1]}" in verdict
    assert ("4" in verdict and "1" in verdict), verdict
    tags = page.locator("#overlap-lengths .ov-tag").all_inner_texts()
    assert [d for d, t in enumerate(tags) if t] == [1, 4]
    check_clean(page)


def test_moving_the_shift_slider_moves_the_second_digit(page):
    composite = rgb(page, "#overlap-input")
    second = rgb(page, "#overlap-second-part")
    before = overlaps(page)
    page.focus("#overlap-dx")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    wait_settled(page, before)
    assert page.locator("#overlap-dx + output").inner_text() == "3 px"
    moved = rgb(page, "#overlap-second-part")
    np.testing.assert_array_equal(moved[:, 3:], second[:, :-3])
    assert not np.array_equal(rgb(page, "#overlap-input"), composite), "the composite did not change"
    check_clean(page)


def test_random_pair(page):
    for _ in range(2):
        before = overlaps(page)
        page.click("#overlap-random")
        wait_settled(page, before)
        first, second = page.input_value("#overlap-first"), page.input_value("#overlap-second")
        assert first != "walk" and first != second
        pair = [page.locator(f"#overlap-{k} option:checked").inner_text() for k in ("first", "second")]
        a, b = (int(t.split(",")[0].removeprefix("a ")) for t in pair)
        assert a != b, f"random pair of the same class: {pair}"
        for axis in ("dx", "dy"):
            assert -4 <= int(page.input_value(f"#overlap-{axis}")) <= 4
        assert "misclassified" not in " ".join(pair)
    shoot(page, "overlap")
    check_clean(page)


def test_walk_input_and_narrow_screen(page):
    before = overlaps(page)
    page.select_option("#overlap-first", "walk")
    wait_settled(page, before)
    np.testing.assert_array_equal(rgb(page, "#overlap-first-part"), rgb(page, "#input-seen"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"page is {overflow} px wider than a 390 px screen"
    shoot(page, "overlap", "overlap-390")
    assert SHOTS.exists()
    check_clean(page)


def test_the_same_digit_twice_is_explained_not_sent(page):
    # The walk shows test-00003; choosing it second while the first is the walk would overlay it on itself.
    bad = []
    page.on("response", lambda r: r.status >= 400 and bad.append(r.url))
    reveal(page, "#overlap")  # the previous test resized the page: bring the section back into view
    page.select_option("#overlap-first", "walk")
    page.select_option("#overlap-second", "test-00003")
    wait_until(page, "document.querySelector('#overlap-verdict').classList.contains('is-error')")
    assert "choose two different digits" in page.locator("#overlap-verdict").inner_text()
    before = overlaps(page)
    page.select_option("#overlap-second", SECOND)
    wait_settled(page, before)
    assert "is-error" not in (page.get_attribute("#overlap-verdict", "class") or "")
    assert bad == []
    check_clean(page)
