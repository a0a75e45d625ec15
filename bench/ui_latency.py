"""UI latency of the page in headless Chromium against a server this script starts.

Measures (DESIGN.md budgets):
- stroke end (pointerup on the drawing pad) -> every section rendered, over --strokes strokes; this
  includes the page's 80 ms debounce. Budget: median <= 300 ms.
- reconstruction images drawn per second while a slider is dragged continuously for --drag-seconds.
  Budget: >= 20 updates/s.

    python bench/ui_latency.py                      # the shipped weights/capsnet_mnist.pt
    python bench/ui_latency.py --allow-untrained    # a random model, while no trained weights exist

Prints a small table; exits 1 when a budget is missed.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # the repo's model package and the browser helpers

from browser_helpers import SEVEN, analyses, draw, launch, serve, wait_for_analysis  # noqa: E402

from model.weights import DEFAULT_WEIGHTS  # noqa: E402

RENDER_BUDGET_MS = 300.0
UPDATES_BUDGET = 20.0

# Records when each stroke ends, before the page's own handlers run.
STROKE_CLOCK = """
document.querySelector('#pad').addEventListener('pointerup', () => { window.benchStrokeEnd = performance.now(); }, true);
"""


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default=str(DEFAULT_WEIGHTS), help="weights file (default: %(default)s)")
    ap.add_argument("--allow-untrained", action="store_true", help="serve a random model instead of --weights")
    ap.add_argument("--strokes", type=int, default=10, help="strokes to time (default: %(default)s)")
    ap.add_argument("--drag-seconds", type=float, default=4.0, help="how long to drag a slider (default: %(default)s)")
    ap.add_argument("--threads", type=int, default=2, help="server worker threads (default: %(default)s)")
    return ap.parse_args(argv)


def stroke_latencies(page, strokes: int) -> list[float]:
    page.evaluate(STROKE_CLOCK)
    out = []
    for k in range(strokes):
        page.click("#clear")
        before = analyses(page)
        # Slightly different each time so no cache anywhere can answer.
        shifted = [[(x + 0.01 * (k % 5), y) for x, y in stroke] for stroke in SEVEN]
        draw(page, shifted)
        wait_for_analysis(page, before + 1)
        out.append(page.evaluate("Number(document.body.dataset.renderedAt) - window.benchStrokeEnd"))
    return out


def slider_rate(page, seconds: float) -> tuple[float, int]:
    slider = page.locator("#reconstruction-dim-1")
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    x0, width = box["x"] + 4, box["width"] - 8
    start_count = int(page.evaluate("document.body.dataset.reconstructions || '0'"))
    page.mouse.move(x0 + width / 2, y)
    page.mouse.down()
    start = time.perf_counter()
    k = 0
    while time.perf_counter() - start < seconds:
        phase = (k % 40) / 40  # sweep back and forth across the track
        page.mouse.move(x0 + width * (phase if (k // 40) % 2 == 0 else 1 - phase), y)
        k += 1
    elapsed = time.perf_counter() - start
    page.mouse.up()
    count = int(page.evaluate("document.body.dataset.reconstructions || '0'")) - start_count
    return count / elapsed, k


def main(argv=None) -> int:
    args = parse_args(argv)
    from playwright.sync_api import sync_playwright

    weights = None if args.allow_untrained else args.weights
    if weights and not Path(weights).is_file():
        print(f"error: weights file {weights} not found (use --allow-untrained for a random model)", file=sys.stderr)
        return 2
    with serve(weights, allow_untrained=args.allow_untrained, threads=args.threads) as url, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1366, "height": 768})
        page.set_default_timeout(120_000)
        page.goto(url)
        wait_for_analysis(page, 1)
        latencies = stroke_latencies(page, args.strokes)
        rate, moves = slider_rate(page, args.drag_seconds)
        browser.close()

    median = statistics.median(latencies)
    p90 = sorted(latencies)[max(0, int(round(0.9 * len(latencies))) - 1)]
    render_ok = median <= RENDER_BUDGET_MS
    rate_ok = rate >= UPDATES_BUDGET
    print(f"{'metric':40} {'median':>9} {'p90':>9} {'budget':>9}  ok")
    print(f"{'stroke end -> all sections rendered (ms)':40} {median:9.0f} {p90:9.0f} {'<= 300':>9}  {'yes' if render_ok else 'NO'}")
    print(f"{'reconstruction updates per second':40} {rate:9.1f} {'':>9} {'>= 20':>9}  {'yes' if rate_ok else 'NO'}")
    print(f"({len(latencies)} strokes: {', '.join(f'{v:.0f}' for v in latencies)} ms; "
          f"{moves} slider moves in {args.drag_seconds:g} s)")
    return 0 if render_ok and rate_ok else 1


if __name__ == "__main__":
    sys.exit(main())
