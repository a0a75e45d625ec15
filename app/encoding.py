"""The one JSON encoding of tensors, used by every endpoint and decoded by static/js/tensor.js.

A tensor travels as

    {"shape": [d0, d1, ...], "dtype": "float32" | "float16" | "uint8" | "int8",
     "data": "<base64 of the little-endian C-order bytes>", "scale": s}

and its values are `raw * scale` (scale is 1.0 for float dtypes). The integer dtypes are quantised
(8 bits, for pictures that only need to be seen: feature maps, coupling coefficients, agreement):

- "uint8" for values in [0, max]: scale = max / 255, raw = round(x / scale); 0 stays exactly 0.
- "int8" for values in [-m, m]: scale = m / 127, raw = round(x / scale).
So one quantisation step is `scale`, and the error of any value is at most scale / 2.

Every encoder refuses non-finite values: a NaN in a trace is a bug, never something to draw.
"""
from __future__ import annotations

import base64

import numpy as np
import torch

FLOAT_DTYPES = {"float32": np.float32, "float16": np.float16}


def _as_numpy(x: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().float().cpu().numpy()
    x = np.asarray(x, dtype=np.float32)
    if not np.all(np.isfinite(x)):
        raise ValueError("tensor has non-finite values")
    return x


def _pack(raw: np.ndarray, dtype: str, scale: float) -> dict:
    raw = np.ascontiguousarray(raw.astype(raw.dtype.newbyteorder("<")))
    return {
        "shape": list(raw.shape),
        "dtype": dtype,
        "data": base64.b64encode(raw.tobytes()).decode("ascii"),
        "scale": float(scale),
    }


def encode_float(x, dtype: str = "float32") -> dict:
    """Exact (float32) or half precision (float16, 3 significant digits) values."""
    return _pack(_as_numpy(x).astype(FLOAT_DTYPES[dtype]), dtype, 1.0)


def encode_unsigned(x) -> dict:
    """Non-negative values quantised to 256 levels between 0 and the tensor's max."""
    a = _as_numpy(x)
    if a.size and a.min() < 0:
        raise ValueError("encode_unsigned needs non-negative values")
    top = float(a.max()) if a.size else 0.0
    step = top / 255 if top > 0 else 1.0
    return _pack(np.rint(a / step).astype(np.uint8), "uint8", step)


def encode_signed(x) -> dict:
    """Signed values quantised to 255 levels symmetric around 0."""
    a = _as_numpy(x)
    top = float(np.abs(a).max()) if a.size else 0.0
    step = top / 127 if top > 0 else 1.0
    return _pack(np.rint(a / step).astype(np.int8), "int8", step)


def decode(obj: dict) -> np.ndarray:
    """The inverse (up to quantisation), for tests and Python clients."""
    dtype = {"float32": "<f4", "float16": "<f2", "uint8": "u1", "int8": "i1"}[obj["dtype"]]
    raw = np.frombuffer(base64.b64decode(obj["data"]), dtype=dtype).reshape(obj["shape"])
    return raw.astype(np.float32) * np.float32(obj["scale"])
