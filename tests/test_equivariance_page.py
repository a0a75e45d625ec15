"""The equivariance section section of the page in a real browser (headless Debian Chromium against
run_visualization.py on a random checkpoint): a transform slider re-analyzes the transformed input, a sweep
draws its two plotly charts and the strip of transformed inputs. Like tests/test_page.py, every test checks
for console errors or warnings and requests that leave this machine."""
from __future__ import annotations


import numpy as np
import pytest

from browser_helpers import analyses, fits_narrow_screen, reveal, wait_for_chart, wait_until
from test_page import SHOTS, canvas_pixels, check_clean, open_page, shoot


pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def page(browser, server):
    page = open_page(browser, server)
    yield page
    check_clean(page)
    page.context.close()


def counter(page, name) -> int:
    return int(page.evaluate(f"Number(document.body.dataset.{name} || 0)"))


def bars(page, selector) -> list[list[float]]:
    """The bar heights plotly was given, once the chart is in view and drawn."""
    reveal(page, selector)
    wait_for_chart(page, selector)
    return page.evaluate(f"Array.from(document.querySelector('{selector}').data, (t) => Array.from(t.y))")


def test_response_charts_start_with_the_untransformed_capsules(page):
    # Nothing transformed yet: grey and blue are the same capsules, the walk's own.
    shown = bars(page, "#equivariance-response-lengths")
    assert len(shown) == 2 and len(shown[0]) == 10 and shown[0] == shown[1]
    np.testing.assert_allclose(shown[0], bars(page, "#digit-lengths")[0], rtol=1e-6)
    dims = bars(page, "#equivariance-response-dims")
    assert len(dims) == 2 and len(dims[0]) == 16 and dims[0] == dims[1]
    assert "moved by 0.000" in page.locator("#equivariance-response-dims-caption").inner_text()


def test_rotate_slider_reanalyzes_the_transformed_input(page):
    before = counter(page, "transforms")
    walk = analyses(page)
    seen = canvas_pixels(page, "#input-seen")
    page.focus("#equivariance-rotate")
    for _ in range(20):
        page.keyboard.press("ArrowRight")
    wait_until(page, f"Number(document.body.dataset.transforms || 0) > {before}")
    page.wait_for_timeout(300)  # the latest value is sent when the one in flight returns
    wait_until(page, "!document.querySelector('#equivariance-readout').textContent.includes('analyzing')")
    assert page.locator("#equivariance-rotate + output").inner_text() == "20°"
    assert "prediction" in page.locator("#equivariance-readout").inner_text()
    original = canvas_pixels(page, "#equivariance-original")
    transformed = canvas_pixels(page, "#equivariance-transformed")
    assert original.reshape(-1, 4)[:, 0].max() > 200, "the untransformed input is empty"
    assert np.abs(original.astype(int) - transformed.astype(int)).max() > 0, "the transform changed nothing"
    # The response charts: grey unchanged, blue the transformed input's capsules, and the caption's distance
    # is the distance between the two bar sets of the predicted capsule.
    lengths, dims = bars(page, "#equivariance-response-lengths"), bars(page, "#equivariance-response-dims")
    assert len(lengths) == 2 and lengths[0] != lengths[1], "the transformed lengths are not drawn"
    assert len(dims) == 2 and dims[0] != dims[1], "the transformed dimensions are not drawn"
    moved = float(np.linalg.norm(np.subtract(dims[1], dims[0])))
    assert f"moved by {moved:.3f}" in page.locator("#equivariance-response-dims-caption").inner_text()
    # The walk above keeps its own, untransformed analysis.
    assert analyses(page) == walk
    assert np.array_equal(canvas_pixels(page, "#input-seen"), seen)
    check_clean(page)


def test_sweep_draws_charts_and_strip(page):
    before = counter(page, "sweeps")
    page.select_option("#equivariance-parameter", "rotate")
    page.click("#equivariance-sweep")
    wait_until(page, f"Number(document.body.dataset.sweeps || 0) > {before}")
    assert page.evaluate("document.querySelector('#equivariance-lengths').data.length") == 10
    assert page.evaluate("document.querySelector('#equivariance-dims').data.length") == 16
    assert page.locator("#equivariance-strip canvas").count() == 19
    assert page.locator("#equivariance-lengths .main-svg").count() > 0
    assert page.locator("#equivariance .modebar").count() == 0
    shoot(page, "equivariance")
    check_clean(page)


def test_reset_and_narrow_screen(page):
    page.click("#equivariance-reset")
    wait_until(page, "document.querySelector('#equivariance-rotate + output').textContent === '0°'")
    overflow = fits_narrow_screen(page)
    assert overflow <= 0, f"page is {overflow} px wider than a 390 px screen"
    shoot(page, "equivariance", "equivariance-390")
    assert SHOTS.exists()
    check_clean(page)
