"""A model's sample gallery (gallery.json beside its weights, from model.gallery), loaded once at start-up.

Entries are single MNIST test digits ({"id", "index", "label", "predicted", "pixels"}) or, for a MultiMNIST
model, fixed test pairs ({"id", "index", "labels", "predicted": [a, b], "pixels"}). Pixels are uint8 rows
in base64, of any square size: a single digit of another size is fitted onto the model's canvas
(model/canvas.py), a pair of another size is left out (it would not be the pair any more)."""
from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import numpy as np

from model.canvas import fit
from model.multimnist import DIGIT_SIZE


class Gallery:
    def __init__(self, path: Path | str, size: int = DIGIT_SIZE):
        try:
            entries = json.loads(Path(path).read_text())["samples"]
            decoded = [(e, np.frombuffer(base64.b64decode(e["pixels"]), dtype=np.uint8)) for e in entries]
            side = {id(e): math.isqrt(len(p)) for e, p in decoded}
            if any(side[id(e)] ** 2 != len(p) for e, p in decoded):
                raise ValueError("an entry's pixels are not a square image")
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(f"sample gallery {path} is missing or unreadable ({e})") from None
        kept = [(e, p.reshape(side[id(e)], -1)) for e, p in decoded if "labels" not in e or side[id(e)] == size]
        self._pixels = {e["id"]: fit(p, size) for e, p in kept}
        self.entries = [{k: v for k, v in e.items() if k != "pixels"} for e, _ in kept]
        self.size = size

    def __contains__(self, sample_id: str) -> bool:
        return sample_id in self._pixels

    def image(self, sample_id: str) -> np.ndarray:
        """(size, size) float32 in [0, 1], exactly the test digit (or pair) on the model's canvas."""
        return self._pixels[sample_id].astype(np.float32) / 255.0
