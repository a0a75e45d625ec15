"""The model report page (/report) in a real browser: Debian's headless Chromium against a real server
(run_visualization.py on a random checkpoint with a report made by `python -m model.evaluate --report`
over 300 test digits and a fake training history). Every test checks that the page made requests only
to this server and logged no console error or warning. Screenshots land in artifacts/screenshots/."""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from browser_helpers import serve, wait_until, watch


pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "artifacts" / "screenshots"
ENV = {"OMP_NUM_THREADS": "1"}
HISTORY = [{"epoch": e, "lr": 1e-3 * 0.96 ** (e - 1), "train_loss": 0.2 / e ** 1.5, "train_accuracy": 0.9 + 0.02 * e,
            "test_accuracy": 0.92 + 0.015 * e, "train_seconds": 600.0,
            **({"test_accuracy_ema": 0.93 + 0.015 * e} if e > 2 else {})} for e in range(1, 5)]  # --ema-decay from epoch 3


def weights_copy(random_weights: Path, folder: Path) -> Path:
    folder.mkdir()
    for f in random_weights.parent.iterdir():
        if f.name != "report.json":
            shutil.copy(f, folder / f.name)
    return folder / random_weights.name


@pytest.fixture(scope="module")
def report_weights(random_weights, tmp_path_factory) -> Path:
    """The random checkpoint with a history.json and a report.json beside it (history first: the report
    copies it)."""
    weights = weights_copy(random_weights, tmp_path_factory.mktemp("report") / "weights")
    (weights.parent / "history.json").write_text(json.dumps(HISTORY))
    subprocess.run([sys.executable, "-m", "model.evaluate", "--weights", str(weights), "--limit", "300",
                    "--report", str(weights.with_name("report.json")), "--json", "--device", "cpu"],
                   cwd=ROOT, check=True, capture_output=True, env={**os.environ, **ENV}, timeout=600)
    return weights


@pytest.fixture(scope="module")
def report(report_weights) -> dict:
    return json.loads(report_weights.with_name("report.json").read_text())


@pytest.fixture(scope="module")
def server(report_weights):
    with serve(report_weights, threads=2, env=ENV) as url:
        yield url


@pytest.fixture(scope="module")
def server_without_report(random_weights, tmp_path_factory):
    weights = weights_copy(random_weights, tmp_path_factory.mktemp("noreport") / "weights")
    with serve(weights, threads=2, env=ENV) as url:
        yield url


def open_report(browser, server, width=1366, height=768):
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(120_000)
    watch(page)
    page.goto(server + "report")
    wait_until(page, "document.body.dataset.ready === 'true'")
    return page


@pytest.fixture
def page(browser, server):
    page = open_report(browser, server)
    yield page
    check_clean(page)
    page.context.close()


def check_clean(page, allowed=()):
    problems = [p for p in page.problems if not any(a in p for a in allowed)]
    assert problems == [], "console errors or warnings"
    foreign = [u for u in page.requests if urlparse(u).scheme not in ("data", "blob")
               and urlparse(u).hostname not in ("127.0.0.1", "localhost")]
    assert foreign == [], "requests that left this machine"


def shoot(page, name, selector=None):
    SHOTS.mkdir(parents=True, exist_ok=True)
    if selector:
        page.locator(selector).screenshot(path=str(SHOTS / f"{name}.png"))
    else:
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def text(page, selector) -> str:
    return page.locator(selector).inner_text().strip()


def worst_mistake(report) -> tuple[int, int, int]:
    """(count, true, predicted) of the off-diagonal confusion cell with the most test digits."""
    return max((c, i, j) for i, row in enumerate(report["confusion"]) for j, c in enumerate(row) if i != j)


