"""app/encoding.py: every dtype round-trips through decode(), quantisation stays within scale / 2,
non-finite values are refused, and the bytes on the wire are little-endian C order."""
from __future__ import annotations

import base64

import numpy as np
import pytest
import torch

from app.encoding import decode, encode_float, encode_signed, encode_unsigned


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_float32_round_trip_is_exact(rng):
    x = rng.normal(size=(3, 4, 5)).astype(np.float32)
    obj = encode_float(x)
    assert obj["dtype"] == "float32" and obj["shape"] == [3, 4, 5] and obj["scale"] == 1.0
    np.testing.assert_array_equal(decode(obj), x)


def test_float16_round_trip_within_half_precision(rng):
    x = rng.uniform(-2, 2, size=(28, 28)).astype(np.float32)
    obj = encode_float(x, "float16")
    assert obj["dtype"] == "float16" and obj["shape"] == [28, 28]
    np.testing.assert_allclose(decode(obj), x, rtol=2**-11, atol=2**-24)


def test_torch_tensors_are_encoded_like_arrays(rng):
    x = rng.normal(size=(10, 16)).astype(np.float32)
    assert encode_float(torch.from_numpy(x)) == encode_float(x)
    assert encode_signed(torch.from_numpy(x)) == encode_signed(x)


@pytest.mark.parametrize("shape", [(256, 20, 20), (10, 32, 6, 6), (7,)])
def test_unsigned_quantisation_error_at_most_half_a_step(rng, shape):
    x = rng.uniform(0, 3.7, size=shape).astype(np.float32)
    x.flat[0] = 0.0
    obj = encode_unsigned(x)
    assert obj["dtype"] == "uint8" and obj["shape"] == list(shape)
    scale = obj["scale"]
    assert scale == pytest.approx(float(x.max()) / 255)
    y = decode(obj)
    assert y.flat[0] == 0.0  # zero stays exactly zero
    assert np.abs(y - x).max() <= scale / 2 + 1e-6 * x.max()
    assert y.max() == pytest.approx(x.max(), rel=1e-6)  # the maximum is exactly representable


@pytest.mark.parametrize("shape", [(32, 6, 6, 8), (10, 32, 6, 6), (5,)])
def test_signed_quantisation_error_at_most_half_a_step(rng, shape):
    x = rng.normal(size=shape).astype(np.float32)
    obj = encode_signed(x)
    assert obj["dtype"] == "int8" and obj["shape"] == list(shape)
    scale = obj["scale"]
    assert scale == pytest.approx(float(np.abs(x).max()) / 127)
    y = decode(obj)
    assert np.abs(y - x).max() <= scale / 2 + 1e-6 * np.abs(x).max()
    assert np.sign(y[np.abs(x) > scale]).tolist() == np.sign(x[np.abs(x) > scale]).tolist()


@pytest.mark.parametrize("encode", [encode_unsigned, encode_signed, encode_float])
def test_all_zeros_decode_to_zeros(encode):
    obj = encode(np.zeros((4, 4), dtype=np.float32))
    assert obj["scale"] > 0
    np.testing.assert_array_equal(decode(obj), np.zeros((4, 4)))


@pytest.mark.parametrize("encode", [encode_unsigned, encode_signed, encode_float,
                                    lambda x: encode_float(x, "float16")])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_refused(encode, bad):
    x = np.ones((3, 3), dtype=np.float32)
    x[1, 2] = bad
    with pytest.raises(ValueError):
        encode(x)
    with pytest.raises(ValueError):
        encode(torch.from_numpy(x))


def test_unsigned_refuses_negative_values():
    with pytest.raises(ValueError):
        encode_unsigned(np.array([0.5, -0.1], dtype=np.float32))


def test_bytes_are_little_endian_c_order():
    x = np.arange(6, dtype=np.float32).reshape(2, 3) + 0.5
    raw = base64.b64decode(encode_float(x)["data"])
    assert raw == x.astype("<f4").tobytes(order="C")
    assert raw[:4] == bytes.fromhex("0000003f")  # 0.5 as little-endian float32

    raw16 = base64.b64decode(encode_float(x, "float16")["data"])
    assert raw16 == x.astype("<f2").tobytes(order="C")
    assert raw16[:2] == bytes.fromhex("0038")  # 0.5 as little-endian float16

    # Fortran-ordered or big-endian input still goes out as little-endian C order.
    xf = np.asfortranarray(x.astype(">f4"))
    assert base64.b64decode(encode_float(xf)["data"]) == raw


def test_quantised_bytes_are_the_raw_levels():
    x = np.array([[0.0, 1.0], [3.0, 4.0]], dtype=np.float32)
    obj = encode_unsigned(x)
    assert list(base64.b64decode(obj["data"])) == [0, 64, 191, 255]  # round(x / (4 / 255))
    obj = encode_signed(-x)
    raw = np.frombuffer(base64.b64decode(obj["data"]), dtype="i1")
    assert raw.tolist() == [0, -32, -95, -127]  # round(x / (4 / 127))


def test_encoding_is_json_ready():
    import json

    obj = encode_signed(np.array([1.0, -2.0], dtype=np.float32))
    assert json.loads(json.dumps(obj)) == obj
    assert set(obj) == {"shape", "dtype", "data", "scale"}
