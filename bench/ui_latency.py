"""UI latency and weight of the page in headless Chromium against a server this script starts.

Prints each measure with its budget (DESIGN.md, issue 11):
- first analysis visible after navigation: warm server, cold browser cache (a new context each time),
  median of --loads loads; the page's own <body data-rendered-at> (performance.now() since navigation).
  Budget: <= 1000 ms.
- stroke end (pointerup on the drawing pad) -> the visible sections rendered, over --strokes strokes;
  includes the page's 80 ms debounce. Budget: median <= 300 ms.
- a reconstruction slider driven by `input` events dispatched inside the page at 60 Hz for
  --drag-seconds: reconstructions drawn per second, counted as frames in which the reconstruction canvas
  got new pixels (budget >= 55), and input-to-pixels latency at p95, from an event's dispatch to the end
  of the first such frame after it (budget <= 33 ms); DRAG below says how. Also printed: which decoder
  drew (<body data-reconstruction-decoder>: page or server) and the page's own hook
  (<body data-reconstructed-from>, written by static/js/store.js a frame after the drawing).
- the perturbation grid's updates per second during the same drag. Budget: >= 10.
- bytes moved on the first load of / (encoded, as on the wire, until the first analysis has rendered and
  the network has been idle for a second). Budget: <= 1.5 MB.

    python bench/ui_latency.py                      # the shipped weights/mnist/capsnet_mnist.pt
    python bench/ui_latency.py --allow-untrained    # a random model, while no trained weights exist
    python bench/ui_latency.py --loads 0 --strokes 0  # the slider only

Then, unless --no-lighthouse, Lighthouse's scores, total blocking time and layout shift of / and /report
(desktop), from bench/lighthouse.py (needs `npm install --prefix bench`). Exits 1 when a budget is
missed. Quote `uptime` with it.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # the repo's model package and the browser helpers

from browser_helpers import SEVEN, analyses, draw, launch, reveal, serve, wait_for_analysis, wait_until  # noqa: E402

from model.weights import DEFAULT_WEIGHTS  # noqa: E402

VIEWPORT = {"width": 1366, "height": 768}

# Records when each stroke ends, before the page's own handlers run.
STROKE_CLOCK = """
document.querySelector('#pad').addEventListener('pointerup', () => { window.benchStrokeEnd = performance.now(); }, true);
"""

# Sweeps slider 1 back and forth with `input` events at 60 Hz, from inside the page, and measures what
# reaches the screen:
# - frames in which the reconstruction canvas got new pixels: every putImageData on it is seen and its
#   bytes hashed (a redraw of the same picture does not count), and the frame is closed by a message
#   posted from its requestAnimationFrame, which runs once that frame's rendering (paint) is done;
# - input-to-pixels per event: from its dispatch to the end of the first frame with new pixels that
#   started after it. (Exact when each frame draws the newest vector, as the in-page decoder does; with
#   the server fallback a frame may show an older answer, so the page's own hook is printed beside it:
#   <body data-reconstructed-from>, written one frame after the drawing, so about a frame late.)
# - grids drawn (the page's <body data-perturbations> counter).
DRAG = """async (seconds) => {
  const slider = document.querySelector('#reconstruction-dim-1');
  const canvas = document.querySelector('#reconstruction-image');
  const body = document.body;
  const proto = CanvasRenderingContext2D.prototype;
  const put = proto.putImageData;
  let dirty = false, last = null;
  proto.putImageData = function (img, ...rest) {
    if (this.canvas === canvas) {
      const words = new Uint32Array(img.data.buffer, img.data.byteOffset, img.data.byteLength >> 2);
      let h = 2166136261;
      for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i], 16777619);
      if (h !== last) { last = h; dirty = true; }
    }
    return put.call(this, img, ...rest);
  };
  const frames = []; // {start, painted} of the frames with new pixels
  let frameStart = 0, running = true;
  const channel = new MessageChannel();
  channel.port1.onmessage = () => {
    if (dirty) { dirty = false; frames.push({ start: frameStart, painted: performance.now() }); }
  };
  const tick = () => {
    if (!running) return;
    frameStart = performance.now();
    channel.port2.postMessage(0);
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  const hooked = [];
  let grids = 0;
  const seen = { r: Number(body.dataset.reconstructions || 0), g: Number(body.dataset.perturbations || 0) };
  const observer = new MutationObserver(() => {
    const r = Number(body.dataset.reconstructions || 0);
    if (r !== seen.r) { seen.r = r; hooked.push(performance.now() - Number(body.dataset.reconstructedFrom)); }
    const g = Number(body.dataset.perturbations || 0);
    if (g !== seen.g) { seen.g = g; grids += 1; }
  });
  observer.observe(body, { attributes: true, attributeFilter: ['data-reconstructions', 'data-perturbations'] });
  const lo = Number(slider.min), hi = Number(slider.max);
  const events = [];
  let k = 0;
  const start = performance.now();
  await new Promise((done) => {
    const timer = setInterval(() => {
      if (performance.now() - start >= seconds * 1000) { clearInterval(timer); done(); return; }
      const phase = (k % 60) / 60;
      const t = Math.floor(k / 60) % 2 === 0 ? phase : 1 - phase;
      slider.value = String(lo + (hi - lo) * (0.1 + 0.8 * t));
      events.push(performance.now());
      slider.dispatchEvent(new Event('input', { bubbles: true }));
      k += 1;
    }, 1000 / 60);
  });
  const end = performance.now();
  await new Promise((done) => setTimeout(done, 300)); // the last frames and answers
  running = false;
  observer.disconnect();
  proto.putImageData = put;
  const latencies = [];
  let f = 0;
  for (const t of events) {
    while (f < frames.length && frames[f].start <= t) f += 1;
    if (f < frames.length) latencies.push(frames[f].painted - t);
  }
  const drawn = frames.filter((x) => x.painted >= start && x.painted <= end).length;
  return { drawn, latencies, hooked, grids, events: events.length, elapsed: (end - start) / 1000,
           decoder: body.dataset.reconstructionDecoder || 'not loaded' };
}"""


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default=str(DEFAULT_WEIGHTS), help="weights file (default: %(default)s)")
    ap.add_argument("--allow-untrained", action="store_true", help="serve a random model instead of --weights")
    ap.add_argument("--loads", type=int, default=5, help="cold loads to time, 0 to skip (default: %(default)s)")
    ap.add_argument("--strokes", type=int, default=10, help="strokes to time, 0 to skip (default: %(default)s)")
    ap.add_argument("--drag-seconds", type=float, default=4.0, help="how long to drive a slider (default: %(default)s)")
    ap.add_argument("--threads", type=int, default=2, help="server worker threads (default: %(default)s)")
    ap.add_argument("--no-lighthouse", action="store_true",
                    help="skip the Lighthouse scores at the end (bench/lighthouse.py, desktop, both pages)")
    return ap.parse_args(argv)


def cold_load(browser, url) -> tuple[float, int]:
    """(ms from navigation to the first analysis rendered, bytes on the wire) for a fresh context."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(120_000)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    sizes = {}
    cdp.on("Network.loadingFinished", lambda e: sizes.__setitem__(e["requestId"], e["encodedDataLength"]))
    page.goto(url)
    wait_for_analysis(page, 1)
    first = float(page.evaluate("document.body.dataset.renderedAt"))
    settled, last = 0, -1
    while settled < 10:  # a second without a new response
        page.wait_for_timeout(100)
        settled = settled + 1 if len(sizes) == last else 0
        last = len(sizes)
    context.close()
    return first, sum(sizes.values())


