"""Issue 11 item 8: axe-core (tests/vendor/axe.min.js, no network) on the main page after its first
analysis and on the report page, in a context that bypasses the page's CSP so the script can be injected.
No violation of impact serious or critical may remain."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from browser_helpers import serve, wait_for_analysis, wait_until, watch

ROOT = Path(__file__).resolve().parent.parent
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
ENV = {"OMP_NUM_THREADS": "1"}
BLOCKING = ("serious", "critical")
# Known and owned elsewhere: the evidence list's buttons (static/js/views/evidence.js, being rewritten into a
# feature module) have an aria-label that does not contain their visible text. Only that rule on only those
# nodes is tolerated, as an xfail, so that any other violation fails and the fix turns the test green.
KNOWN = ("label-content-name-mismatch", "#evidence-top-")

RUN_AXE = """async () => {
  const result = await axe.run(document, { resultTypes: ['violations'] });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, count: v.nodes.length,
    targets: v.nodes.map((n) => n.target.join(' ')),
  }));
}"""


@pytest.fixture(scope="module")
def server(random_weights, tmp_path_factory):
    """The random checkpoint with the shipped report beside it: the report page only renders what the
    report says, so the shipped file stands in without an evaluation run over MNIST."""
    folder = tmp_path_factory.mktemp("axe") / "weights"
    shutil.copytree(random_weights.parent, folder)
    for name in ("report.json", "history.json"):
        shutil.copy(ROOT / "weights" / "mnist" / name, folder / name)
    with serve(folder / random_weights.name, threads=2, env=ENV) as url:
        yield url


@pytest.fixture
def page(browser):
    context = browser.new_context(bypass_csp=True, viewport={"width": 1366, "height": 768})
    page = watch(context.new_page())
    page.set_default_timeout(120_000)
    yield page
    context.close()


def scroll_through(page) -> None:
    """Brings every section near the viewport once, so that sections that load when seen have loaded."""
    height = page.evaluate("() => document.documentElement.scrollHeight")
    for y in range(0, height + 768, 600):
        page.evaluate("(y) => window.scrollTo(0, y)", y)
        page.wait_for_timeout(50)
    page.wait_for_load_state("networkidle")
    page.evaluate("() => window.scrollTo(0, 0)")


def violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(RUN_AXE)
    return [v for v in found if v["impact"] in BLOCKING]


def describe(found: list[dict]) -> str:
    return "\n".join(f"{v['impact']} {v['id']} on {v['count']} nodes ({v['help']}): {v['targets'][:5]}" for v in found)


def test_main_page_after_first_analysis(page, server):
    page.goto(server)
    wait_for_analysis(page, 1)
    scroll_through(page)
    found = violations(page)
    rule, where = KNOWN
    known = [v for v in found if v["id"] == rule and all(t.startswith(where) for t in v["targets"])]
    others = [v for v in found if v not in known]
    assert others == [], describe(others)
    assert page.problems == []
    if known:
        pytest.xfail(f"static/js/views/evidence.js: {describe(known)}")


def test_report_page(page, server):
    page.goto(server + "report")
    wait_until(page, "document.body.dataset.ready === 'true'")
    scroll_through(page)
    found = violations(page)
    assert found == [], describe(found)
    assert page.problems == []
