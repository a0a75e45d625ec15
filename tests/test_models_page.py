"""Two models in a real browser (headless Debian Chromium against run_visualization.py --weights on
conftest's models_folder: a random 28x28 MNIST model and a random 36x36 MultiMNIST one): the header's
picker lists both and switching reloads the page with ?model=, keeping the hash; the 36x36 model then
walks through every section with its own sizes, and section 8 shows the single-digit model's answer for
the same pair beside its own. Every test checks for console errors and requests leaving the machine."""
from __future__ import annotations

import re

import pytest
from conftest import PAIR_IDS

from browser_helpers import reveal, serve, wait_for_analysis, wait_until
from test_page import check_clean, text

pytestmark = pytest.mark.browser

# Each section after the input, and the <body data-...> counter it bumps once it has drawn an answer.
SECTION_HOOKS = {"vote_cloud": "voteClouds", "capsule_steps": "capsuleSteps", "loss": "losses",
                 "reconstruction": "perturbations", "equivariance": "sweeps", "ablation": "ablations",
                 "overlap": "overlaps", "evidence": "evidence"}


@pytest.fixture(scope="module")
def models_server(models_folder):
    with serve(models_folder, threads=2, env={"OMP_NUM_THREADS": "1"}) as url:
        yield url


def open_page(browser, url):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.set_default_timeout(120_000)
    from browser_helpers import watch

    watch(page)
    page.goto(url)
    wait_for_analysis(page, 1)
    return page


def hook(page, name: str) -> int:
    return int(page.evaluate(f"Number(document.body.dataset.{name} || 0)"))


@pytest.fixture(scope="module")
def multi_page(browser, models_server):
    """The default page, switched to the MultiMNIST model with the picker (a navigation)."""
    page = open_page(browser, models_server + "#somewhere")
    assert page.locator("#model-picker option").count() == 2
    assert page.input_value("#model-picker") == "mnist"
    with page.expect_navigation():
        page.select_option("#model-picker", "multimnist")
    wait_for_analysis(page, 1)
    yield page
    check_clean(page)
    page.context.close()


def test_the_picker_reloads_with_the_model_in_the_url_and_keeps_the_hash(multi_page):
    url = multi_page.url
    assert "?model=multimnist" in url and url.endswith("#somewhere")
    assert multi_page.input_value("#model-picker") == "multimnist"
    labels = multi_page.locator("#model-picker option").all_inner_texts()
    assert labels[0].startswith("mnist — MNIST, 28×28, 10.00 % test accuracy")
    assert labels[1].startswith("multimnist — MultiMNIST, 36×36, 2.00 % both digits right")


def test_the_36x36_model_has_its_sizes_everywhere(multi_page):
    page = multi_page
    sizes = page.evaluate("""() => [...document.querySelectorAll('canvas[data-size="image"]')]
                             .map((c) => [c.id, c.width, c.height])""")
    assert sizes and all(w == h == 36 for _, w, h in sizes), sizes
    assert text(page, "#input-seen + figcaption").startswith("What the model sees: 36×36")
    assert "3200 capsules" in text(page, "#primary-title")
    assert "36×36 canvas" in text(page, "#input .lede")
    # The gallery starts with the fixed test pairs, then the single digits, every thumbnail 36 px.
    first = page.locator("#gallery button").first
    assert "MultiMNIST test pair #0" in first.get_attribute("aria-label")
    assert page.evaluate("[...document.querySelectorAll('#gallery canvas')].every((c) => c.width === 36)")
    # The analysis the page started with is the first pair, at 36x36.
    assert page.evaluate("document.body.dataset.source") == "sample"
    assert re.fullmatch(r"digits \d and \d \(\|v\| [\d.]+, [\d.]+\)", page.locator("#nav-prediction").inner_text())
    assert page.locator('#overlap [data-dataset="mnist"]').is_hidden()
    assert "Both digits right" in page.locator("#model-facts").text_content()  # the model panel's measure
    assert "MultiMNIST test pairs" in text(page, "#model-summary")


