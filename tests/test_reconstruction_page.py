"""The reconstruction section (section 5) in a real browser: headless Debian Chromium against run_visualization.py on the
random checkpoint, once with a small known capsule_stats.json beside it and once without.

Checked: slider ranges are the statistics' mean ± 3σ (widened to the capsule's own value) or ±0.25 without
them; the histograms are drawn; the URL hash and an exported JSON file restore the input, iterations, digit
and slider vector in a fresh page with the same reconstruction pixels (bad and tampered state:
test_reconstruction_state.py); the PNG downloads are valid PNGs of the right size. Like tests/test_page.py, every
test checks for console errors or warnings and requests that leave this machine."""
from __future__ import annotations

import base64
import json
import shutil
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from browser_helpers import SEVEN, analyses, draw, fits_narrow_screen, reveal, serve, wait_for_analysis, wait_until, watch
from test_page import canvas_pixels, check_clean, shoot, text


pytestmark = pytest.mark.browser

ENV = {"OMP_NUM_THREADS": "1"}
BINS = 24
# Known statistics: dimension k of class d has mean 0.01 (k - 8) + 0.001 d and σ 0.2, so ±3σ = ±0.6 holds
# a random capsule's components; the last dimension has a mean of 0.9 and a tiny σ, far from any capsule
# value, so its range must be widened down to the capsule's own value.
TRIANGLE = [i + 1 for i in range(BINS // 2)] + [BINS // 2 - i for i in range(BINS // 2)]


def known_stats() -> dict:
    classes = []
    for d in range(10):
        dims = []
        for k in range(16):
            mean, std = (0.9, 0.001) if k == 15 else (round(0.01 * (k - 8) + 0.001 * d, 5), 0.2)
            dims.append({"mean": mean, "std": std, "hist_range": [mean - 4 * std, mean + 4 * std], "hist": TRIANGLE})
        classes.append({"digit": d, "n": 100 + d, "dims": dims})
    return {"source": "test", "bins": BINS, "classes": classes}


@pytest.fixture(scope="module")
def stats_weights(random_weights, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("reconstruction") / "weights"
    folder.mkdir()
    for f in random_weights.parent.iterdir():
        shutil.copy(f, folder / f.name)
    (folder / "capsule_stats.json").write_text(json.dumps(known_stats()))
    return folder / random_weights.name


@pytest.fixture(scope="module")
def server(stats_weights):
    with serve(stats_weights, threads=2, env=ENV) as url:
        yield url


def new_page(browser, url, width=1366):
    context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(300_000)  # two cores shared with training and other browsers: loads can be slow
    watch(page)
    page.goto(url, wait_until="domcontentloaded")  # the tests wait for the page's own counters instead of "load"
    return page


@pytest.fixture(scope="module")
def page(browser, server):
    page = new_page(browser, server)
    wait_for_analysis(page, 1)
    reveal(page, "#reconstruction")  # the section draws (and asks for its grid) when near the viewport
    yield page
    check_clean(page)
    page.context.close()


def post(url: str, path: str, body: dict) -> dict:
    req = urllib.request.Request(url + path.lstrip("/"), data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def float32s(tensor: dict) -> np.ndarray:
    assert tensor["dtype"] == "float32"
    return np.frombuffer(base64.b64decode(tensor["data"]), "<f4").reshape(tensor["shape"]) * tensor.get("scale", 1)


def lab_state(page) -> dict:
    """What the reconstruction shows, read from the page itself (in view: the section draws when near the viewport)."""
    reveal(page, "#routing", "#reconstruction")
    return page.evaluate("""() => ({
        hash: location.hash,
        digit: document.querySelector('#reconstruction-digit').value,
        iterations: document.querySelector('#routing-iterations').value,
        source: document.body.dataset.source,
        values: [...document.querySelectorAll('#reconstruction-sliders input')].map((s) => s.value),
        outputs: [...document.querySelectorAll('#reconstruction-sliders output')].map((o) => o.textContent),
    })""")


def shared_vector(page) -> list[float]:
    """The slider vector as the URL hash holds it, parsed by the page's own module."""
    return page.evaluate("""async () => (await import('/static/js/reconstructionState.js')).fromHash(location.hash).vector""")


def counter(page, name: str) -> int:
    return int(page.evaluate(f"Number(document.body.dataset.{name} || 0)"))


def settle(page, reconstructions: int, shares: int) -> None:
    """Waits for `reconstructions` images and for the URL hash written after them (debounced): the hash
    has been rewritten since `shares` and stays put."""
    wait_until(page, f"Number(document.body.dataset.reconstructions || 0) >= {reconstructions}")
    wait_until(page, f"Number(document.body.dataset.shares || 0) > {shares}")
    last = None
    while (now := page.evaluate("location.hash")) != last:
        last = now
        page.wait_for_timeout(700)


def nudge(page, dims: dict[int, int]) -> None:
    """Moves slider k (1-based) by n arrow-key steps (negative: left)."""
    for k, n in dims.items():
        page.focus(f"#reconstruction-dim-{k}")
        for _ in range(abs(n)):
            page.keyboard.press("ArrowRight" if n > 0 else "ArrowLeft")


def test_slider_ranges_are_mean_plus_minus_3_sigma(page, server):
    wait_until(page, "location.hash.includes('sample=')")
    sample = page.evaluate("location.hash").split("sample=")[1].split("&")[0]
    body = post(server, "/api/analyze", {"sample": sample})
    digit = body["layers"]["reconstruction"]["digit"]
    base = float32s(body["layers"]["digit_caps"]["vectors"])[digit]
    stats = known_stats()["classes"][digit]["dims"]
    ranges = page.evaluate("[...document.querySelectorAll('#reconstruction-sliders input')].map((s) => [Number(s.min), Number(s.max)])")
    exact = 0
    for k, ((lo, hi), d) in enumerate(zip(ranges, stats)):
        want_lo = max(-2, min(d["mean"] - 3 * d["std"], base[k]))
        want_hi = min(2, max(d["mean"] + 3 * d["std"], base[k]))
        assert lo == pytest.approx(want_lo, abs=1e-6) and hi == pytest.approx(want_hi, abs=1e-6), f"dimension {k + 1}"
        exact += lo == pytest.approx(d["mean"] - 3 * d["std"], abs=1e-6) and hi == pytest.approx(d["mean"] + 3 * d["std"], abs=1e-6)
    assert exact >= 12, "most ranges should be exactly mean ± 3σ"
    # Dimension 16's statistics lie far above the capsule's value: its range reaches down to it.
    assert ranges[15][0] == pytest.approx(float(base[15]), abs=1e-6) and ranges[15][1] == pytest.approx(0.903, abs=1e-6)
    note = text(page, "#reconstruction-ranges-note")
    assert "mean ± 3σ" in note and f"{100 + digit} training {digit}s" in note
    check_clean(page)


def test_histograms_are_drawn_with_the_mean_marked(page):
    assert int(page.evaluate("document.querySelector('#reconstruction').dataset.histograms || 0")) > 0
    assert page.locator("#reconstruction-sliders canvas.slider-hist:visible").count() == 16
    digit = int(page.evaluate("document.querySelector('#reconstruction-digit').value"))
    for k in (0, 7):
        pixels = canvas_pixels(page, f"#reconstruction-sliders .slider:nth-child({k + 1}) canvas").reshape(20, 240, 4)
        assert (pixels[..., 3] > 0).sum() > 500, f"histogram {k + 1} is empty"
        # The dark mean line sits where the mean falls on the slider's scale.
        lo, hi = page.evaluate(f"(() => {{ const s = document.querySelector('#reconstruction-dim-{k + 1}'); return [Number(s.min), Number(s.max)]; }})()")
        mean = known_stats()["classes"][digit]["dims"][k]["mean"]
        dark = np.where((pixels[0, :, 3] == 255) & (pixels[0, :, :3].max(axis=1) < 60))[0]
        assert dark.size and abs(dark.mean() - (mean - lo) / (hi - lo) * 240) <= 2, f"mean line of dimension {k + 1}"
        # The bars (light blue) rise towards the middle bin, as the triangular histogram does.
        bar = (np.abs(pixels[..., :3].astype(int) - [156, 195, 230]).max(axis=2) < 8) & (pixels[..., 3] == 255)
        heights = bar.sum(axis=0)
        centre = int((mean - lo) / (hi - lo) * 240)
        assert heights[centre - 8] > heights[max(0, centre - 60)], f"bars of dimension {k + 1}"


def test_shared_link_restores_everything_in_a_fresh_page(page, browser, server):
    start = analyses(page)
    page.locator("#gallery button").nth(4).click()
    wait_for_analysis(page, start + 1)
    page.fill("#routing-iterations", "4")
    page.press("#routing-iterations", "Enter")
    wait_for_analysis(page, start + 2)
    done, shares = counter(page, "reconstructions"), counter(page, "shares")
    other = (int(page.evaluate("document.querySelector('#reconstruction-digit').value")) + 3) % 10
    page.select_option("#reconstruction-digit", str(other))
    settle(page, done + 1, shares)
    done, shares = counter(page, "reconstructions"), counter(page, "shares")
    nudge(page, {1: 40, 5: -25, 12: 60})
    settle(page, done + 1, shares)
    before = lab_state(page)
    image = canvas_pixels(page, "#reconstruction-image")
    assert before["digit"] == str(other) and before["iterations"] == "4" and "iterations=4" in before["hash"]
    assert "(+0.000)" not in before["outputs"][0] and "(−0.000)" not in before["outputs"][4]

    fresh = new_page(browser, server + before["hash"])
    wait_until(fresh, "Number(document.body.dataset.restores || 0) >= 1")
    fresh.wait_for_timeout(600)
    after = lab_state(fresh)
    assert after == before
    assert np.array_equal(canvas_pixels(fresh, "#reconstruction-image"), image), "a different reconstruction"
    assert text(fresh, "#reconstruction-message") == "Restored the shared state from the link."
    # Reset goes back to the capsule's own vector, not the shared one.
    fresh.click("#reconstruction-reset")
    assert all(o.endswith("(+0.000)") for o in lab_state(fresh)["outputs"])
    check_clean(fresh)
    fresh.context.close()
    check_clean(page)


def test_export_then_import_restores_a_drawing(page, browser, server, tmp_path):
    start = analyses(page)
    page.click("#clear")
    draw(page, SEVEN)
    wait_for_analysis(page, start + 1)
    assert page.evaluate("document.body.dataset.source") == "image"
    done, shares = counter(page, "reconstructions"), counter(page, "shares")
    nudge(page, {3: 30, 16: -10})
    settle(page, done + 1, shares)
    assert "pixels=" in page.evaluate("location.hash")
    before = lab_state(page)
    image = canvas_pixels(page, "#reconstruction-image")
    with page.expect_download() as info:
        page.click("#reconstruction-export")
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    exported = json.loads(saved.read_text())
    assert set(exported) == {"version", "pixels", "iterations", "uniform_routing", "digit", "vector"}
    assert exported["version"] == 1 and len(exported["vector"]) == 16
    assert np.allclose(exported["vector"], shared_vector(page), atol=0)

    fresh = new_page(browser, server)
    wait_for_analysis(fresh, 1)
    fresh.set_input_files("#reconstruction-import", str(saved))
    wait_until(fresh, "Number(document.body.dataset.restores || 0) >= 1")
    fresh.wait_for_timeout(600)
    after = lab_state(fresh)
    assert after["source"] == "pixels"
    # The drawing comes back as the 8-bit pixels the model saw: the same hash (input, iterations, digit and
    # vector), though the capsule's own value, which can widen a slider's range, may move in its last digits.
    assert {**after, "source": None, "values": None} == {**before, "source": None, "values": None}
    assert np.allclose([float(v) for v in after["values"]], [float(v) for v in before["values"]], atol=0.0015)
    assert np.array_equal(canvas_pixels(fresh, "#reconstruction-image"), image), "a different reconstruction"
    seen = np.abs(canvas_pixels(fresh, "#input-seen").astype(int) - canvas_pixels(page, "#input-seen").astype(int))
    assert seen.max() <= 1, "the restored input differs from the drawing's"

    # A tampered file: a clear message, and the section keeps what it shows.
    exported["vector"][2] = 7.5
    bad = tmp_path / "tampered.json"
    bad.write_text(json.dumps(exported))
    fresh.set_input_files("#reconstruction-import", str(bad))
    wait_until(fresh, "document.querySelector('#reconstruction-message').classList.contains('is-error')")
    assert "component 3 is 7.5, outside ±2" in text(fresh, "#reconstruction-message")
    assert lab_state(fresh) == after  # unchanged
    (tmp_path / "not.json").write_text("{nope")
    fresh.set_input_files("#reconstruction-import", str(tmp_path / "not.json"))
    wait_until(fresh, "document.querySelector('#reconstruction-message').textContent.includes('not a JSON file')")
    check_clean(fresh)
    fresh.context.close()
    check_clean(page)


def test_png_downloads(page, tmp_path):
    image = canvas_pixels(page, "#reconstruction-image").reshape(28, 28, 4)
    digit = page.evaluate("document.querySelector('#reconstruction-digit').value")
    with page.expect_download() as info:
        page.click("#reconstruction-download")
    assert info.value.suggested_filename == f"reconstruction-digit{digit}-280px.png"
    path = tmp_path / "reconstruction.png"
    info.value.save_as(path)
    png = Image.open(path)
    assert png.format == "PNG" and png.size == (280, 280)
    big = np.asarray(png.convert("RGBA"))
    assert np.array_equal(big[::10, ::10], image), "not the reconstruction, upscaled by nearest neighbour"
    assert np.array_equal(big[9::10, 9::10], image)

    grid_size = page.evaluate("(() => { const c = document.querySelector('#perturbations'); return [c.width, c.height]; })()")
    with page.expect_download() as info:
        page.click("#perturbations-download")
    name = info.value.suggested_filename
    assert name.startswith(f"perturbations-digit{digit}-") and "rows-dimension1-16" in name and "columns-shift" in name
    info.value.save_as(tmp_path / "grid.png")
    grid = Image.open(tmp_path / "grid.png")
    assert grid.format == "PNG" and list(grid.size) == grid_size == [44 + 11 * 58, 24 + 16 * 58]
    assert np.array_equal(np.asarray(grid.convert("RGBA")).reshape(-1), canvas_pixels(page, "#perturbations"))
    check_clean(page)


def test_screenshot_and_narrow_screen(page):
    shoot(page, "reconstruction")
    overflow = fits_narrow_screen(page)
    assert overflow <= 0, f"page is {overflow} px wider than a 390 px screen"
    shoot(page, "reconstruction", "reconstruction-390")
    page.set_viewport_size({"width": 1366, "height": 900})
    check_clean(page)


def test_without_statistics_sliders_span_quarter_around_the_capsule(browser, random_weights):
    with serve(random_weights, threads=2, env=ENV) as url:
        fresh = new_page(browser, url)
        wait_for_analysis(fresh, 1)
        wait_until(fresh, "location.hash.includes('sample=')")  # the hash is written debounced
        sample = fresh.evaluate("location.hash").split("sample=")[1].split("&")[0]
        body = post(url, "/api/analyze", {"sample": sample})
        digit = body["layers"]["reconstruction"]["digit"]
        base = float32s(body["layers"]["digit_caps"]["vectors"])[digit]
        ranges = fresh.evaluate("[...document.querySelectorAll('#reconstruction-sliders input')].map((s) => [Number(s.min), Number(s.max)])")
        for k, (lo, hi) in enumerate(ranges):
            assert lo == pytest.approx(base[k] - 0.25, abs=1e-6) and hi == pytest.approx(base[k] + 0.25, abs=1e-6)
        assert "No training-set statistics" in text(fresh, "#reconstruction-ranges-note")
        assert fresh.locator("#reconstruction-sliders canvas.slider-hist:visible").count() == 0
        assert not any("capsule_stats" in u for u in fresh.requests), "asked for statistics the weights lack"
        check_clean(fresh)
        fresh.context.close()


def test_a_digit_opened_from_the_report_still_opens(browser, server):
    """The report's "/#open" hand-over (static/js/report/openDigit.js) is not reconstruction state: the page analyzes
    the stored digit, then the address bar takes the reconstruction state of that digit, as pixels."""
    fresh = new_page(browser, server)
    wait_for_analysis(fresh, 1)
    fresh.evaluate("""() => sessionStorage.setItem('capsnet.openDigit', JSON.stringify(
        {pixels: Array.from({length: 28}, (_, r) => Array.from({length: 28}, (_, c) => (r > 6 && r < 22 && c > 12 && c < 16 ? 1 : 0))),
         label: 1, index: 2}))""")
    fresh.goto(server + "?reload#open", wait_until="domcontentloaded")  # the query makes it a new document
    wait_for_analysis(fresh, 1)
    assert fresh.evaluate("document.body.dataset.source") == "pixels"
    assert fresh.evaluate("sessionStorage.getItem('capsnet.openDigit')") is None
    wait_until(fresh, "location.hash.startsWith('#version=1&pixels=')")
    assert text(fresh, "#reconstruction-message") == ""
    check_clean(fresh)
    fresh.context.close()
