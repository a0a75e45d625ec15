"""Bad input never gives a 500 or a stack trace: a 4xx JSON {"error": "..."} that says what was wrong,
and the app keeps serving (the same good request before and after gives the same answer)."""
from __future__ import annotations

import base64
import io
import json
import math
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

GALLERY = Path(__file__).resolve().parent.parent / "weights" / "mnist" / "gallery.json"
SAMPLES = json.loads(GALLERY.read_text())["samples"]
SAMPLE = SAMPLES[0]["id"]
DIGIT = np.frombuffer(base64.b64decode(SAMPLES[0]["pixels"]), dtype=np.uint8).reshape(28, 28)
PIXELS = (DIGIT / 255).round(4).tolist()
LIMIT = 16 * 1000 * 1000


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def png_declaring(width: int, height: int) -> bytes:
    """A tiny, well-formed PNG whose header claims width x height 1-bit pixels (a decompression bomb);
    built by hand so the test never allocates the pixels itself."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * (1 + (width + 7) // 8) * 4)  # a few blank rows; never decoded
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


DIGIT_PNG = png(Image.fromarray(255 - DIGIT, mode="L").resize((112, 112)))
WHITE_PNG = png(Image.new("L", (280, 280), 255))
BLACK_PNG = png(Image.new("RGB", (200, 120), (0, 0, 0)))
TRANSPARENT_PNG = png(Image.new("RGBA", (280, 280), (0, 0, 0, 0)))


def pixels_with(value) -> list:
    p = [row[:] for row in PIXELS]
    p[14][14] = value
    return p


def raw_json(obj) -> dict:
    """Request kwargs sending `obj` as JSON text, NaN and Infinity included (json.dumps writes them)."""
    return {"data": json.dumps(obj), "content_type": "application/json"}


def js(obj) -> dict:
    return {"json": obj}


def multipart(**fields) -> dict:
    return {"data": fields, "content_type": "multipart/form-data"}


def raw_multipart(content: bytes) -> dict:
    """A multipart body built in memory (the test client would spool a big one to a temporary file
    that it never closes)."""
    head = (b'--b0undary\r\nContent-Disposition: form-data; name="image"; filename="big.png"\r\n'
            b"Content-Type: image/png\r\n\r\n")
    return {"data": head + content + b"\r\n--b0undary--\r\n", "content_type": "multipart/form-data; boundary=b0undary"}


ANALYZE_CASES = [
    # (request kwargs, status, words the message must contain)
    pytest.param({"data": '{"sample": "x"}', "content_type": "text/plain"}, 415, "application/json", id="text-plain"),
    pytest.param({"data": {"sample": SAMPLE}}, 415, "application/json", id="form-urlencoded"),
    pytest.param({}, 415, "application/json", id="missing-body"),
    pytest.param({"data": "", "content_type": "application/json"}, 400, "not valid json", id="empty-json-body"),
    pytest.param({"data": '{"sample": ', "content_type": "application/json"}, 400, "not valid json", id="invalid-json"),
    pytest.param({"data": b'{"sample": "\xff\xfe"}', "content_type": "application/json"}, 400, "not valid json",
                 id="invalid-utf8"),
    pytest.param({"data": "[" * 100_000 + "]" * 100_000, "content_type": "application/json"}, 400, "not valid json",
                 id="json-nested-too-deep"),
    pytest.param(js([1, 2, 3]), 400, "must be an object", id="json-array"),
    pytest.param(js("sample"), 400, "must be an object", id="json-string"),
    pytest.param({"data": "null", "content_type": "application/json"}, 400, "not valid json", id="json-null"),
    pytest.param(js({}), 400, "exactly one of", id="none-of-image-pixels-sample"),
    pytest.param(js({"iterations": 3}), 400, "exactly one of", id="only-options"),
    pytest.param(js({"sample": SAMPLE, "pixels": PIXELS}), 400, "exactly one of", id="sample-and-pixels"),
    pytest.param(js({"image": b64(DIGIT_PNG), "sample": SAMPLE}), 400, "exactly one of", id="image-and-sample"),
    pytest.param(js({"sample": SAMPLE, "colour": "red"}), 400, "unknown field(s): colour", id="unknown-field"),
    # images
    pytest.param(js({"image": 12345}), 400, "must be a string", id="image-not-a-string"),
    pytest.param(js({"image": "@@@ not base64 @@@"}), 400, "not valid base64", id="image-undecodable-base64"),
    pytest.param(js({"image": "data:image/png;base64,abc"}), 400, "not valid base64", id="data-url-bad-padding"),
    pytest.param(js({"image": ""}), 400, "empty", id="image-empty"),
    pytest.param(js({"image": b64(b"hello, I am not a picture at all")}), 400, "not a readable image",
                 id="not-an-image"),
    pytest.param(js({"image": b64(b"GIF89a" + b"\0" * 12)}), 400, "image", id="broken-gif"),
    pytest.param(js({"image": b64(DIGIT_PNG[: len(DIGIT_PNG) // 2])}), 400, "truncated", id="truncated-png"),
    pytest.param(js({"image": b64(png_declaring(7000, 7000))}), 400, "pixels", id="bomb-7000x7000"),
    pytest.param(js({"image": b64(png_declaring(30000, 30000))}), 400, "", id="bomb-30000x30000"),
    pytest.param(js({"image": b64(png_declaring(1_000_000, 100))}), 400, "", id="bomb-1000000x100"),
    pytest.param(js({"image": b64(WHITE_PNG)}), 422, "no digit found", id="blank-white-drawing"),
    pytest.param(js({"image": "data:image/png;base64," + b64(BLACK_PNG)}), 422, "no digit found",
                 id="blank-black-image"),
    pytest.param(js({"image": b64(TRANSPARENT_PNG)}), 422, "no digit found", id="blank-transparent-canvas"),
    # pixels
    pytest.param(js({"pixels": PIXELS[:27]}), 400, "28x28", id="pixels-27-rows"),
    pytest.param(js({"pixels": [row[:27] for row in PIXELS]}), 400, "28x28", id="pixels-27-columns"),
    pytest.param(js({"pixels": PIXELS[:27] + [PIXELS[27][:20]]}), 400, "28x28", id="pixels-ragged"),
    pytest.param(js({"pixels": sum(PIXELS, [])}), 400, "28x28", id="pixels-flat-784"),
    pytest.param(js({"pixels": [[[0.5]] * 28] * 28}), 400, "28x28", id="pixels-3d"),
    pytest.param(js({"pixels": 0.5}), 400, "28x28", id="pixels-scalar"),
    pytest.param(js({"pixels": None}), 400, "28x28", id="pixels-null"),
    pytest.param(js({"pixels": [["0.5"] * 28] * 28}), 400, "numbers", id="pixels-numeric-strings"),
    pytest.param(js({"pixels": pixels_with("a")}), 400, "numbers", id="pixels-one-string"),
    pytest.param(js({"pixels": pixels_with(True)}), 400, "numbers", id="pixels-boolean"),
    pytest.param(js({"pixels": pixels_with(None)}), 400, "numbers", id="pixels-null-value"),
    pytest.param(raw_json({"pixels": pixels_with(math.nan)}), 400, "nan", id="pixels-nan"),
    pytest.param(raw_json({"pixels": pixels_with(math.inf)}), 400, "infinity", id="pixels-infinity"),
    pytest.param(raw_json({"pixels": pixels_with(-math.inf)}), 400, "infinity", id="pixels-minus-infinity"),
    pytest.param(js({"pixels": pixels_with(-0.01)}), 400, "[0, 1]", id="pixels-negative"),
    pytest.param(js({"pixels": pixels_with(255)}), 400, "[0, 1]", id="pixels-0-255-scale"),
    pytest.param(js({"pixels": [[0] * 28] * 28}), 422, "no digit found", id="pixels-all-zeros"),
    # options
    pytest.param(js({"sample": SAMPLE, "iterations": 0}), 400, "1..10", id="iterations-0"),
    pytest.param(js({"sample": SAMPLE, "iterations": 11}), 400, "1..10", id="iterations-11"),
    pytest.param(js({"sample": SAMPLE, "iterations": -3}), 400, "1..10", id="iterations-negative"),
    pytest.param(js({"sample": SAMPLE, "iterations": 10**30}), 400, "1..10", id="iterations-huge"),
    pytest.param(js({"sample": SAMPLE, "iterations": "3"}), 400, "'iterations' must be an integer",
                 id="iterations-string"),
    pytest.param(js({"sample": SAMPLE, "iterations": True}), 400, "'iterations' must be an integer",
                 id="iterations-true"),
    pytest.param(js({"sample": SAMPLE, "iterations": 2.5}), 400, "'iterations' must be an integer",
                 id="iterations-2.5"),
    pytest.param(js({"sample": SAMPLE, "iterations": 3.0}), 400, "'iterations' must be an integer",
                 id="iterations-3.0"),
    pytest.param(js({"sample": SAMPLE, "iterations": None}), 400, "'iterations'", id="iterations-null"),
    pytest.param(js({"sample": SAMPLE, "iterations": [3]}), 400, "'iterations'", id="iterations-list"),
    pytest.param(js({"sample": SAMPLE, "uniform_routing": "yes"}), 400, "'uniform_routing' must be true or false",
                 id="uniform-routing-string"),
    pytest.param(js({"sample": SAMPLE, "uniform_routing": 1}), 400, "'uniform_routing' must be true or false",
                 id="uniform-routing-1"),
    # samples
    pytest.param(js({"sample": "test-99999"}), 404, "unknown sample id", id="unknown-sample"),
    pytest.param(js({"sample": "../../app/api.py"}), 404, "unknown sample id", id="sample-path"),
    pytest.param(js({"sample": 3}), 404, "unknown sample id", id="sample-not-a-string"),
    pytest.param(js({"sample": None}), 404, "unknown sample id", id="sample-null"),
    # multipart
    pytest.param(multipart(iterations="3"), 400, "field named 'image'", id="multipart-no-image-field"),
    pytest.param(multipart(picture=(io.BytesIO(DIGIT_PNG), "d.png")), 400, "field named 'image'",
                 id="multipart-wrong-field-name"),
    pytest.param(multipart(image=(io.BytesIO(b""), "d.png")), 400, "empty", id="multipart-empty-file"),
    pytest.param(multipart(image=(io.BytesIO(b"%PDF-1.4 not an image"), "d.pdf")), 400, "not a readable image",
                 id="multipart-not-an-image"),
    pytest.param(multipart(image=(io.BytesIO(WHITE_PNG), "d.png")), 422, "no digit found", id="multipart-blank"),
    pytest.param(multipart(image=(io.BytesIO(png_declaring(30000, 30000)), "bomb.png")), 400, "",
                 id="multipart-bomb"),
    pytest.param(multipart(image=(io.BytesIO(DIGIT_PNG), "d.png"), iterations="x"), 400, "'iterations'",
                 id="multipart-iterations-not-a-number"),
    pytest.param(multipart(image=(io.BytesIO(DIGIT_PNG), "d.png"), iterations="2.5"), 400, "'iterations'",
                 id="multipart-iterations-2.5"),
    pytest.param(multipart(image=(io.BytesIO(DIGIT_PNG), "d.png"), iterations="0"), 400, "1..10",
                 id="multipart-iterations-0"),
    pytest.param(multipart(image=(io.BytesIO(DIGIT_PNG), "d.png"), iterations="11"), 400, "1..10",
                 id="multipart-iterations-11"),
    # size
    pytest.param({"data": b" " * (LIMIT + 1), "content_type": "application/json"}, 413, "16 mb",
                 id="json-over-16MB"),
    pytest.param(js({"image": "A" * (LIMIT + 4)}), 413, "16 mb", id="data-url-over-16MB"),
    pytest.param(raw_multipart(b"\0" * (LIMIT + 1)), 413, "16 mb", id="multipart-over-16MB"),
]

DECODER_CASES = [
    pytest.param(js({"digit": -1, "vector": [0.1] * 16}), "'digit' must be in 0..9", id="digit--1"),
    pytest.param(js({"digit": 10, "vector": [0.1] * 16}), "'digit' must be in 0..9", id="digit-10"),
    pytest.param(js({"digit": "3", "vector": [0.1] * 16}), "'digit' must be an integer", id="digit-string"),
    pytest.param(js({"digit": 3.0, "vector": [0.1] * 16}), "'digit' must be an integer", id="digit-3.0"),
    pytest.param(js({"digit": True, "vector": [0.1] * 16}), "'digit' must be an integer", id="digit-true"),
    pytest.param(js({"digit": None, "vector": [0.1] * 16}), "'digit' is required", id="digit-null"),
    pytest.param(js({"vector": [0.1] * 16}), "'digit' is required", id="digit-missing"),
    pytest.param(js({"digit": 3}), "'vector' must be a list of 16 numbers", id="vector-missing"),
    pytest.param(js({"digit": 3, "vector": [0.1] * 15}), "'vector' must be a list of 16 numbers", id="vector-15"),
    pytest.param(js({"digit": 3, "vector": [0.1] * 17}), "'vector' must be a list of 16 numbers", id="vector-17"),
    pytest.param(js({"digit": 3, "vector": []}), "'vector' must be a list of 16 numbers", id="vector-empty"),
    pytest.param(js({"digit": 3, "vector": "0.1"}), "'vector' must be a list of 16 numbers", id="vector-string"),
    pytest.param(js({"digit": 3, "vector": {"0": 0.1}}), "'vector' must be a list of 16 numbers", id="vector-object"),
    pytest.param(js({"digit": 3, "vector": [[0.1]] * 16}), "'vector' must contain only numbers", id="vector-nested"),
    pytest.param(js({"digit": 3, "vector": ["0.1"] * 16}), "'vector' must contain only numbers", id="vector-strings"),
    pytest.param(js({"digit": 3, "vector": [0.1] * 15 + [None]}), "'vector' must contain only numbers",
                 id="vector-null-value"),
    pytest.param(js({"digit": 3, "vector": [0.1] * 15 + [True]}), "'vector' must contain only numbers",
                 id="vector-boolean"),
    pytest.param(raw_json({"digit": 3, "vector": [0.1] * 15 + [math.nan]}), "nan", id="vector-nan"),
    pytest.param(raw_json({"digit": 3, "vector": [math.inf] + [0.1] * 15}), "infinity", id="vector-infinity"),
    pytest.param(raw_json({"digit": 3, "vector": [-math.inf] + [0.1] * 15}), "infinity", id="vector-minus-infinity"),
    pytest.param(js({"digit": 3, "vector": [3.0] + [0.1] * 15}), "within [-2.0, 2.0]", id="vector-+3"),
    pytest.param(js({"digit": 3, "vector": [0.1] * 15 + [-3]}), "within [-2.0, 2.0]", id="vector--3"),
    pytest.param(js({"digit": 3, "vector": [1e308] * 16}), "within [-2.0, 2.0]", id="vector-1e308"),
    pytest.param(js({"digit": 3, "vector": [0.1] * 16, "scale": 2}), "unknown field(s): scale", id="unknown-field"),
    pytest.param(js([3, [0.1] * 16]), "must be an object", id="json-array"),
    pytest.param({"data": '{"digit": 3,', "content_type": "application/json"}, "not valid json", id="invalid-json"),
    pytest.param({"data": '{"digit": 3}', "content_type": "text/plain"}, "application/json", id="text-plain"),
    pytest.param({}, "application/json", id="missing-body"),
]

ROUTE_CASES = [
    pytest.param("GET", "/api/nothing", 404, "no api endpoint /api/nothing", id="get-unknown"),
    pytest.param("POST", "/api/nothing", 404, "no api endpoint", id="post-unknown"),
    pytest.param("GET", "/api/", 404, "no api endpoint", id="api-root"),
    pytest.param("GET", "/api", 404, "no api endpoint /api", id="api-no-slash"),
    pytest.param("GET", "/api/analyze", 405, "get is not allowed on /api/analyze", id="get-analyze"),
    pytest.param("GET", "/api/reconstruct", 405, "not allowed", id="get-reconstruct"),
    pytest.param("GET", "/api/perturbations", 405, "not allowed", id="get-perturbations"),
    pytest.param("PUT", "/api/analyze", 405, "put is not allowed", id="put-analyze"),
    pytest.param("DELETE", "/api/samples", 405, "not allowed", id="delete-samples"),
    pytest.param("POST", "/api/model", 405, "not allowed", id="post-model"),
    pytest.param("POST", "/api/kernels", 405, "not allowed", id="post-kernels"),
]


@pytest.fixture(scope="module")
def reference(app) -> dict:
    """A good analysis, to check after every bad request that the app still gives the same answer."""
    r = app.test_client().post("/api/analyze", json={"sample": SAMPLE})
    assert r.status_code == 200
    return r.get_json()


def assert_error(r, status: int, words: str) -> str:
    text = r.get_data(as_text=True)
    assert r.status_code == status, text
    assert r.mimetype == "application/json", text
    body = r.get_json()
    assert set(body) == {"error"} and isinstance(body["error"], str) and body["error"], body
    message = body["error"]
    assert words.lower() in message.lower(), message
    assert "Traceback" not in text and "internal error" not in message
    assert len(message) < 300, message  # one readable sentence, not a dump of the input
    return message


def assert_still_serving(client, reference: dict) -> None:
    r = client.post("/api/analyze", json={"sample": SAMPLE})
    assert r.status_code == 200
    body = r.get_json()
    assert body["lengths"] == reference["lengths"]
    assert body["layers"]["digit_caps"] == reference["layers"]["digit_caps"]


@pytest.mark.parametrize("kwargs, status, words", ANALYZE_CASES)
def test_analyze_bad_input(client, reference, kwargs, status, words):
    assert_error(client.post("/api/analyze", **kwargs), status, words)
    assert_still_serving(client, reference)


@pytest.mark.parametrize("endpoint", ["/api/reconstruct", "/api/perturbations"])
@pytest.mark.parametrize("kwargs, words", DECODER_CASES)
def test_decoder_bad_input(client, reference, endpoint, kwargs, words):
    status = 415 if words == "application/json" else 400
    assert_error(client.post(endpoint, **kwargs), status, words)
    good = client.post(endpoint, json={"digit": 3, "vector": [0.1] * 16})
    assert good.status_code == 200 and good.get_json()["digit"] == 3


@pytest.mark.parametrize("method, path, status, words", ROUTE_CASES)
def test_unknown_routes_and_methods(client, reference, method, path, status, words):
    assert_error(client.open(path, method=method), status, words)
    assert_still_serving(client, reference)


@pytest.mark.parametrize("width, height", [(30000, 30000), (1_000_000, 100)])
def test_decompression_bomb_message_names_the_size(client, width, height):
    message = assert_error(client.post("/api/analyze", json={"image": b64(png_declaring(width, height))}), 400, "")
    assert any(w in message.lower() for w in ("pixels", "too large", "decompressionbomb")), message


@pytest.mark.parametrize("path", ["/app/api.py", "/run_visualization.py", "/weights/mnist/gallery.json",
                                  "/static/../app/api.py", "/templates/index.html", "/.git/config"])
def test_no_repository_file_is_served(client, path):
    r = client.get(path)
    assert r.status_code == 404
    assert b"def " not in r.data and b"import" not in r.data


def test_errors_are_never_cached(client):
    r = client.post("/api/analyze", json={})
    assert r.status_code == 400 and r.headers["Cache-Control"] == "no-store"
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_error_messages_do_not_echo_huge_input(client):
    message = assert_error(client.post("/api/analyze", json={"sample": "x" * 100_000}), 404, "unknown sample id")
    assert len(message) < 200