def test_the_36x36_model_walks_through_every_section(multi_page):
    page = multi_page
    page.locator("#gallery button").nth(len(PAIR_IDS)).click()  # a single digit (test-00003), fitted to 36x36
    wait_for_analysis(page, 2)
    for section, name in SECTION_HOOKS.items():
        reveal(page, f"#{section}")
        if section == "equivariance":  # asks for nothing until a transform or a sweep is chosen
            page.focus("#equivariance-rotate")
            page.keyboard.press("ArrowRight")
            wait_until(page, "Number(document.body.dataset.transforms || 0) >= 1", timeout=180)
            page.select_option("#equivariance-parameter", "shift_x")
            page.click("#equivariance-sweep")
        wait_until(page, f"Number(document.body.dataset.{name} || 0) >= 1", timeout=180)
    # The transformed input and the sweep's strip are 36x36 images too.
    assert page.evaluate("document.querySelector('#equivariance-transformed').width") == 36
    reveal(page, "#primary_caps")
    # The primary capsule grid: 32 tiles of 10x10 cells; hovering one shows a receptive field on 36x36.
    assert "10×10" in text(page, "#primary_caps figcaption >> nth=0")
    page.locator("#primary-lengths").hover(position={"x": 5, "y": 5})
    assert text(page, "#primary-readout").startswith("Capsule type 0, grid row 0, column 0")
    page.focus("#primary-lengths")
    for _ in range(9):
        page.keyboard.press("ArrowRight")
    assert text(page, "#primary-readout").startswith("Capsule type 0, grid row 0, column 9")  # a 10-wide grid
    assert page.evaluate("document.querySelector('#primary-input').width") == 36
    for canvas in ("#evidence-map-0", "#reconstruction-image"):
        assert page.evaluate(f"document.querySelector('{canvas}').width") == 36, canvas
    assert page.locator("#error").is_hidden()


def test_section_8_shows_the_single_digit_model_beside(multi_page):
    page = multi_page
    reveal(page, "#overlap")
    wait_until(page, "Number(document.body.dataset.overlapCompares || 0) >= 1", timeout=180)
    assert page.locator("#overlap-compare").is_visible()
    assert text(page, "#overlap-compare-verdict").startswith("The single-digit model: the two longest capsules are")
    # its composite is on its own 28x28 canvas; this model's on 36x36
    assert page.evaluate("document.querySelector('#overlap-compare-input').width") == 28
    assert page.evaluate("document.querySelector('#overlap-input').width") == 36
    assert page.locator('#overlap [data-dataset="multimnist"]').is_visible()
    assert "This model was trained on pairs" in text(page, '#overlap [data-dataset="multimnist"]')


def test_the_single_digit_model_shows_no_comparison(browser, models_server):
    page = open_page(browser, models_server + "?model=mnist")
    reveal(page, "#overlap")
    wait_until(page, "Number(document.body.dataset.overlaps || 0) >= 1", timeout=180)
    assert page.locator("#overlap-compare").is_hidden()
    assert "This model never saw two digits at once" in text(page, '#overlap [data-dataset="mnist"]')
    assert page.evaluate("document.querySelector('#input-seen').width") == 28
    check_clean(page)
    page.context.close()


def test_an_unknown_model_in_the_url_says_which_exist(browser, models_server):
    context = browser.new_context()
    page = context.new_page()
    from browser_helpers import watch

    watch(page)
    page.goto(models_server + "?model=nope")
    wait_until(page, "document.querySelector('#nav-prediction').classList.contains('is-error')")
    assert "served models: mnist, multimnist" in page.locator("#error").inner_text()
    assert any("404" in p for p in page.problems)  # the browser logs the 404 itself
    context.close()


@pytest.fixture(scope="module")
def report_server(models_folder, tmp_path_factory):
    """models_folder with a MultiMNIST report.json (model.evaluate --report on 40 of the fixed test pairs)."""
    import shutil

    from model import evaluate

    root = tmp_path_factory.mktemp("with-report") / "models"
    shutil.copytree(models_folder, root)
    weights = root / "multimnist" / "capsnet_multimnist.pt"
    assert evaluate.main(["--weights", str(weights), "--limit", "40", "--report", str(weights.with_name("report.json")),
                          "--json", "--device", "cpu"]) == 0
    with serve(root, threads=2, env={"OMP_NUM_THREADS": "1"}) as url:
        yield url


def test_the_report_page_works_per_model(browser, report_server, capsys):
    capsys.readouterr()  # evaluate's JSON line
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.set_default_timeout(120_000)
    from browser_helpers import watch

    watch(page)
    page.goto(report_server + "report?model=multimnist")
    wait_until(page, "document.body.dataset.ready === 'true'")
    assert page.locator("#report-status").inner_text() == "40 test pairs"
    assert "MultiMNIST test pairs" in page.locator("#manifest-facts").inner_text()
    assert page.locator(".back-link").get_attribute("href") == "/?model=multimnist"
    reveal(page, "#misclassified")
    assert page.evaluate("[...document.querySelectorAll('#misclassified-digits canvas')].every((c) => c.width === 36)")
    assert "test pairs have a digit missed" in text(page, "#misclassified-summary")
    # A wrong pair opens in the visualizer, on the same model, as the 36x36 pixels it is.
    with page.expect_navigation():
        page.locator("#misclassified-digits button").first.click()
    wait_for_analysis(page, 1)
    assert "?model=multimnist" in page.url
    assert page.evaluate("document.body.dataset.source") == "pixels"
    assert page.evaluate("document.querySelector('#input-seen').width") == 36
    check_clean(page)
    context.close()
