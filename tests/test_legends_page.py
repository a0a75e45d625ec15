"""Issue 5 item 7 in a real browser: every heat map on the page (a canvas grid or a plotly heat map)
has a colour legend in its figure whose ends are the numbers the colours were scaled to, drawn with one
of the colour-blind-safe gradients (viridis, RdBu) from static/css/main.css."""
from __future__ import annotations

import pytest

from browser_helpers import reveal, wait_for_chart, wait_until
from test_page import check_clean, open_page

pytestmark = pytest.mark.browser

# Figures whose content is a heat map drawn by the page (not a photo-like image of the input).
HEATMAP_FIGURES = """() => {
  const figures = new Set();
  for (const c of document.querySelectorAll('canvas.grid-canvas')) figures.add(c.closest('figure'));
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    if ((gd.data || []).some((t) => t.type === 'heatmap')) figures.add(gd.closest('figure'));
  }
  return [...figures].map((f) => {
    const row = f.querySelector('.legend-row');
    const bar = row && row.querySelector('.legend');
    return {
      id: (f.querySelector('canvas, .js-plotly-plot') || {}).id,
      lo: row ? row.dataset.lo ?? row.querySelector('.legend-end')?.textContent : null,
      hi: row ? row.dataset.hi ?? [...row.querySelectorAll('.legend-end')].pop()?.textContent : null,
      gradient: bar ? getComputedStyle(bar).backgroundImage : '',
    };
  });
}"""

LEGEND_ROW = """(row) => ({lo: row.dataset.lo, hi: row.dataset.hi,
  gradient: getComputedStyle(row.querySelector('.legend')).backgroundImage})"""


def test_every_heat_map_has_a_numeric_colour_legend(browser, server):
    page = open_page(browser, server)
    page.click("#conv1-kernels", position={"x": 5, "y": 5})  # draws the two enlarged plotly heat maps
    wait_until(page, "document.querySelector('#conv1-map-plot-legend').dataset.hi !== undefined")
    reveal(page, "#primary_caps", "#routing", "#digit_caps", "#ablation")  # each draws when near the viewport
    wait_for_chart(page, "#digit-vectors")
    wait_until(page, "Number(document.body.dataset.ablations || 0) >= 1")  # its own request, after the analysis
    figures = page.evaluate(HEATMAP_FIGURES)
    ids = {f["id"] for f in figures}
    assert {"conv1-kernels", "conv1-maps", "conv1-kernel-plot", "conv1-map-plot", "primary-lengths",
            "routing-c", "routing-agreement", "digit-vectors", "ablation-delta"} <= ids
    for f in figures:
        assert f["lo"] is not None and f["hi"] is not None, f"{f['id']} has no legend"
        assert float(f["lo"]) < float(f["hi"]), f
        assert "linear-gradient" in f["gradient"], f
    by_id = {f["id"]: f for f in figures}
    # Diverging maps are symmetric around 0 so that white means 0; c_ij is drawn as c − 0.1 (diverging)
    # unless the absolute switch asks for 0 … 1.
    for key in ("conv1-kernels", "routing-agreement", "digit-vectors", "routing-c"):
        assert float(by_id[key]["lo"]) == -float(by_id[key]["hi"])
    page.check("#routing-c-absolute")
    wait_until(page, "document.querySelector('#routing-c-legend').dataset.hi === '1'")
    assert page.get_attribute("#routing-c-legend", "data-lo") == "0"
    # The evidence maps share one legend below both pictures; the votes table has its own.
    reveal(page, "#evidence")
    wait_until(page, "Number(document.body.dataset.evidence || 0) >= 1")
    page.click("#evidence-top-0 button")
    for key in ("#evidence-legend", "#evidence-votes-legend"):
        row = page.eval_on_selector(key, LEGEND_ROW)
        assert float(row["lo"]) < float(row["hi"]) and "linear-gradient" in row["gradient"], (key, row)
    assert float(page.eval_on_selector("#evidence-legend", LEGEND_ROW)["lo"]) == 0  # c·|u| is never negative
    votes = page.eval_on_selector("#evidence-votes-legend", LEGEND_ROW)
    assert float(votes["lo"]) == -float(votes["hi"])
    check_clean(page)
    page.context.close()
