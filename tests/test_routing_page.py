"""Routing by agreement made visible, in a real browser (headless Debian Chromium against
run_visualization.py on a random checkpoint with W x 100, so that routing moves c): step through the
iterations and see the cloud's weights change; pick a capsule and follow its four steps with the API's
numbers; see the loss, and pick another label. Every test checks for console errors and foreign requests."""
from __future__ import annotations

import json
import urllib.request

import pytest

from browser_helpers import reveal, wait_until
from test_page import check_clean, open_page, shoot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(routed_server):
    return routed_server


@pytest.fixture(scope="module")
def page(browser, server):
    page = open_page(browser, server)
    yield page
    check_clean(page)
    page.context.close()


def count(page, hook: str) -> int:
    return int(page.evaluate(f"Number(document.body.dataset.{hook} || 0)"))


def post(server, path, body) -> dict:
    request = urllib.request.Request(server + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as r:
        return json.load(r)


def sizes(page, selector) -> list[float]:
    return page.evaluate(f"document.querySelector('{selector}').data[0].marker.size")


def test_stepping_through_iterations_changes_the_cloud_weights(page):
    reveal(page, "#vote_cloud")
    wait_until(page, "Number(document.body.dataset.voteClouds || 0) >= 1")
    last = sizes(page, "#vote-cloud-0")
    assert page.input_value("#vote-cloud-step") == "3"
    n = count(page, "voteClouds")
    page.fill("#vote-cloud-step", "1")
    page.dispatch_event("#vote-cloud-step", "input")
    wait_until(page, f"Number(document.body.dataset.voteClouds) > {n}")
    first = sizes(page, "#vote-cloud-0")
    assert len(first) == len(last) == page.evaluate("document.querySelector('#vote-cloud-0').data[0].x.length")
    assert len(set(round(s, 6) for s in first)) == 1  # iteration 1: c = 0.1 everywhere, one size
    assert len(set(round(s, 3) for s in last)) > 10  # after routing the weights differ
    assert "iteration 1" in page.text_content("#vote-cloud-caption-0")
    # Both clouds: the prediction's and the runner-up's, with numeric legends.
    assert page.is_visible("#vote-cloud-1")
    assert page.get_attribute("#vote-cloud-legend-0", "data-lo") and page.get_attribute("#vote-cloud-legend-1", "data-hi")
    # The play button walks through every iteration back to the last one.
    page.click("#vote-cloud-play")
    wait_until(page, "document.querySelector('#vote-cloud-step').value === '3'", timeout=30)
    check_clean(page)


def test_pick_a_capsule_and_follow_its_four_steps(page, server):
    reveal(page, "#capsule_steps")
    wait_until(page, "Number(document.body.dataset.capsuleSteps || 0) >= 1")
    n = count(page, "capsuleSteps")
    page.fill("#capsule-steps-capsule", "700")
    page.dispatch_event("#capsule-steps-capsule", "change")
    wait_until(page, f"Number(document.body.dataset.capsuleSteps) > {n}")
    wait_until(page, "document.querySelector('#capsule-steps-where').textContent.includes('capsule 700 ')")
    digit = int(page.input_value("#capsule-steps-digit"))
    sample = page.evaluate("document.body.dataset.source")
    assert sample == "sample"
    sid = json.load(urllib.request.urlopen(server + "api/samples", timeout=60))["samples"][0]["id"]
    expected = post(server, "api/routing/capsule_steps", {"sample": sid, "capsule": 700, "digit": digit})
    shown = json.loads(page.get_attribute("#capsule-steps-numbers", "data-c"))
    assert shown == expected["c"]
    steps = page.text_content("#capsule-steps-numbers")
    for word in ("u_i = squash", "W_ij u_i", "× c_ij", "squash(s_"):
        assert word in steps
    assert f"{expected['v_lengths'][-1]:.4f}" in steps
    for plot in ("u", "W", "uhat", "sv", "squash"):
        assert page.evaluate(f"document.querySelector('#capsule-steps-{plot}').data.length") >= 1
    # A point clicked in the cloud opens its capsule here.
    reveal(page, "#vote_cloud")
    n = count(page, "capsuleSteps")
    page.evaluate("""() => { const gd = document.querySelector('#vote-cloud-1');
        gd.emit('plotly_click', {points: [{curveNumber: 0, customdata: 42}]}); }""")
    wait_until(page, f"Number(document.body.dataset.capsuleSteps) > {n}")
    wait_until(page, "document.querySelector('#capsule-steps-where').textContent.includes('capsule 42 ')")
    runner_up = page.evaluate("document.querySelector('#vote-cloud-1').dataset.digit")
    assert page.input_value("#capsule-steps-digit") == runner_up
    check_clean(page)


def test_see_the_loss_and_pick_a_label(page, server):
    reveal(page, "#loss")
    wait_until(page, "Number(document.body.dataset.losses || 0) >= 1")
    sid = json.load(urllib.request.urlopen(server + "api/samples", timeout=60))["samples"][0]["id"]
    expected = post(server, "api/routing/loss", {"sample": sid})
    assert float(page.get_attribute("#loss-total", "data-total")) == pytest.approx(expected["total"])
    assert f"{expected['total']:.4f}" in page.text_content("#loss-total")
    other = (expected["label"] + 1) % 10
    n = count(page, "losses")
    page.select_option("#loss-label", str(other))
    wait_until(page, f"Number(document.body.dataset.losses) > {n}")
    expected = post(server, "api/routing/loss", {"sample": sid, "label": other})
    assert float(page.get_attribute("#loss-total", "data-total")) == pytest.approx(expected["total"])
    bars = page.evaluate("document.querySelector('#loss-margin').data.map((t) => t.y)")
    assert bars == [expected["margin"]["present"], expected["margin"]["absent"]]
    check_clean(page)
    shoot(page, "vote_cloud")


def test_coupling_maps_relative_to_uniform_and_mass_axis_fits(page):
    reveal(page, "#routing")
    wait_until(page, "document.querySelector('#routing-mass').layout?.yaxis?.range")
    lo, hi = page.evaluate("document.querySelector('#routing-mass').layout.yaxis.range")
    masses = page.evaluate("document.querySelector('#routing-mass').data.flatMap((t) => t.y)")
    assert lo <= min(masses + [0.1]) and max(masses + [0.1]) <= hi
    assert hi - lo < 0.6  # fitted to the data, not 0 … 100 %
    lines = page.evaluate("document.querySelector('#routing-mass').layout.shapes.map((s) => s.y0)")
    assert 0.1 in lines  # the uniform 10 % line
    legend = page.locator("#routing-c-legend")
    assert float(legend.get_attribute("data-lo")) == -float(legend.get_attribute("data-hi")) > -1
    assert "c_ij − 1/10" in page.text_content("#routing-c-caption")
    page.check("#routing-c-absolute")
    wait_until(page, "document.querySelector('#routing-c-legend').dataset.hi === '1'")
    assert "sum to 1" in page.text_content("#routing-c-caption")
    page.uncheck("#routing-c-absolute")
    wait_until(page, "document.querySelector('#routing-c-legend').dataset.hi !== '1'")
    check_clean(page)
