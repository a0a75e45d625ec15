"""The page in a real browser: Debian's headless Chromium against a real server (run_visualization.py on a
random checkpoint). Every test also checks that the page made requests only to this server and logged
no console error or warning. Screenshots of each section land in artifacts/screenshots/ for a human."""
from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest
from PIL import Image

from browser_helpers import (FOUR, SEVEN, analyses, draw, fits_narrow_screen, pick, reveal, wait_for_analysis, wait_for_chart,
                             wait_until, watch)


pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "artifacts" / "screenshots"
SECTIONS = ["model", "input", "conv1", "primary_caps", "routing", "digit_caps", "reconstruction"]


def open_page(browser, server, width=1366, height=768):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    # Generous: on a 2-core machine shared with training, Chromium may get a small share of the CPU.
    page.set_default_timeout(120_000)
    watch(page)
    page.goto(server)
    wait_for_analysis(page, 1)  # the page starts with the first MNIST sample
    return page


@pytest.fixture(scope="module")
def shared_page(browser, server):
    """One page for the whole module (loading plotly.js is the slow part); tests run in file order and
    each one waits for *one more* analysis than the page had when it started."""
    page = open_page(browser, server)
    yield page
    page.context.close()


@pytest.fixture
def page(shared_page):
    shared_page.set_viewport_size({"width": 1366, "height": 768})
    shared_page.start = analyses(shared_page)
    yield shared_page
    check_clean(shared_page)


def check_clean(page):
    problems, page.problems = page.problems, []
    assert problems == [], "console errors or warnings"
    foreign = [u for u in page.requests if urlparse(u).scheme not in ("data", "blob")
               and urlparse(u).hostname not in ("127.0.0.1", "localhost")]
    assert foreign == [], "requests that left this machine"


def next_analysis(page):
    wait_for_analysis(page, page.start + 1)
    page.start += 1


def canvas_pixels(page, selector) -> np.ndarray:
    """The canvas's RGBA pixels, flat, once it has been in view (sections draw when near the viewport).
    Read through a PNG (toDataURL) rather than getImageData, which makes Chromium warn about repeated
    readbacks of the page's own canvases."""
    reveal(page, selector)
    url = page.evaluate("(sel) => document.querySelector(sel).toDataURL('image/png')", selector)
    image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGBA")
    return np.asarray(image).reshape(-1)


def text(page, selector) -> str:
    """The element's text as a user reading it sees it: scrolled into view first (off-screen sections
    neither draw nor lay out their text, content-visibility: auto)."""
    reveal(page, selector)
    return page.locator(selector).inner_text().strip()


