"""Shared by the browser tests (tests/test_page.py) and bench/ui_latency.py: start the real server on a
free port, launch Debian's headless Chromium (never a downloaded browser), draw on the page's canvas."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# A "7" and a "1"-like stroke, in fractions of the drawing area.
SEVEN = [[(0.25, 0.22), (0.45, 0.21), (0.72, 0.22), (0.62, 0.45), (0.52, 0.65), (0.45, 0.82)]]
FOUR = [[(0.3, 0.2), (0.25, 0.55), (0.7, 0.55)], [(0.6, 0.25), (0.6, 0.85)]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(weights: Path | str | None = None, allow_untrained: bool = False, threads: int = 2,
          timeout: float = 90.0, env: dict | None = None) -> Iterator[str]:
    """Runs run_visualization.py in a subprocess; yields its base URL; stops it afterwards."""
    port = free_port()
    cmd = [sys.executable, str(ROOT / "run_visualization.py"), "--port", str(port), "--threads", str(threads)]
    if weights:
        cmd += ["--weights", str(weights)]
    if allow_untrained:
        cmd.append("--allow-untrained")
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read()}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"server did not listen on port {port} within {timeout} s") from None
                    time.sleep(0.2)
            yield f"http://127.0.0.1:{port}/"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def watch(page):
    """Records on the page what every browser test checks at the end: console errors and warnings,
    uncaught page errors (page.problems) and every requested URL (page.requests)."""
    page.problems, page.requests = [], []
    page.on("console", lambda m: page.problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: page.problems.append(f"page error: {e}"))
    page.on("request", lambda r: page.requests.append(r.url))
    return page


def draw(page, strokes, selector: str = "#pad", steps: int = 6) -> None:
    """Draws strokes (lists of (x, y) fractions of the element's box) with mouse events."""
    target = page.locator(selector)
    target.scroll_into_view_if_needed()
    box = target.bounding_box()

    def at(p):
        return box["x"] + p[0] * box["width"], box["y"] + p[1] * box["height"]

    for stroke in strokes:
        page.mouse.move(*at(stroke[0]))
        page.mouse.down()
        for a, b in zip(stroke, stroke[1:]):
            for k in range(1, steps + 1):
                t = k / steps
                page.mouse.move(*at((a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)))
        page.mouse.up()


def pick(page, radio_id: str) -> None:
    """Choose a digit-picker option. The radio lies transparent over its label, so a user's click lands on
    it. Unforced, so Playwright checks that the click really hits the radio and scrolls again if not: a
    forced check skipped that test and, when the page's sticky header covered the row, clicked the header
    (CI: 'Clicking the checkbox did not change its state')."""
    page.check(f"#{radio_id}", timeout=60_000)  # raises unless the radio ends up checked


def analyses(page) -> int:
    """How many analyses the page has finished rendering (main.js sets <body data-analyses>)."""
    return int(page.evaluate("document.body.dataset.analyses || '0'"))


def wait_until(page, expression: str, timeout: float = 120.0, interval: float = 0.05):
    """Polls a JS expression until it is truthy. (page.wait_for_function would need eval, which the
    page's Content-Security-Policy rightly forbids; page.evaluate runs through the debugger protocol.)"""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{expression!r} still false after {timeout} s")
        time.sleep(interval)


def wait_for_analysis(page, count: int, timeout: float = 120.0) -> None:
    wait_until(page, f"Number(document.body.dataset.analyses || 0) >= {count}", timeout)


def fits_narrow_screen(page, width: int = 390, height: int = 844, settle: float = 15.0) -> int:
    """Resizes the page to a phone's width and returns how many px it is wider than the screen once
    plotly has redrawn its charts for the new size (a resize handler that, on a loaded machine, can take
    seconds): waits for no overflow up to `settle` seconds, then measures."""
    page.set_viewport_size({"width": width, "height": height})
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    try:
        wait_until(page, f"{overflow} <= 0", timeout=settle)
    except TimeoutError:  # measured below, so the assertion says by how much
        pass
    return int(page.evaluate(overflow))


def reveal(page, *selectors: str) -> None:
    """Scrolls each element into view and lets two frames pass: sections other than the input draw
    and ask for their data only once near the viewport (IntersectionObserver), as a user's scrolling
    would make them."""
    for sel in selectors:
        page.locator(sel).first.scroll_into_view_if_needed()
        page.evaluate("new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


def wait_for_chart(page, selector: str, timeout: float = 120.0) -> None:
    """Scrolls to the plotly chart in `selector` and waits until it is drawn (plotly.js loads lazily,
    with the first chart)."""
    reveal(page, selector)
    wait_until(page, f"document.querySelectorAll({selector!r} + ' .main-svg').length > 0", timeout)


def open_reconstruction(browser, url, route=None):
    """A fresh 1366 px page, after its first analysis, scrolled to the reconstruction section (which loads
    the decoder and asks for the grid only when near). route: (pattern, handler) to intercept, or None."""
    page = browser.new_context(viewport={"width": 1366, "height": 900}).new_page()
    page.set_default_timeout(300_000)
    watch(page)
    if route:
        page.route(*route)
    page.goto(url, wait_until="domcontentloaded")
    wait_for_analysis(page, 1)
    reveal(page, "#reconstruction")
    return page

