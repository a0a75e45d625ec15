"""The decoder run by the page (static/js/decoder.js, weights from GET /api/decoder) in real headless
Chromium against run_visualization.py on the random checkpoint: it equals the model's torch decoder; a
dragged slider draws what torch decodes for the slider vector, without a server round trip, and changes
nothing outside its section; when the weights cannot be had, the page falls back to POST /api/reconstruct.
Every test checks for console errors or warnings and requests that leave this machine."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from browser_helpers import open_reconstruction, wait_until
from model.weights import load_weights
from test_page import canvas_pixels, check_clean

pytestmark = pytest.mark.browser

# Decodes `vectors` (n x dim) for `digits` twice in the page: one at a time, and in groups per digit
# through decodeMany (group sizes that are not multiples of its 4-sample blocks).
IN_PAGE = """async ({ digits, vectors }) => {
  const api = await import('/static/js/api.js');
  const { createDecoder } = await import('/static/js/decoder.js');
  const { shapesOf } = await import('/static/js/shapes.js');
  const shapes = shapesOf(await api.getModel());
  const decoder = createDecoder(await api.getDecoder(), shapes);
  const one = vectors.map((v, b) => Array.from(decoder.decode(digits[b], v)));
  const many = new Array(vectors.length);
  for (let d = 0; d < shapes.digits; d++) {
    const rows = digits.map((x, b) => (x === d ? b : -1)).filter((b) => b >= 0);
    if (!rows.length) continue;
    const flat = Float32Array.from(rows.flatMap((b) => vectors[b]));
    const out = decoder.decodeMany(d, flat, rows.length);
    rows.forEach((b, q) => { many[b] = Array.from(out.subarray(q * shapes.pixels, (q + 1) * shapes.pixels)); });
  }
  return { one, many };
}"""


@pytest.fixture(scope="module")
def model(random_weights):
    return load_weights(random_weights)


def torch_decode(model, digits, vectors) -> np.ndarray:
    with torch.no_grad():
        return model.decode_vector(torch.as_tensor(digits), torch.as_tensor(np.asarray(vectors, np.float32))).numpy()


def open_page(browser, url, route_decoder=None):
    return open_reconstruction(browser, url, ("**/api/decoder", route_decoder) if route_decoder else None)


def slider_state(page) -> tuple[int, np.ndarray]:
    """The digit and the float32 vector the sliders hold (the page keeps each value as a float32)."""
    digit, values = page.evaluate("""() => [Number(document.querySelector('#reconstruction-digit').value),
        [...document.querySelectorAll('#reconstruction-sliders input')].map((s) => Number(s.value))]""")
    return digit, np.asarray(values, np.float32)


def drag_slider(page, k: int) -> None:
    """A real mouse drag across most of slider k (1-based), left to right."""
    slider = page.locator(f"#reconstruction-dim-{k}")
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 0.5 * box["width"], y)
    page.mouse.down()
    for t in np.linspace(0.5, 0.85, 12):
        page.mouse.move(box["x"] + t * box["width"], y)
    page.mouse.up()


def settled_reconstruction(page, before: int) -> None:
    """Waits for a reconstruction after `before` and for no more to come (the last frame drawn)."""
    wait_until(page, f"Number(document.body.dataset.reconstructions || 0) > {before}")
    last = None
    while (now := page.evaluate("document.body.dataset.reconstructions")) != last:
        last = now
        page.wait_for_timeout(400)


def expected_pixels(image: np.ndarray) -> np.ndarray:
    """The canvas's grey levels for decoder values in [0, 1] (colormap.js: round(v * 255), clamped)."""
    return np.clip(np.rint(image.reshape(-1) * 255), 0, 255).astype(int)


def test_page_decoder_equals_torch_on_100_random_vectors(browser, server, model):
    page = open_page(browser, server)
    rng = np.random.default_rng(0)
    digits = rng.integers(0, 10, 100)
    vectors = rng.uniform(-0.6, 0.6, (100, 16)).astype(np.float32)
    got = page.evaluate(IN_PAGE, {"digits": digits.tolist(), "vectors": vectors.tolist()})
    want = torch_decode(model, digits, vectors).reshape(100, -1)
    for name in ("one", "many"):
        diff = np.abs(np.asarray(got[name], np.float64) - want)
        assert diff.max() <= 1e-4, (name, diff.max())
    check_clean(page)
    page.context.close()


def test_a_dragged_slider_draws_what_torch_decodes(browser, server, model):
    page = open_page(browser, server)
    wait_until(page, "document.body.dataset.reconstructionDecoder")
    assert page.evaluate("document.body.dataset.reconstructionDecoder") == "page"
    # Anything that changes outside the section during the drag, other than <body>'s test hooks.
    page.evaluate("""() => {
      window.outside = [];
      const section = document.querySelector('#reconstruction');
      new MutationObserver((records) => {
        for (const r of records) {
          if (r.target === document.body && r.type === 'attributes') continue;
          if (!section.contains(r.target)) window.outside.push(r.target.id || r.target.nodeName);
        }
      }).observe(document.documentElement, { subtree: true, childList: true, attributes: true, characterData: true });
    }""")
    page.requests.clear()
    before = int(page.evaluate("Number(document.body.dataset.reconstructions || 0)"))
    shown = canvas_pixels(page, "#reconstruction-image")
    drag_slider(page, 3)
    settled_reconstruction(page, before)
    digit, vector = slider_state(page)
    assert "(+0.000)" not in page.locator("#reconstruction-sliders output").nth(2).inner_text()
    pixels = canvas_pixels(page, "#reconstruction-image")
    assert not np.array_equal(pixels, shown), "the drag did not redraw the reconstruction"
    pixels = pixels.reshape(-1, 4)[:, 0].astype(int)
    want = expected_pixels(torch_decode(model, [digit], [vector])[0])
    assert np.abs(pixels - want).max() <= 1 and np.mean(pixels == want) > 0.99
    assert not any("/api/reconstruct" in u for u in page.requests), "the page decodes without a round trip"
    assert page.evaluate("window.outside") == [], "a slider event changed something outside its section"
    check_clean(page)
    page.context.close()


def test_without_the_weights_the_server_decodes(browser, server, model):
    page = open_page(browser, server, lambda route: route.fulfill(status=503, content_type="application/json",
                                                                    body='{"error": "weights unavailable (test)"}'))
    wait_until(page, "document.body.dataset.reconstructionDecoder")
    assert page.evaluate("document.body.dataset.reconstructionDecoder") == "server"
    page.requests.clear()
    before = int(page.evaluate("Number(document.body.dataset.reconstructions || 0)"))
    drag_slider(page, 2)
    settled_reconstruction(page, before)
    assert any("/api/reconstruct" in u for u in page.requests)
    digit, vector = slider_state(page)
    pixels = canvas_pixels(page, "#reconstruction-image").reshape(-1, 4)[:, 0].astype(int)
    # The server sends float16 pixels: within a grey level of the float32 decoder.
    assert np.abs(pixels - expected_pixels(torch_decode(model, [digit], [vector])[0])).max() <= 1
    # The one problem is the refused weights, which the page survives.
    problems, page.problems = page.problems, []
    assert all("503" in p for p in problems), problems
    check_clean(page)
    page.context.close()
