"""The reconstruction section's shared state (static/js/reconstructionState.js) in a real browser: every kind
of bad hash is refused by the page's own module with a reason, good states round-trip exactly, and a
tampered link says so and starts as usual. Against conftest's server (random weights, the MNIST gallery)."""
from __future__ import annotations

import pytest

from browser_helpers import reveal, wait_for_analysis, wait_until
from test_page import check_clean, text
from test_reconstruction_page import new_page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def page(browser, server):
    page = new_page(browser, server)
    wait_for_analysis(page, 1)
    reveal(page, "#reconstruction")
    yield page
    check_clean(page)
    page.context.close()


# Every kind of bad state, parsed by the page's own module (one page, no reloads).
BAD_HASHES = {
    "version=2&sample=test-00003&iterations=3&digit=1&vector=" + ",".join(["0"] * 16): "version 2 is not one",
    "sample=test-00003&iterations=3&digit=1&vector=" + ",".join(["0"] * 16): "no \"version\"",
    "version=1&pixels=AB$C&iterations=3&digit=1&vector=" + ",".join(["0"] * 16): "not base64url",
    "version=1&pixels=A&iterations=3&digit=1&vector=" + ",".join(["0"] * 16): "not valid base64url",
    "version=1&pixels=AAAA&iterations=3&digit=1&vector=" + ",".join(["0"] * 16): "must hold 784 values",
    "version=1&sample=test-00003&iterations=3&digit=1&vector=" + ",".join(["0"] * 15): "must hold 16 numbers",
    "version=1&sample=test-00003&iterations=3&digit=1&vector=" + ",".join(["0"] * 15 + ["NaN"]): "component 16 is not a finite",
    "version=1&sample=test-00003&iterations=3&digit=1&vector=" + ",".join(["0"] * 15 + ["1e400"]): "component 16 is not a finite",
    "version=1&sample=test-00003&iterations=3&digit=1&vector=" + ",".join(["2.5"] + ["0"] * 15): "component 1 is 2.5, outside",
    "version=1&sample=test-00003&iterations=3&digit=10&vector=" + ",".join(["0"] * 16): "\"digit\" must be in 0..9",
    "version=1&sample=test-00003&iterations=3&digit=x&vector=" + ",".join(["0"] * 16): "\"digit\" must be a whole number",
    "version=1&sample=test-00003&iterations=0&digit=1&vector=" + ",".join(["0"] * 16): "\"iterations\" must be in 1..10",
    "version=1&sample=test-00003&iterations=3&uniform_routing=yes&digit=1&vector=" + ",".join(["0"] * 16): "true or false",
    "version=1&sample=test-00003&pixels=AAAA&iterations=3&digit=1&vector=" + ",".join(["0"] * 16): "must hold 784",
    "version=1&iterations=3&digit=1&vector=" + ",".join(["0"] * 16): "exactly one input",
    "version=1&sample=test-00003&iterations=3&digit=1": "\"vector\" is missing",
    "version=1&sample=test-00003&iterations=3&digit=1&extra=1&vector=" + ",".join(["0"] * 16): "unknown field \"extra\"",
    "version=1&sample=../../x&iterations=3&digit=1&vector=" + ",".join(["0"] * 16): "not a gallery sample id",
    "version=1&version=1&sample=test-00003&iterations=3&digit=1&vector=" + ",".join(["0"] * 16): "given twice",
    "version=1&sample=%E0%A4%A&iterations=3&digit=1&vector=" + ",".join(["0"] * 16): "not properly encoded",
}


def test_every_kind_of_bad_state_is_refused_with_a_reason(page):
    results = page.evaluate("""async (hashes) => {
        const m = await import('/static/js/reconstructionState.js');
        return hashes.map((h) => { try { m.fromHash('#' + h, { side: 28 }); return 'accepted'; }
                                   catch (e) { return (e instanceof m.StateError ? '' : 'NOT A StateError: ') + e.message; } });
    }""", list(BAD_HASHES))
    for (hash_, want), got in zip(BAD_HASHES.items(), results):
        assert want in got, f"{hash_[:60]}: {got}"
    # And the good ones round-trip exactly, float32 values and pixels alike.
    same = page.evaluate("""async () => {
        const m = await import('/static/js/reconstructionState.js');
        const vector = Array.from(new Float32Array([0.1, -0.3333333, 1.9999, 1e-7, ...Array(12).fill(0.25)]));
        const pixels = Uint8Array.from({ length: 784 }, (_, i) => (i * 37) % 256);
        const s = { sample: null, pixels, iterations: 7, uniformRouting: true, digit: 9, vector };
        const back = m.fromHash('#' + m.toHash(s));
        const json = m.fromJson(JSON.parse(JSON.stringify(m.toJson(s))));
        return [back, json].every((b) => b.vector.every((x, k) => x === vector[k]) && b.pixels.every((x, i) => x === pixels[i])
            && b.iterations === 7 && b.uniformRouting === true && b.digit === 9 && b.sample === null);
    }""")
    assert same


@pytest.mark.parametrize("bad, reason", [
    ("version=9&sample=test-00003&iterations=3&digit=1&vector=" + ",".join(["0"] * 16), "version 9 is not one"),
    ("version=1&sample=test-00003&iterations=3&digit=1&vector=" + ",".join(["0"] * 15 + ["NaN"]), "not a finite number"),
    ("version=1&sample=test-99999&iterations=3&digit=1&vector=" + ",".join(["0"] * 16), "no gallery sample \"test-99999\""),
])
def test_tampered_link_says_so_and_starts_as_usual(browser, server, bad, reason):
    fresh = new_page(browser, f"{server}#{bad}")
    wait_for_analysis(fresh, 1)
    message = text(fresh, "#reconstruction-message")
    assert message.startswith("The link's reconstruction state could not be used") and reason in message
    assert "Showing the default start" in message
    assert fresh.evaluate("document.querySelector('#reconstruction-message').classList.contains('is-error')")
    assert fresh.evaluate("document.body.dataset.source") == "sample"
    wait_until(fresh, "location.hash.startsWith('#version=1&sample=')")  # the default start's own state
    check_clean(fresh)
    fresh.context.close()