def cell_center(page, label, predicted) -> tuple[float, float]:
    """Viewport coordinates of a confusion-matrix cell's centre, with the row and column read off the axes'
    labels (not the cell's own data attributes), so that a cell drawn in the wrong place fails."""
    page.locator("#confusion-plot").scroll_into_view_if_needed()
    x, y = page.evaluate(
        """([r, c]) => { const box = (sel, k) => [...document.querySelectorAll(`#confusion-plot ${sel} text`)]
                             .find((t) => t.textContent === String(k)).getBoundingClientRect();
                         const col = box('.axis-x', c), row = box('.axis-y', r);
                         return [col.left + col.width / 2, row.top + row.height / 2]; }""",
        [label, predicted])
    return x, y


def test_report_renders(page, report):
    for sel in ["#history-loss", "#history-accuracy", "#per-class-plot", "#confusion-plot"]:
        assert page.locator(f"{sel} svg").count() == 1, f"{sel} has no chart"
        assert page.locator(f"{sel} svg").get_attribute("aria-label"), f"{sel} has no accessible name"
    history = report["history"]
    assert page.locator("#history-loss .series").count() == 1
    assert page.locator("#history-loss .series circle").count() == len(history)
    assert page.locator("#history-accuracy .series").count() == 3  # training, test, test of the average
    assert "test, averaged weights" in page.locator("#history-accuracy .legend").text_content()
    last = history[-1]
    assert f"epoch {last['epoch']}: {last['test_accuracy'] * 100:.2f} %" in page.locator(
        "#history-accuracy .series[data-name='test'] circle title").last.text_content()
    # Loss falls: the last point sits lower on the chart than the first (log axis, SVG y grows downwards).
    ys = [float(c.get_attribute("cy")) for c in page.locator("#history-loss .series circle").all()]
    assert (ys[-1] > ys[0]) == (history[-1]["train_loss"] < history[0]["train_loss"])
    bars = page.locator("#per-class-plot .bar")
    assert bars.count() == 10
    for d in range(10):
        shown = float(bars.nth(d).locator(".bar-value").text_content())
        assert abs(shown - report["per_class_accuracy"][d] * 100) <= 0.051, d
    # No chart library on this page: its three charts are SVG drawn by static/js/report/svgChart.js.
    assert page.evaluate("typeof window.Plotly") == "undefined"
    assert page.locator("#report-missing").is_hidden()
    assert "Report accuracy" in text(page, "#manifest-facts")
    assert f"{report['accuracy'] * 100:.2f} %" in text(page, "#manifest-facts")
    wrong = report["misclassified"]
    assert page.locator("#misclassified-digits .digit").count() == min(len(wrong), 120)
    assert page.locator("#lowest_margin-digits .digit").count() == len(report["lowest_margin"]) > 0
    # Each gallery digit says its verdict and the two longest capsules.
    first = wrong[0]
    assert text(page, "#misclassified-digits .digit >> nth=0").splitlines()[0] == f"{first['label']} → {first['predicted']}"
    lengths = page.locator("#misclassified-digits .digit").first.locator(".digit-lengths")
    for k, (d, v) in enumerate(first["top2"]):
        name, value = lengths.nth(k).inner_text().split()
        assert name == f"|v{'₀₁₂₃₄₅₆₇₈₉'[d]}|" and abs(float(value) - v) < 6e-4
    if len(wrong) > 120:
        page.click("#misclassified-more")
        assert page.locator("#misclassified-digits .digit").count() == len(wrong)
    # One keyboard-usable button per off-diagonal cell with mistakes, and one per class for the diagonal.
    cells = sum(1 for i, row in enumerate(report["confusion"]) for j, c in enumerate(row) if i != j and c > 0)
    assert page.locator("#confusion-cells .cell").count() == cells
    assert page.locator("#confusion-correct .cell").count() == 10
    assert page.evaluate("document.querySelector('#confusion-legend').width") > 0
    shoot(page, "report-1366")
    shoot(page, "report-confusion", "#confusion")


