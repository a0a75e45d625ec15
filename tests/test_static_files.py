"""app/static_files.py: versioned static URLs with immutable caching, and compression that follows the
request's Accept-Encoding, for static files and for every text response (the pages, the API's JSON)."""
from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import brotli
import pytest

from app.static_files import IMMUTABLE, MIN_SIZE, StaticTree

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "static"
SAMPLE = json.loads((ROOT / "weights" / "mnist" / "gallery.json").read_text())["samples"][0]["id"]


def decoded(response) -> bytes:
    encoding = response.headers.get("Content-Encoding")
    return {"br": brotli.decompress, "gzip": gzip.decompress, None: bytes}[encoding](response.data)


def page_assets(client, page: str) -> list[str]:
    html = decoded(client.get(page, headers={"Accept-Encoding": "br"})).decode()
    return re.findall(r'(?:src|href|data-plotly-src)="(/static/[^"]+)"', html)


def test_version_is_a_hash_of_the_tree(tmp_path):
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "a.js").write_text("export const a = 1;\n")
    first = StaticTree(tmp_path).version
    assert StaticTree(tmp_path).version == first
    (tmp_path / "js" / "a.js").write_text("export const a = 2;\n")
    assert StaticTree(tmp_path).version != first
    (tmp_path / "js" / "a.js").write_text("export const a = 1;\n")
    (tmp_path / "js" / "a.js").rename(tmp_path / "js" / "b.js")  # same bytes, another name
    assert StaticTree(tmp_path).version != first


def test_only_text_big_enough_is_compressed(tmp_path):
    big = "".join(f"export const value{i} = {i};\n" for i in range(200)).encode()
    assert len(big) > MIN_SIZE
    (tmp_path / "big.js").write_bytes(big)
    (tmp_path / "tiny.js").write_bytes(b"export const a = 1;\n")
    (tmp_path / "image.png").write_bytes(bytes(range(256)) * 20)  # already compressed types stay as they are
    (tmp_path / ".hidden.js").write_bytes(big)
    tree = StaticTree(tmp_path)
    assert set(tree.files) == {"big.js", "tiny.js", "image.png"}
    assert set(tree.files["big.js"].encoded) == {"br", "gzip"}
    assert brotli.decompress(tree.files["big.js"].encoded["br"]) == big
    assert gzip.decompress(tree.files["big.js"].encoded["gzip"]) == big
    assert tree.files["tiny.js"].encoded == {} and tree.files["image.png"].encoded == {}
    assert tree.files["big.js"].mimetype == "text/javascript"


@pytest.mark.parametrize("page", ["/", "/report"])
def test_pages_link_versioned_assets_cached_for_a_year(client, app, page):
    version = app.extensions["static_tree"].version
    urls = page_assets(client, page)
    assert any(u.endswith(".js") for u in urls) and any(u.endswith(".css") for u in urls)
    # The main page names the chart library (loaded lazily); the report draws its charts as SVG, without it.
    assert any("plotly" in u for u in urls) == (page == "/")
    for url in urls:
        assert url.startswith(f"/static/v/{version}/"), url
        r = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
        assert r.status_code == 200 and r.headers["Cache-Control"] == IMMUTABLE
        assert decoded(r) == (STATIC / url.split("/", 4)[4]).read_bytes()
        assert r.headers["Content-Encoding"] == "br" and "Accept-Encoding" in r.headers["Vary"]


def test_relative_module_imports_resolve_under_the_same_version(client, app):
    """main.js imports its modules by relative paths: under the versioned base they are versioned too."""
    version = app.extensions["static_tree"].version
    main = (STATIC / "js" / "main.js").read_text()
    imports = re.findall(r"""from\s+'(\./[^']+)'""", main)
    assert imports
    for rel in imports:
        r = client.get(f"/static/v/{version}/js/{rel[2:]}")
        assert r.status_code == 200 and r.headers["Cache-Control"] == IMMUTABLE, rel


@pytest.mark.parametrize("accept, expected", [
    ("gzip, deflate, br", "br"),
    ("gzip", "gzip"),
    ("br;q=0.5, gzip", "gzip"),
    ("br;q=0, gzip;q=0.1", "gzip"),
    ("*", "br"),
    ("identity", None),
    ("br;q=0, gzip;q=0", None),
    ("", None),
])
def test_static_encoding_follows_accept_encoding(client, app, accept, expected):
    url = f"/static/v/{app.extensions['static_tree'].version}/js/main.js"
    r = client.get(url, headers={"Accept-Encoding": accept})
    assert r.status_code == 200
    assert r.headers.get("Content-Encoding") == expected
    assert "Accept-Encoding" in r.headers["Vary"]
    assert decoded(r) == (STATIC / "js" / "main.js").read_bytes()