def shoot(page, name, file=None):
    """Screenshot of one section, taken from a full-page capture at scroll 0 so that the sticky header
    sits at the top of the page instead of over the section."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    box = page.evaluate("""(id) => { const r = document.getElementById(id).getBoundingClientRect();
                                     return {x: r.left, y: r.top, width: r.width, height: r.height}; }""", name)
    page.screenshot(path=str(SHOTS / f"{file or name}.png"), full_page=True, clip=box)


def test_every_section_renders(page):
    reveal(page, *(f"#{name}" for name in SECTIONS))
    assert text(page, "#prediction").isdigit()
    assert page.locator("#untrained-banner").is_hidden()  # weights with a manifest, not --allow-untrained
    assert "Test accuracy" in page.locator("#model-facts").text_content()  # behind "How it was trained"
    wait_until(page, "Number(document.body.dataset.perturbations || 0) > 0")  # asked for when its section came near
    for sel in ["#conv1-kernels", "#conv1-maps", "#primary-lengths", "#routing-c", "#routing-agreement", "#perturbations"]:
        assert canvas_pixels(page, sel).reshape(-1, 4)[:, 3].max() == 255, f"{sel} is empty"
    for sel in ["#conv1-kernel-plot", "#conv1-map-plot", "#routing-mass", "#digit-lengths", "#digit-vectors"]:
        wait_for_chart(page, sel)
    assert text(page, "#routing-step-label") == "3 of 3"
    assert page.locator("#reconstruction-sliders input[type=range]").count() == 16
    gallery = json.loads((ROOT / "weights" / "mnist" / "gallery.json").read_text())["samples"]
    assert page.locator("#gallery button").count() == len(gallery)
    # Clicking a feature map enlarges it; hovering a primary capsule shows its vector and field.
    maps = page.locator("#conv1-maps")
    box = maps.bounding_box()
    maps.click(position={"x": box["width"] * 0.2, "y": box["height"] * 0.05})
    assert text(page, "#conv1-kernel-caption").startswith("Kernel 3 ")
    page.locator("#primary-lengths").hover(position={"x": 5, "y": 5})
    assert text(page, "#primary-readout").startswith("Capsule type 0, grid row 0, column 0")
    assert page.locator("#primary-numbers li").count() == 8
    # The canvas grids work from the keyboard too.
    page.focus("#primary-lengths")
    page.keyboard.press("ArrowRight")
    assert text(page, "#primary-readout").startswith("Capsule type 0, grid row 0, column 1")
    page.mouse.move(1, 1)  # off the grids: keys alone drive the next part
    page.focus("#conv1-kernels")
    for key in ["ArrowRight", "ArrowRight", "ArrowDown", "Enter"]:  # from kernel 3 to 5, then one row down
        page.keyboard.press(key)
    assert text(page, "#conv1-kernel-caption").startswith("Kernel 21 ")
    for name in SECTIONS:
        shoot(page, name)


def test_drawing_is_analyzed_when_the_stroke_ends(page):
    page.click("#clear")
    draw(page, SEVEN)
    next_analysis(page)
    assert page.evaluate("document.body.dataset.source") == "image"
    assert text(page, "#prediction").isdigit()
    seen = canvas_pixels(page, "#input-seen").reshape(28, 28, 4)[..., 0]
    assert seen.max() > 200 and seen[:4].max() < 30  # white digit on black, centred with a margin
    draw(page, FOUR)  # the page keeps working: a second drawing is analyzed too
    next_analysis(page)
    page.click("#undo")
    next_analysis(page)
    shoot(page, "input", "input-drawing")


def test_blank_drawing_shows_the_server_message(page):
    page.click("#clear")
    page.click("#analyze-drawing")
    error = page.locator("#error")
    error.wait_for(state="visible")
    assert "no digit" in error.inner_text()
    assert page.locator("#busy").is_hidden()
    shoot(page, "input", "input-error")
    # The server's 422 shows as a failed request in the console: that one is expected, nothing else.
    page.problems = [p for p in page.problems if "422" not in p]


def test_upload(page, tmp_path):
    sample = json.loads((ROOT / "weights" / "mnist" / "gallery.json").read_text())["samples"][7]
    pixels = np.frombuffer(base64.b64decode(sample["pixels"]), dtype=np.uint8).reshape(28, 28)
    # As a user would upload it: bigger, off-centre, dark ink on light paper.
    image = Image.new("L", (300, 220), 235)
    image.paste(Image.fromarray(255 - pixels).resize((140, 140)), (30, 50))
    path = tmp_path / "digit.png"
    image.save(path)
    page.set_input_files("#upload", str(path))
    next_analysis(page)
    assert page.evaluate("document.body.dataset.source") == "upload"
    facts = text(page, "#preprocessing")
    assert "300 × 220" in facts and "inverted" in facts
    assert "digit.png" in text(page, "#given-caption")
    shoot(page, "input", "input-upload")


def test_drop_and_paste(page, tmp_path):
    sample = json.loads((ROOT / "weights" / "mnist" / "gallery.json").read_text())["samples"][55]
    pixels = np.frombuffer(base64.b64decode(sample["pixels"]), dtype=np.uint8).reshape(28, 28)
    buffer = io.BytesIO()
    Image.fromarray(pixels).resize((112, 112)).save(buffer, "PNG")
    png = base64.b64encode(buffer.getvalue()).decode()
    send = """([png, name, how]) => {
        const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
        const data = new DataTransfer();
        data.items.add(new File([bytes], name, { type: 'image/png' }));
        const event = how === 'drop'
          ? new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true })
          : new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true });
        (how === 'drop' ? document.querySelector('#pad') : document).dispatchEvent(event);
    }"""
    page.evaluate(send, [png, "dropped.png", "drop"])
    next_analysis(page)
    assert page.evaluate("document.body.dataset.source") == "upload"
    assert "dropped.png" in text(page, "#given-caption")
    page.evaluate(send, [png, "pasted.png", "paste"])
    next_analysis(page)
    assert "pasted.png" in text(page, "#given-caption")


def test_gallery_sample(page):
    button = page.locator("#gallery button").nth(42)
    label = button.get_attribute("aria-label")
    button.click()
    next_analysis(page)
    assert page.evaluate("document.body.dataset.source") == "sample"
    assert label.split(",")[0].removeprefix("MNIST test ") in text(page, "#given-caption")


def test_slider_redraws_the_reconstruction(page):
    before = canvas_pixels(page, "#reconstruction-image")
    slider = page.locator("#reconstruction-dim-1")
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    for k in range(1, 11):
        page.mouse.move(box["x"] + box["width"] * (0.5 + k / 20), y)
        page.wait_for_timeout(20)
    page.mouse.up()
    wait_until(page, "Number(document.body.dataset.reconstructions || 0) >= 1")
    assert "(+0.2" in text(page, "#reconstruction-sliders .slider:first-child output")
    page.wait_for_timeout(300)  # the last value is sent when the one in flight returns
    after = canvas_pixels(page, "#reconstruction-image")
    assert np.abs(after.astype(int) - before.astype(int)).max() > 0, "the reconstruction did not change"
    page.click("#reconstruction-reset")
    assert "(+0.000)" in text(page, "#reconstruction-sliders .slider:first-child output")
    shoot(page, "reconstruction")


def test_routing_iterations_reanalyze(page):
    page.fill("#routing-iterations", "5")
    page.press("#routing-iterations", "Enter")
    next_analysis(page)
    # a later analysis still in flight would reset the stepper and the digit to the new result's
    wait_until(page, "!document.body.classList.contains('is-busy')")
    assert text(page, "#routing-step-label") == "5 of 5"
    page.fill("#routing-step", "2")
    assert text(page, "#routing-step-label") == "2 of 5"
    pick(page, "routing-digit-7")
    assert "digit 7" in text(page, "#routing-c-caption")
    shoot(page, "routing")


def test_narrow_screen(page):
    overflow = fits_narrow_screen(page)
    assert overflow <= 0, f"page is {overflow} px wider than a 390 px screen"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "narrow-390.png"), full_page=True)


def test_untrained_model_banner(page):
    """The banner shows when /api/model says the model is untrained (last: it reloads the page)."""
    def untrained(route):
        body = route.fetch().json()
        route.fulfill(json={**body, "untrained": True, "manifest": None})

    page.route("**/api/model", untrained)
    page.reload()
    wait_for_analysis(page, 1)
    banner = page.locator("#untrained-banner")
    assert banner.is_visible() and "untrained model" in banner.inner_text().lower()
    assert "randomly initialised" in text(page, "#model-summary")
    page.screenshot(path=str(SHOTS / "top-untrained.png"))
