"""GET /api/decoder (app/decoder_api.py): the decoder's layers as the page needs them to decode by itself.

Checked two ways: the weights are the model's own, bit for bit, and a plain numpy decoder built from the
answer alone (the README's description: capsule vector in its digit's slot, every other capsule zero, the
layers in order) gives the model's decode_vector. Plus the caching contract (strong ETag, 304, no-cache)
and refusals."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from app.decoder_api import decoder_json
from app.encoding import decode

ACT = {"relu": lambda x: np.maximum(x, 0), "sigmoid": lambda x: 1 / (1 + np.exp(-x))}


def model_of(app):
    return app.extensions["capsnet"].model


def test_layers_are_the_models_weights(client, app):
    r = client.get("/api/decoder")
    assert r.status_code == 200 and r.mimetype == "application/json"
    body = r.get_json()
    model = model_of(app)
    cfg = model.config
    assert (body["digit_count"], body["digit_dim"], body["image_size"]) == (cfg.digit_count, cfg.digit_dim, cfg.image_size)
    assert [l["activation"] for l in body["layers"]] == ["relu", "relu", "sigmoid"]
    sizes = [cfg.digit_count * cfg.digit_dim, *cfg.decoder_hidden, cfg.image_size**2]
    linears = [m for m in model.decoder if isinstance(m, torch.nn.Linear)]
    for layer, linear, ins, outs in zip(body["layers"], linears, sizes[:-1], sizes[1:], strict=True):
        assert layer["weight"]["dtype"] == layer["bias"]["dtype"] == "float32"
        assert layer["weight"]["shape"] == [outs, ins] and layer["bias"]["shape"] == [outs]
        np.testing.assert_array_equal(decode(layer["weight"]), linear.weight.numpy())
        np.testing.assert_array_equal(decode(layer["bias"]), linear.bias.numpy())


def test_the_answer_alone_decodes_as_the_model(client, app):
    body = client.get("/api/decoder").get_json()
    layers = [(decode(l["weight"]).astype(np.float64), decode(l["bias"]).astype(np.float64), ACT[l["activation"]])
              for l in body["layers"]]
    model = model_of(app)
    rng = np.random.default_rng(1)
    digits = rng.integers(0, body["digit_count"], 20)
    vectors = rng.uniform(-0.5, 0.5, (20, body["digit_dim"])).astype(np.float32)
    x = np.zeros((20, body["digit_count"] * body["digit_dim"]))
    for b, (d, v) in enumerate(zip(digits, vectors)):
        x[b, d * body["digit_dim"]:(d + 1) * body["digit_dim"]] = v
    for w, bias, f in layers:
        x = f(x @ w.T + bias)
    with torch.no_grad():
        want = model.decode_vector(torch.as_tensor(digits), torch.as_tensor(vectors)).numpy()
    np.testing.assert_allclose(x.reshape(want.shape), want, atol=1e-5)


def test_etag_304_and_no_cache(client):
    r = client.get("/api/decoder")
    etag = r.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")  # strong: the tag of these exact bytes
    assert r.headers["Cache-Control"] == "no-cache"  # revalidated on every use, answered 304 (no body)
    for tag in (etag, f"W/{etag}", f'"other", {etag}'):
        again = client.get("/api/decoder", headers={"If-None-Match": tag})
        assert again.status_code == 304 and again.data == b"", tag
        assert again.headers["ETag"] == etag
    assert client.get("/api/decoder", headers={"If-None-Match": '"other"'}).status_code == 200


def test_compressed_copy_revalidates_too(client):
    plain = client.get("/api/decoder")
    r = client.get("/api/decoder", headers={"Accept-Encoding": "br"})
    assert r.headers["Content-Encoding"] == "br" and len(r.data) < len(plain.data)
    assert r.headers["ETag"] == f"W/{plain.headers['ETag']}"  # the same content, other bytes
    again = client.get("/api/decoder", headers={"Accept-Encoding": "br", "If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_built_once_per_model(app):
    model = model_of(app)
    first, etag = decoder_json(model)
    assert decoder_json(model)[0] is first and len(etag) == 32


@pytest.mark.parametrize("query", ["?x=1", "?digit=3", "?a=1&b=2", "?=", "?%00=1"])
def test_query_parameters_are_refused(client, query):
    r = client.get("/api/decoder" + query)
    assert r.status_code == 400
    assert "takes no query parameters" in r.get_json()["error"]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_other_methods_are_refused(client, method):
    r = client.open("/api/decoder", method=method, json={})
    assert r.status_code == 405 and "not allowed" in r.get_json()["error"]


def test_a_decoder_the_page_cannot_run_is_refused_by_name():
    """decoder_layers reads Linear + ReLU/sigmoid pairs only: anything else is an error, never a wrong export."""
    from model.capsnet import CapsNet
    from model.decoder_layers import decoder_layers

    model = CapsNet()
    assert [l.activation for l in decoder_layers(model)] == ["relu", "relu", "sigmoid"]
    model.decoder[3] = torch.nn.Tanh()
    with pytest.raises(TypeError, match="not Linear"):
        decoder_layers(model)
    model.decoder = torch.nn.Sequential(*list(CapsNet().decoder)[:-1])
    with pytest.raises(TypeError, match="without an activation"):
        decoder_layers(model)
