"""The reconstruction section's Fig. 4 grid in real headless Chromium (random checkpoint): painted by its
worker (static/js/perturbationWorker.js) or, when no worker can start, by the page, it shows the server's
/api/perturbations decodes for the slider vector, tile by tile. Console and foreign requests checked."""
from __future__ import annotations

import json
import urllib.request

import numpy as np
import pytest

from app.encoding import decode
from browser_helpers import open_reconstruction, wait_until
from test_page import canvas_pixels, check_clean

pytestmark = pytest.mark.browser

# static/js/views/reconstruction.js's grid layout, in canvas pixels: labels left and above, tiles 2x
# with 2 px gaps.
LEFT, TOP, SCALE, PITCH = 44, 24, 2, 58


def open_grid(browser, url, route=None):
    page = open_reconstruction(browser, url, route)
    wait_until(page, "Number(document.body.dataset.perturbations || 0) >= 1")
    return page


def shown_grid(page) -> np.ndarray:
    """The grey level of every tile pixel on the canvas -> (16, 11, 28, 28)."""
    size = page.evaluate("(() => { const c = document.querySelector('#perturbations'); return [c.width, c.height]; })()")
    rgba = canvas_pixels(page, "#perturbations").reshape(size[1], size[0], 4)[..., 0].astype(int)
    rows, cols = (size[1] - TOP) // PITCH, (size[0] - LEFT) // PITCH
    out = np.zeros((rows, cols, 28, 28), int)
    for k in range(rows):
        for s in range(cols):
            tile = rgba[TOP + k * PITCH:TOP + k * PITCH + 28 * SCALE, LEFT + s * PITCH:LEFT + s * PITCH + 28 * SCALE]
            assert (tile[::SCALE, ::SCALE] == tile[1::SCALE, 1::SCALE]).all(), "not scaled by nearest neighbour"
            out[k, s] = tile[::SCALE, ::SCALE]
    return out


def servers_grid(url, page) -> np.ndarray:
    digit, vector = page.evaluate("""() => [Number(document.querySelector('#reconstruction-digit').value),
        [...document.querySelectorAll('#reconstruction-sliders input')].map((s) => Math.fround(Number(s.value)))]""")
    req = urllib.request.Request(url + "api/perturbations", data=json.dumps({"digit": digit, "vector": vector}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        images = decode(json.loads(r.read())["images"])
    return np.clip(np.rint(images * 255), 0, 255).astype(int)


def test_the_worker_paints_the_servers_grid(browser, server):
    page = open_grid(browser, server)
    assert page.evaluate("document.body.dataset.perturbationsPainter") == "worker"
    page.wait_for_timeout(300)  # the last grid asked for is drawn
    assert np.abs(shown_grid(page) - servers_grid(server, page)).max() <= 1
    check_clean(page)
    page.context.close()


def test_without_a_worker_the_page_paints_it(browser, server):
    page = open_grid(browser, server, ("**/perturbationWorker.js", lambda route: route.fulfill(status=404, body="")))
    page.wait_for_timeout(300)
    assert page.evaluate("document.body.dataset.perturbationsPainter") == "page"
    assert np.abs(shown_grid(page) - servers_grid(server, page)).max() <= 1
    problems, page.problems = page.problems, []
    assert all("404" in p or "perturbationWorker" in p for p in problems), problems
    check_clean(page)
    page.context.close()
