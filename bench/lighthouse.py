"""Lighthouse scores of the page and the report page, against a server this script starts.

Runs Lighthouse 12.2.3 (npm, installed inside the repo: `npm install --prefix bench`, which reads
bench/package.json; bench/node_modules is git-ignored) with Debian's Chromium on `/` and `/report`, with the
desktop preset and Lighthouse's default mobile one, and prints the four category scores, total blocking
time, cumulative layout shift and the bytes moved, each against issue 11's budgets (they apply to the
desktop runs; the mobile rows are for reference):

    npm install --prefix bench                     # once
    python bench/lighthouse.py                     # the shipped weights/mnist/capsnet_mnist.pt
    python bench/lighthouse.py --preset desktop --runs 3 --keep-reports /tmp/lh

The server is warmed up (one page load and one analysis) before the first run; Lighthouse itself clears
the browser's cache, so every run is a cold first visit. With --runs N the median of each number is shown.
Exits 1 when a budget is missed.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]  # the repo's model package and the browser helpers

from browser_helpers import CHROMIUM, serve  # noqa: E402

from model.weights import DEFAULT_WEIGHTS  # noqa: E402

LIGHTHOUSE = ROOT / "bench" / "node_modules" / ".bin" / "lighthouse"
CHROME_FLAGS = "--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
PAGES = {"/": "", "/report": "report"}
# (name, how to read it from a Lighthouse result, format, budget check, budget text). Desktop runs only.
METRICS = [
    ("performance", lambda r: 100 * r["categories"]["performance"]["score"], "{:.0f}", lambda v: v >= 90, ">= 90"),
    ("accessibility", lambda r: 100 * r["categories"]["accessibility"]["score"], "{:.0f}", lambda v: v >= 100, "100"),
    ("best-practices", lambda r: 100 * r["categories"]["best-practices"]["score"], "{:.0f}", lambda v: v >= 100, "100"),
    ("seo", lambda r: 100 * r["categories"]["seo"]["score"], "{:.0f}", None, "-"),
    ("TBT ms", lambda r: r["audits"]["total-blocking-time"]["numericValue"], "{:.0f}", lambda v: v <= 200, "<= 200"),
    ("CLS", lambda r: r["audits"]["cumulative-layout-shift"]["numericValue"], "{:.3f}", lambda v: v <= 0.02, "<= 0.02"),
    ("LCP ms", lambda r: r["audits"]["largest-contentful-paint"]["numericValue"], "{:.0f}", None, "-"),
    ("bytes", lambda r: r["audits"]["total-byte-weight"]["numericValue"], "{:,.0f}", lambda v: v <= 1_500_000,
     "<= 1,500,000"),
]


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default=str(DEFAULT_WEIGHTS), help="weights file (default: %(default)s)")
    ap.add_argument("--page", choices=list(PAGES), action="append", help="page to audit (default: both)")
    ap.add_argument("--preset", choices=("desktop", "mobile"), action="append", help="default: both")
    ap.add_argument("--runs", type=int, default=1, help="Lighthouse runs per page and preset (default: %(default)s)")
    ap.add_argument("--keep-reports", metavar="DIR", help="keep each run's Lighthouse JSON report in DIR")
    ap.add_argument("--json", action="store_true", help="print the medians as one JSON object instead of a table")
    return ap.parse_args(argv)


def lighthouse(url: str, preset: str, out: Path) -> dict:
    cmd = [str(LIGHTHOUSE), url, "--output=json", f"--output-path={out}", "--quiet",
           f"--chrome-flags={CHROME_FLAGS}", f"--only-categories={','.join(CATEGORIES)}"]
    if preset == "desktop":
        cmd.append("--preset=desktop")
    try:
        subprocess.run(cmd, check=True, env={**os.environ, "CHROME_PATH": CHROMIUM}, timeout=600)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        # Lighthouse has printed why (on a loaded machine, often a DevTools protocol timeout).
        sys.exit(f"Lighthouse failed on {url} ({preset}): {e}")
    return json.loads(out.read_text())


def failing_audits(result: dict) -> list[str]:
    """Audit ids that cost points in the accessibility and best-practices categories."""
    ids = []
    for category in ("accessibility", "best-practices"):
        for ref in result["categories"][category]["auditRefs"]:
            audit = result["audits"][ref["id"]]
            if ref["weight"] > 0 and audit["score"] is not None and audit["score"] < 1:
                ids.append(ref["id"])
    return ids


def warm_up(base: str) -> None:
    urllib.request.urlopen(base, timeout=60).read()
    samples = json.loads(urllib.request.urlopen(base + "api/samples", timeout=60).read())["samples"]
    req = urllib.request.Request(base + "api/analyze", data=json.dumps({"sample": samples[0]["id"]}).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=60).read()


def main(argv=None) -> int:
    args = parse_args(argv)
    if not LIGHTHOUSE.exists():
        sys.exit(f"{LIGHTHOUSE} not found: run `npm install --prefix bench` (Lighthouse 12.2.3 from bench/package.json)")
    pages, presets = args.page or list(PAGES), args.preset or ["desktop", "mobile"]
    keep = Path(args.keep_reports) if args.keep_reports else None
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
    rows, missed = {}, []
    with serve(args.weights, threads=2) as base, tempfile.TemporaryDirectory() as tmp:
        warm_up(base)
        for page in pages:
            for preset in presets:
                results = []
                for n in range(args.runs):
                    name = f"{PAGES[page] or 'index'}-{preset}-{n + 1}.json"
                    results.append(lighthouse(base + PAGES[page], preset, (keep or Path(tmp)) / name))
                values = {m: statistics.median(read(r) for r in results) for m, read, *_ in METRICS}
                values["failing audits"] = sorted({a for r in results for a in failing_audits(r)})
                rows[f"{page} {preset}"] = values
                if preset == "desktop":
                    missed += [f"{page} {m}" for m, _, _, ok, _ in METRICS if ok and not ok(values[m])]
    if args.json:
        print(json.dumps({"runs": args.runs, "load_average": os.getloadavg(), "results": rows, "missed": missed}))
    else:
        print(f"Lighthouse 12.2.3, Debian Chromium, median of {args.runs} run(s); load average "
              + " ".join(f"{x:.2f}" for x in os.getloadavg()))
        names = [m for m, *_ in METRICS]
        print(f"{'':18}" + "".join(f"{m:>15}" for m in names))
        print(f"{'budget (desktop)':18}" + "".join(f"{b:>15}" for *_, b in METRICS))
        for key, values in rows.items():
            print(f"{key:18}" + "".join(f"{fmt.format(values[m]):>15}" for m, _, fmt, _, _ in METRICS))
            if values["failing audits"]:
                print(f"{'':18}  a11y / best-practices audits below 1: {', '.join(values['failing audits'])}")
        print("all desktop budgets met" if not missed else f"budgets missed: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