def test_clicking_an_off_diagonal_cell_lists_its_digits(page, report):
    count, label, predicted = worst_mistake(report)
    assert count > 0
    page.mouse.click(*cell_center(page, label, predicted))
    wait_until(page, f"document.querySelector('#confusion-detail-title').textContent.startsWith('True {label}, answered {predicted}')")
    digits = page.locator("#confusion-digits .digit")
    assert digits.count() == count
    for k in range(count):
        assert digits.nth(k).locator(".digit-verdict").inner_text() == f"{label} → {predicted}"
    assert page.locator(f"#confusion-cells .cell[data-label='{label}'][data-predicted='{predicted}']").get_attribute("aria-pressed") == "true"
    assert page.locator("#confusion-plot .selected-cell").count() == 1  # the chosen cell is outlined
    shoot(page, "report-confusion-cell", "#confusion")
    # The same through the keyboard: focus a cell button, press Enter.
    other = page.locator("#confusion-cells .cell").nth(min(1, page.locator("#confusion-cells .cell").count() - 1))
    o_label, o_pred = int(other.get_attribute("data-label")), int(other.get_attribute("data-predicted"))
    other.focus()
    page.keyboard.press("Enter")
    wait_until(page, f"document.querySelector('#confusion-detail-title').textContent.startsWith('True {o_label}, answered {o_pred}')")
    assert page.locator("#confusion-digits .digit").count() == report["confusion"][o_label][o_pred]


def test_clicking_a_diagonal_cell_says_how_many_and_shows_close_calls(page, report):
    label = report["lowest_margin"][0]["label"]
    page.mouse.click(*cell_center(page, label, label))
    correct = report["confusion"][label][label]
    wait_until(page, f"document.querySelector('#confusion-detail-title').textContent.startsWith('Digit {label}: {correct} of')")
    close = [d for d in report["lowest_margin"] if d["label"] == label]
    assert page.locator("#confusion-digits .digit").count() == len(close) > 0
    assert page.locator("#confusion-digits .digit-verdict").first.inner_text() == f"{label} ✓"


def test_clicking_a_digit_opens_it_in_the_main_view(page, report, server):
    # Stand in for the main page, so that this test does not depend on (or get its key consumed by) it.
    page.route(lambda url: urlparse(url).path == "/", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<!doctype html><title>main view</title>"))
    digit = report["misclassified"][0]
    page.locator("#misclassified-digits .digit").first.click()
    page.wait_for_url(server + "#open")
    stored = json.loads(page.evaluate("sessionStorage.getItem('capsnet.openDigit')"))
    assert stored["label"] == digit["label"] and stored["index"] == digit["index"]
    raw = base64.b64decode(digit["pixels"])
    assert len(stored["pixels"]) == 28 and all(len(row) == 28 for row in stored["pixels"])
    flat = [v for row in stored["pixels"] for v in row]
    assert all(0 <= v <= 1 for v in flat)
    assert max(abs(v - b / 255) for v, b in zip(flat, raw)) < 1e-6


def test_readable_on_a_phone(browser, server):
    page = open_report(browser, server, width=390, height=844)
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways"
        for sel in ["#history-loss", "#per-class-plot", "#confusion-plot"]:
            box = page.locator(sel).bounding_box()
            assert box["width"] <= 390 and box["height"] > 150, sel
        shoot(page, "report-390")
        shoot(page, "report-390-confusion", "#confusion")
        check_clean(page)
    finally:
        page.context.close()


def test_without_a_report_says_how_to_make_one(browser, server_without_report):
    page = open_report(browser, server_without_report)
    try:
        assert page.locator("#report-missing").is_visible()
        assert page.locator("#report-body").is_hidden()
        assert page.locator(".report-link").first.is_hidden()  # no links to sections that are not there
        assert "python -m model.evaluate --report weights/mnist/report.json" in text(page, "#report-missing")
        assert "no model report" in text(page, "#missing-reason")
        assert text(page, "#manifest-facts")  # the model facts still show
        shoot(page, "report-missing")
        # Chromium logs the 404 of /api/report itself; that one is expected.
        check_clean(page, allowed=("404",))
    finally:
        page.context.close()