def test_static_revalidates_by_etag_per_encoding(client, app):
    url = f"/static/v/{app.extensions['static_tree'].version}/css/main.css"
    br = client.get(url, headers={"Accept-Encoding": "br"})
    plain = client.get(url)
    assert br.headers["ETag"] != plain.headers["ETag"]
    again = client.get(url, headers={"Accept-Encoding": "br", "If-None-Match": br.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    # The identity body's tag does not stand for the brotli body.
    other = client.get(url, headers={"Accept-Encoding": "br", "If-None-Match": plain.headers["ETag"]})
    assert other.status_code == 200


def test_old_version_and_unversioned_urls_are_served_but_not_immutable(client):
    for url in ("/static/v/000000000000/js/main.js", "/static/js/main.js"):
        r = client.get(url)
        assert r.status_code == 200 and r.headers["Cache-Control"] == "no-cache", url
        assert r.data == (STATIC / "js" / "main.js").read_bytes()


@pytest.mark.parametrize("url", ["/static/v/x/nope.js", "/static/nope.js", "/static/v/x/../app/api.py",
                                 "/static/v/x/.hidden"])
def test_unknown_static_files_are_404(client, url):
    assert client.get(url).status_code == 404


def test_asset_refuses_a_missing_file(app):
    with app.test_request_context():
        with pytest.raises(ValueError, match="no such file"):
            app.jinja_env.globals["asset"]("js/no_such_file.js")


def test_analysis_json_is_compressed_and_still_not_cached(client):
    plain = client.post("/api/analyze", json={"sample": SAMPLE})
    assert plain.headers.get("Content-Encoding") is None
    for encoding in ("br", "gzip"):
        r = client.post("/api/analyze", json={"sample": SAMPLE}, headers={"Accept-Encoding": encoding})
        assert r.status_code == 200 and r.headers["Content-Encoding"] == encoding
        assert r.headers["Cache-Control"] == "no-store" and "Accept-Encoding" in r.headers["Vary"]
        assert int(r.headers["Content-Length"]) == len(r.data) < len(plain.data) / 2
        body, expected = json.loads(decoded(r)), plain.get_json()
        body.pop("timing_ms"), expected.pop("timing_ms")
        assert body == expected


def test_small_and_error_responses_are_not_compressed(client):
    small = client.post("/api/reconstruct", json={"digit": 12}, headers={"Accept-Encoding": "br"})
    assert small.status_code == 400 and small.headers.get("Content-Encoding") is None
    assert small.get_json()["error"]
    info = client.get("/api/model", headers={"Accept-Encoding": "br"})
    assert len(decoded(info)) < MIN_SIZE or info.headers["Content-Encoding"] == "br"


def test_etagged_json_keeps_revalidating_when_compressed(client):
    """/api/kernels sends an ETag: compressed, it becomes weak, and sending it back still gives a 304."""
    first = client.get("/api/kernels", headers={"Accept-Encoding": "br"})
    assert first.headers["Content-Encoding"] == "br" and first.headers["ETag"].startswith('W/"')
    again = client.get("/api/kernels", headers={"Accept-Encoding": "br", "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert json.loads(decoded(first)) == client.get("/api/kernels").get_json()


def test_first_load_in_a_browser_is_versioned_compressed_and_light(browser, server):
    """A cold first visit of / in Chromium, to the first analysis and a quiet network: every static file
    comes from the versioned tree, every text body over 1 KB arrives compressed, and the whole load moves
    at most issue 11's 1.5 MB (it moved 5.8 MB before compression and the partial plotly bundle)."""
    from browser_helpers import wait_for_analysis

    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.set_default_timeout(120_000)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    responses, moved = {}, {}
    cdp.on("Network.responseReceived", lambda e: responses.__setitem__(e["requestId"], e["response"]))
    cdp.on("Network.loadingFinished", lambda e: moved.__setitem__(e["requestId"], e["encodedDataLength"]))
    try:
        page.goto(server)
        wait_for_analysis(page, 1)
        page.wait_for_load_state("networkidle")
        version = page.evaluate("() => document.querySelector('script[type=module]').src.split('/')[5]")
        assert re.fullmatch(r"[0-9a-f]{12}", version)
        for rid, r in responses.items():
            path = r["url"].split(server.rstrip("/"), 1)[-1]
            headers = {k.lower(): v for k, v in r["headers"].items()}
            mimetype = headers.get("content-type", "").split(";")[0]
            if path.startswith("/static/") or mimetype in ("text/javascript", "text/css"):
                assert path.startswith(f"/static/v/{version}/"), path
                assert headers["cache-control"] == IMMUTABLE, path
            if r["status"] == 200 and mimetype in ("text/javascript", "text/css", "application/json", "text/html") \
                    and int(headers.get("content-length", MIN_SIZE)) >= MIN_SIZE:  # a plain body's own size
                assert headers.get("content-encoding") in ("br", "gzip"), path
        assert 0 < sum(moved.values()) <= 1_500_000
    finally:
        context.close()