def stroke_latencies(page, strokes: int) -> list[float]:
    page.evaluate(STROKE_CLOCK)
    out = []
    for k in range(strokes):
        page.click("#clear")
        before = analyses(page)
        shifted = [[(x + 0.01 * (k % 5), y) for x, y in stroke] for stroke in SEVEN]  # no cache can answer
        draw(page, shifted)
        wait_for_analysis(page, before + 1)
        out.append(page.evaluate("Number(document.body.dataset.renderedAt) - window.benchStrokeEnd"))
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else float("nan")


def main(argv=None) -> int:
    args = parse_args(argv)
    from playwright.sync_api import sync_playwright

    weights = None if args.allow_untrained else args.weights
    if weights and not Path(weights).is_file():
        print(f"error: weights file {weights} not found (use --allow-untrained for a random model)", file=sys.stderr)
        return 2
    with serve(weights, allow_untrained=args.allow_untrained, threads=args.threads) as url, sync_playwright() as p:
        browser = launch(p)
        if args.loads:
            cold_load(browser, url)  # warms the server (and the OS file cache), not the browser's
        loads = [cold_load(browser, url) for _ in range(args.loads)]
        page = browser.new_page(viewport=VIEWPORT)
        page.set_default_timeout(120_000)
        page.goto(url)
        wait_for_analysis(page, 1)
        strokes = stroke_latencies(page, args.strokes)
        reveal(page, "#reconstruction-dim-1")
        wait_until(page, "Number(document.body.dataset.perturbations || 0) >= 1")
        wait_until(page, "document.body.dataset.reconstructionDecoder")  # the decoder's weights are in (or failed)
        drag = page.evaluate(DRAG, args.drag_seconds)
        browser.close()

    rate = drag["drawn"] / drag["elapsed"]
    latency = p95(drag["latencies"])
    grid_rate = drag["grids"] / drag["elapsed"]
    rows = []
    if loads:
        first_ms = statistics.median(t for t, _ in loads)
        rows.append(("first analysis after navigation (ms, median)", first_ms, "<= 1000", first_ms <= 1000))
    if strokes:
        stroke_ms = statistics.median(strokes)
        rows.append(("stroke end -> visible sections (ms, median)", stroke_ms, "<= 300", stroke_ms <= 300))
    rows += [
        ("reconstructions drawn per second", rate, ">= 55", rate >= 55),
        ("input-to-pixels p95 (ms)", latency, "<= 33", latency <= 33),
        ("perturbation grid updates per second", grid_rate, ">= 10", grid_rate >= 10),
    ]
    if loads:
        load_bytes = statistics.median(b for _, b in loads)
        rows.append(("bytes on first load (MB, median)", load_bytes / 1e6, "<= 1.5", load_bytes <= 1.5e6))
    print(f"{'metric':48} {'value':>9} {'budget':>9}  ok")
    for name, value, budget, ok in rows:
        print(f"{name:48} {value:9.2f} {budget:>9}  {'PASS' if ok else 'FAIL'}")
    print(f"(loads: {', '.join(f'{t:.0f} ms / {b / 1e6:.2f} MB' for t, b in loads)}; strokes: "
          f"{', '.join(f'{v:.0f}' for v in strokes)} ms; {drag['events']} input events in {drag['elapsed']:.1f} s, "
          f"{len(drag['latencies'])} of them drawn, decoder: {drag['decoder']}; the page's own hook: "
          f"{len(drag['hooked'])} reconstructions, p95 {p95(drag['hooked']):.1f} ms (a frame late); "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())})")
    ok = all(ok for *_, ok in rows)
    if not args.no_lighthouse and weights:
        # The page's other budgets (scores, blocking time, layout shift) come from Lighthouse: its own script,
        # run here too so that one command prints every budget of the page.
        sys.path.insert(0, str(ROOT / "bench"))
        import lighthouse

        if not lighthouse.LIGHTHOUSE.exists():
            print(f"Lighthouse: {lighthouse.LIGHTHOUSE} not found (npm install --prefix bench); scores not measured")
            return 1
        print()
        ok = lighthouse.main(["--weights", weights, "--preset", "desktop"]) == 0 and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
